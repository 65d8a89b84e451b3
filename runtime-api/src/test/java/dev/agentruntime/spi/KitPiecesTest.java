package dev.agentruntime.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.BackendConflictException;
import dev.agentruntime.BackendException;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.Secret;
import dev.agentruntime.UnknownRuntimeTypeException;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The small pieces of the backend kit: launch, startup log, labels, owners, errors, retries. */
class KitPiecesTest {

    // ------------------------------------------------------------------------------------- ServerLaunch

    @Test
    void theLaunchNamesJavaFlagsJarPortDirectoryUserAndTheSession() {
        RuntimeConfig config = RuntimeConfig.builder().sessionId("s-1").sessionApiKey("k-1").env("SHELL_VAR", "v")
                .noChangeTimeout(Duration.ofMillis(2500)).build();
        ServerLaunch launch = ServerLaunch.forSession(config).java("/opt/jre/bin/java").jar("/opt/server.jar")
                .port(60000).user(Optional.of(new ServerLaunch.User("openhands", 1000)))
                .idleTimeout(Duration.ofMinutes(5)).appPorts(60001, 60002, 60003).build();
        assertThat(launch.command()).startsWith("/opt/jre/bin/java").containsAll(ServerLaunch.JVM_FLAGS)
                .containsSubsequence("-Dagent.runtime.session=s-1", "-jar", "/opt/server.jar", "60000",
                        "--working-dir", "/workspace", "--username", "openhands", "--user-id", "1000");
        assertThat(launch.environment()).containsEntry("SESSION_API_KEY", "k-1").containsEntry("SHELL_VAR", "v")
                .containsEntry("NO_CHANGE_TIMEOUT_SECONDS", "2.5").containsEntry("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS", "300")
                .containsEntry("AGENT_RUNTIME_SESSION_ID", "s-1").containsEntry("AGENT_RUNTIME_SERVER_PORT", "60000")
                .containsEntry("VSCODE_PORT", "60001").containsEntry("APP_PORT_1", "60002")
                .containsEntry("APP_PORT_2", "60003").doesNotContainKey("AGENT_RUNTIME_EXIT_ON_STDIN_EOF");
        assertThat(launch.toString()).doesNotContain("k-1");
    }

    @Test
    void theShellCommandQuotesEverythingForBash() {
        ServerLaunch launch = ServerLaunch.builder().java("/j").jar("/s.jar").port(1).sessionId("s")
                .sessionApiKey(Secret.of("k")).shellEnvironment(Map.of("QUOTE", "it's $HOME")).exitOnStdinEof(true)
                .build();
        assertThat(launch.shellCommand()).startsWith("exec env ").contains("'QUOTE=it'\\''s $HOME'")
                .contains("'AGENT_RUNTIME_EXIT_ON_STDIN_EOF=1'").contains("'/j'").endsWith("'--working-dir' '/workspace'");
        assertThat(ServerLaunch.shellQuote("a'b")).isEqualTo("'a'\\''b'");
    }

    @Test
    void aLaunchIsFixedWhenBuiltAndRefusesWhatCannotWork() {
        ServerLaunch.Builder builder = ServerLaunch.builder().java("/j").jar("/s.jar").port(1).sessionId("s")
                .sessionApiKey(Secret.of("k"));
        ServerLaunch built = builder.build();
        builder.port(2);
        assertThat(built.port()).isEqualTo(1);
        assertThatThrownBy(() -> builder.port(70000).build()).isInstanceOf(InvalidConfigException.class);
        assertThatThrownBy(() -> builder.port(1).workingDir("relative").build()).isInstanceOf(InvalidConfigException.class);
        assertThatThrownBy(() -> new ServerLaunch.User("Root Kit", 0)).isInstanceOf(InvalidConfigException.class);
        assertThat(ServerLaunch.readyPort(ServerLaunch.READY_LINE_PREFIX + "43210")).hasValue(43210);
        assertThat(ServerLaunch.readyPort("something else")).isEmpty();
    }

    // --------------------------------------------------------------------------------------- StartupLog

    @Test
    void theStartupLogJoinsFramesKeepsTheLastLinesAndSpotsTheReadyLine() {
        List<String> forwarded = new CopyOnWriteArrayList<>();
        StartupLog log = new StartupLog(forwarded::add);
        log.accept(bytes("hel"), 0, 3, false);
        log.accept(bytes("warning: x\r\n"), 0, 12, true);
        byte[] rest = bytes("lo\n" + ServerLaunch.READY_LINE_PREFIX + "60000\npartial");
        log.accept(rest, 0, rest.length, false);
        assertThat(log.ready()).isCompletedWithValue(60000);
        assertThat(forwarded).containsExactly("warning: x", "hello", ServerLaunch.READY_LINE_PREFIX + "60000");
        log.end();
        assertThat(log.ended()).isCompleted();
        assertThat(log.lastLines()).endsWith("partial");
        for (int i = 0; i < 100; i++) {
            log.line("line " + i);
        }
        assertThat(log.lastLines()).hasSize(StartupLog.KEPT_LINES).startsWith("line 40").endsWith("line 99");
        assertThat(log.describe()).startsWith("Last server log lines:\n  line 40");
    }

    @Test
    void aHugeLineIsCutAndAFatalStartIsReportedWithTheLines() {
        StartupLog log = new StartupLog(null);
        byte[] huge = bytes("x".repeat(100_000) + "\n");
        log.accept(huge, 0, huge.length, false);
        assertThat(log.lastLines().get(0)).hasSize(StartupLog.MAX_LINE + " [...]".length()).endsWith("[...]");
        log.line("Exception in thread \"main\" java.lang.IllegalStateException: no shell");
        log.line("\tat dev.agentruntime.server.Main.main(Main.java:1)");
        log.end();
        assertThatThrownBy(() -> log.awaitReady(Instant.now().plusSeconds(5), "Sandbox s", () -> "It exited with 1."))
                .isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining("Sandbox s: the action server failed before it was ready. It exited with 1.")
                .hasMessageContaining("Last server log lines:").hasMessageContaining("Main.java:1");
    }

    @Test
    void waitingForTheReadyLineHasOneDeadlineAndNoticesTheEnd() {
        StartupLog quiet = new StartupLog(null);
        assertThatThrownBy(() -> quiet.awaitReady(Instant.now().plusMillis(100), "Sandbox q", null))
                .isInstanceOf(RuntimeTimeoutException.class).hasMessageContaining("The server printed nothing.");
        StartupLog ended = new StartupLog(null);
        StartupLog.pump(new ByteArrayInputStream(bytes("Error: Unable to access jarfile /x.jar\n")), ended, "t");
        assertThatThrownBy(() -> ended.awaitReady(Instant.now().plusSeconds(10), "Sandbox e", null))
                .isInstanceOf(RuntimeStartupException.class).hasMessageContaining("stopped before it was ready")
                .hasMessageContaining("Unable to access jarfile");
        StartupLog ready = new StartupLog(null);
        StartupLog.pump(new ByteArrayInputStream(bytes(ServerLaunch.READY_LINE_PREFIX + "8\n")), ready, "t");
        assertThat(ready.awaitReady(Instant.now().plusSeconds(10), "Sandbox r", null)).isEqualTo(8);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------------------------ SessionLabels

    @Test
    void labelsRoundTripInBothFormsAndKubernetesLabelsAreValid() {
        RuntimeConfig config = RuntimeConfig.builder().sessionId("Sess.ion_1-x").keepAlive(true)
                .label("tenant", "team-a").label("runtime-id", "rt_42").build();
        SessionLabels labels = SessionLabels.forSession(config).withServerVersion("abc123");
        Map<String, String> docker = labels.asLabels();
        assertThat(docker).containsEntry("dev.agentruntime.managed-by", "agent-runtime")
                .containsEntry("dev.agentruntime.session-id", "Sess.ion_1-x")
                .containsEntry("dev.agentruntime.keep-alive", "true")
                .containsEntry("dev.agentruntime.owner-pid", Long.toString(ProcessHandle.current().pid()))
                .containsEntry("dev.agentruntime.label.tenant", "team-a")
                .containsKeys("dev.agentruntime.created-at", "dev.agentruntime.owner-host", "dev.agentruntime.version",
                        "dev.agentruntime.server-version");
        assertThat(labels.userLabels()).containsOnly(Map.entry("tenant", "team-a"), Map.entry("runtime-id", "rt_42"));
        assertThat(SessionLabels.parse(docker)).contains(labels);

        SessionLabels.KubernetesMetadata k8s = labels.asKubernetes();
        assertThat(k8s.labels()).containsOnlyKeys("agentruntime.dev/managed-by", "agentruntime.dev/session-id",
                "agentruntime.dev/role", "agentruntime.dev/keep-alive", "label.agentruntime.dev/tenant",
                "label.agentruntime.dev/runtime-id");
        for (Map.Entry<String, String> label : k8s.labels().entrySet()) {
            assertThat(label.getKey()).matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");
            assertThat(label.getValue()).hasSizeLessThanOrEqualTo(63)
                    .matches("([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?");
        }
        Map<String, String> merged = new java.util.HashMap<>(k8s.annotations());
        merged.putAll(k8s.labels());
        assertThat(SessionLabels.parse(merged)).contains(labels);
        assertThat(SessionLabels.parse(Map.of("some", "label"))).isEmpty();
        assertThat(SessionLabels.ownedBy("image")).containsEntry("dev.agentruntime.role", "image")
                .doesNotContainKey("dev.agentruntime.session-id");
    }

    @Test
    void aLiveOwnerIsNotGoneAndItsInfoSaysSo() {
        SessionLabels labels = SessionLabels.forSession("s-live", false);
        assertThat(labels.ownerGone()).isFalse();
        SandboxInfo info = labels.toInfo("docker", "c-1", "running", labels.asLabels());
        assertThat(info.ownerPid()).isEqualTo(ProcessHandle.current().pid());
        assertThat(info.ownerGone()).isFalse();
        assertThat(info.createdAt()).isPresent();
    }

    @Test
    void ownersOnThisHostAreGoneWhenTheirProcessIs() throws Exception {
        SandboxOwner here = SandboxOwner.current();
        assertThat(here.isGoneOn(here)).isFalse();
        Process finished = new ProcessBuilder("true").start();
        finished.waitFor();
        SandboxOwner dead = new SandboxOwner(here.host(), finished.pid(), 1, here.bootId());
        assertThat(dead.isGoneOn(here)).isTrue();
        SandboxOwner reused = new SandboxOwner(here.host(), here.pid(), here.startedMillis() - 60_000, here.bootId());
        assertThat(reused.isGoneOn(here)).as("same pid, other start time").isTrue();
        SandboxOwner rebooted = new SandboxOwner(here.host(), here.pid(), here.startedMillis(),
                Optional.of("another-boot"));
        assertThat(here.bootId().isPresent() ? rebooted.isGoneOn(here) : true).isTrue();
        SandboxOwner remote = new SandboxOwner("another-host", finished.pid(), 1, Optional.empty());
        assertThat(remote.isGoneOn(here)).as("never judge other hosts").isFalse();
    }

    @Test
    void callersLabelsMustBeValidLabels() {
        assertThatThrownBy(() -> RuntimeConfig.builder().label("bad key", "v").build())
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("label key 'bad key' is not valid");
        assertThatThrownBy(() -> RuntimeConfig.builder().label("k", "x".repeat(64)).build())
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("the value of label k");
        assertThat(RuntimeConfig.builder().label("k", "").build().labels()).containsEntry("k", "");
    }

    @Test
    void aSessionIdMustBeAValidLabelValue() {
        assertThatThrownBy(() -> RuntimeConfig.builder().sessionId("ends-with-dash-").build())
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("ending with a letter or digit");
        assertThatThrownBy(() -> RuntimeConfig.builder().sessionId("x".repeat(64)).build())
                .isInstanceOf(InvalidConfigException.class);
        assertThat(RuntimeConfig.builder().sessionId("a").build().sessionId()).isEqualTo("a");
    }

    // ------------------------------------------------------------------------------------------- errors

    @Test
    void controlPlaneAnswersMapOntoTypedErrors() {
        Map<String, String> none = Map.of();
        assertThat(map(401, none, "{\"message\": \"Invalid API key\", \"code\": 401}"))
                .isInstanceOf(BackendAuthenticationException.class)
                .hasMessage("E2B POST /v2/sandboxes for sandbox sb-1 was refused (HTTP 401: Invalid API key [401])."
                        + " Check E2B_API_KEY.");
        assertThat(map(404, none, "{\"detail\": \"sandbox sb-1 not found\"}")).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining("not found (HTTP 404: sandbox sb-1 not found)");
        assertThat(map(409, none, "paused")).isInstanceOf(BackendConflictException.class);
        BackendException limited = (BackendException) map(429, Map.of("Retry-After", "2"), "slow down");
        assertThat(limited.isTransient()).isTrue();
        assertThat(limited.retryAfter()).contains(Duration.ofSeconds(2));
        assertThat(limited).hasMessageContaining("rate limited");
        BackendException unavailable = (BackendException) map(503, Map.of("retry-after-ms", "250"), "");
        assertThat(unavailable.retryAfter()).contains(Duration.ofMillis(250));
        assertThat(((BackendException) map(502, none, "<html>bad gateway</html>")).isTransient()).isTrue();
        BackendException refused = (BackendException) map(400, none, "{\"error\": \"templateID is required\"}");
        assertThat(refused.isTransient()).isFalse();
        assertThat(refused).hasMessageContaining("refused the request (HTTP 400: templateID is required)");
        String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(30));
        assertThat(ControlPlaneErrors.retryAfter(Map.of("Retry-After", date)::get).orElseThrow())
                .isBetween(Duration.ofSeconds(25), Duration.ofSeconds(31));
        assertThat(ControlPlaneErrors.retryAfter(Map.of("Retry-After", "soon")::get)).isEmpty();
        assertThat(ControlPlaneErrors.detail("x".repeat(600))).hasSize(503);
        assertThat(ControlPlaneErrors.detail("{\"code\":503,\"message\":\"no capacity\",\"error_code\":"
                + "\"sandbox_capacity_unavailable\"}")).isEqualTo("no capacity [503, sandbox_capacity_unavailable]");
        assertThat(ControlPlaneErrors.detail("{\"code\":404,\"message\":\"gone\"}")).isEqualTo("gone [404]");
    }

    private static RuntimeException map(int status, Map<String, String> headers, String body) {
        return ControlPlaneErrors.fromHttp("E2B", "POST /v2/sandboxes", "sb-1", status, headers::get, body,
                "Check E2B_API_KEY.");
    }

    @Test
    void retriesTransientFailuresWithTheWaitTheBackendAskedForAndNothingElse() {
        AtomicInteger calls = new AtomicInteger();
        String result = Retry.of("create", Instant.now().plusSeconds(10)).attempts(3).call(() -> {
            if (calls.incrementAndGet() < 3) {
                throw BackendException.transientFailure("busy", Duration.ofMillis(10), null);
            }
            return "made";
        });
        assertThat(result).isEqualTo("made");
        assertThat(calls).hasValue(3);

        AtomicInteger refused = new AtomicInteger();
        assertThatThrownBy(() -> Retry.of("create", Instant.now().plusSeconds(10)).call(() -> {
            refused.incrementAndGet();
            throw new BackendAuthenticationException("no");
        })).isInstanceOf(BackendAuthenticationException.class);
        assertThat(refused).as("never retried").hasValue(1);

        AtomicInteger late = new AtomicInteger();
        assertThatThrownBy(() -> Retry.of("create", Instant.now().plusMillis(50)).attempts(5).call(() -> {
            late.incrementAndGet();
            throw BackendException.transientFailure("busy", Duration.ofSeconds(5), null);
        })).isInstanceOf(BackendException.class);
        assertThat(late).as("a wait past the deadline is not taken").hasValue(1);

        AtomicInteger selective = new AtomicInteger();
        assertThatThrownBy(() -> Retry.of("start", Instant.now().plusSeconds(10)).attempts(5)
                .onlyWhen(e -> e.getMessage().contains("rate limited")).call(() -> {
                    if (selective.incrementAndGet() == 1) {
                        throw BackendException.transientFailure("rate limited", Duration.ofMillis(1), null);
                    }
                    throw BackendException.transientFailure("server error", Duration.ofMillis(1), null);
                })).isInstanceOf(BackendException.class).hasMessage("server error");
        assertThat(selective).as("the rate limit was retried, the server error was not").hasValue(2);
    }

    @Test
    void aMistypedRuntimeTypeGetsADidYouMean() {
        assertThat(new UnknownRuntimeTypeException("Docker", List.of("local", "docker")))
                .hasMessageContaining("Did you mean 'docker'?");
        assertThat(new UnknownRuntimeTypeException("dokcer", List.of("local", "docker")))
                .hasMessageContaining("Did you mean 'docker'?");
        assertThat(new UnknownRuntimeTypeException("kubernetes", List.of("local", "docker")))
                .hasMessageNotContaining("Did you mean");
    }
}
