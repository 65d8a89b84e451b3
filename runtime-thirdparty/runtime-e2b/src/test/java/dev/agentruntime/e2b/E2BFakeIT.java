package dev.agentruntime.e2b;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.Secret;
import dev.agentruntime.e2b.fake.FakeE2B;
import dev.agentruntime.e2b.internal.E2BApi;
import dev.agentruntime.e2b.internal.Envd;
import dev.agentruntime.testkit.RequiresDocker;
import dev.agentruntime.thirdparty.SandboxCommands;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The local E2B validates what E2B validates, answers E2B's error shapes and injects the faults the backend must
 * survive (429 on create, 502 from envd, a sandbox whose timeout passes), driven through the backend's own clients.
 */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class E2BFakeIT {

    private FakeE2B e2b;
    private E2BApi api;
    private E2BApi.Sandbox sandbox;
    private Envd envd;

    @BeforeAll
    void start() {
        e2b = FakeE2B.builder().start();
        api = new E2BApi(config().build());
        sandbox = api.create(request(Map.of("suite", "fake-it"), Optional.empty()));
        envd = envd(sandbox, sandbox.envdToken());
    }

    @AfterAll
    void stop() {
        if (e2b != null) {
            e2b.close();
        }
    }

    private E2BConfig.Builder config() {
        return E2BConfig.builder().apiKey(Secret.of(e2b.apiKey())).apiUrl(e2b.uri()).sandboxUrl(e2b.uri())
                .requestTimeout(Duration.ofSeconds(20));
    }

    private static E2BApi.CreateRequest request(Map<String, String> metadata, Optional<Boolean> publicTraffic) {
        return new E2BApi.CreateRequest("base", Duration.ofMinutes(3), false, metadata, Map.of("FROM_CREATE", "yes"),
                Optional.empty(), publicTraffic, List.of(), List.of());
    }

    private Envd envd(E2BApi.Sandbox s, Optional<Secret> token) {
        return new Envd(s.sandboxId(), e2b.uri(), token, Optional.empty(), Duration.ofSeconds(20), null, n -> { });
    }

    @Test
    void processesRunAsTheDefaultUserWithTheCreatedEnvironment() {
        SandboxCommands.Result result = envd.run("echo err >&2; echo $FROM_CREATE $(whoami) $PWD; exit 4",
                Duration.ofSeconds(30));
        assertThat(result.exitCode()).isEqualTo(4);
        assertThat(result.stdout()).isEqualTo("yes user /home/user\n");
        assertThat(result.stderr()).as("stderr, even when it overtakes the start").isEqualTo("err\n");
    }

    @Test
    void connectTimeoutMsKillsTheProcessAndEndsWithDeadlineExceeded() {
        Instant started = Instant.now();
        assertThatThrownBy(() -> envd.run("sleep 60", Duration.ofSeconds(1)))
                .isInstanceOf(RuntimeTimeoutException.class).hasMessageContaining("deadline_exceeded");
        assertThat(Duration.between(started, Instant.now())).isLessThan(Duration.ofSeconds(20));
        assertThat(envd.list()).noneMatch(p -> p.args().contains("sleep 60"));
    }

    @Test
    void aBackgroundProcessIsListedAndStoppedBySignal() throws Exception {
        CompletableFuture<Integer> pid = new CompletableFuture<>();
        CompletableFuture<Envd.Event.Ended> end = CompletableFuture.supplyAsync(() -> envd.start(
                new Envd.ProcessSpec("/bin/bash", List.of("-c", "sleep 300"), Map.of(), Optional.empty(),
                        Optional.of("bg-1")), Duration.ofMinutes(2), event -> {
                    if (event instanceof Envd.Event.Started s) {
                        pid.complete(s.pid());
                    }
                }), command -> {
                    Thread thread = new Thread(command, "e2b-fake-it-background");
                    thread.setDaemon(true);
                    thread.start(); // not the common pool: on a small machine its one worker may be busy
                });
        end.whenComplete((ok, failure) -> {
            if (failure != null) {
                pid.completeExceptionally(failure);
            }
        });
        int started = pid.get(30, TimeUnit.SECONDS);
        assertThat(envd.list()).anyMatch(p -> p.pid() == started && p.tag().equals(Optional.of("bg-1")));
        envd.sendSignal(started, true);
        Envd.Event.Ended ended = end.get(30, TimeUnit.SECONDS);
        assertThat(ended.exited()).isFalse();
        assertThat(ended.status()).isEqualTo("signal: killed");
        assertThatThrownBy(() -> envd.sendSignal(started, true)).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining("not_found");
    }

    @Test
    void filesGoUpAsOctetsAndComeBack(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path file = tmp.resolve("f.bin");
        byte[] content = new byte[3 * 1024 * 1024];
        new java.util.Random(7).nextBytes(content);
        java.nio.file.Files.write(file, content);
        envd.upload(file, "/home/user/deep/dir/f.bin");
        assertThat(envd.download("deep/dir/f.bin")).as("relative to the user's home").isEqualTo(content);
        assertThatThrownBy(() -> envd.download("/nope")).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining("does not exist");
    }

    @Test
    void envdDemandsTheAccessToken() {
        assertThatThrownBy(() -> envd(sandbox, Optional.empty()).run("true", Duration.ofSeconds(5)))
                .isInstanceOf(BackendAuthenticationException.class).hasMessageContaining("access token");
        assertThatThrownBy(() -> envd(sandbox, Optional.of(Secret.of("wrong"))).list())
                .isInstanceOf(BackendAuthenticationException.class).hasMessageContaining("invalid access token");
    }

    @Test
    void theControlPlaneValidatesKeyAndBody() throws Exception {
        E2BApi wrongKey = new E2BApi(config().apiKey(Secret.of("e2b_wrong")).build());
        assertThatThrownBy(() -> wrongKey.get(sandbox.sandboxId())).isInstanceOf(BackendAuthenticationException.class)
                .hasMessageContaining("Invalid API key");
        assertThatThrownBy(() -> api.create(new E2BApi.CreateRequest("no-such-template", Duration.ofMinutes(1), false,
                Map.of(), Map.of(), Optional.empty(), Optional.empty(), List.of(), List.of())))
                .isInstanceOf(RuntimeNotFoundException.class).hasMessageContaining("template 'no-such-template' not found");
        OkHttpClient http = new OkHttpClient();
        try (Response r = http.newCall(new Request.Builder().url(e2b.uri() + "/v2/sandboxes")
                .header("X-API-KEY", e2b.apiKey()).post(okhttp3.RequestBody.create("{\"timeout\":5}",
                        okhttp3.MediaType.get("application/json"))).build()).execute()) {
            assertThat(r.code()).isEqualTo(400);
            assertThat(r.body().string()).contains("\"code\":400").contains("templateID");
        }
        try (Response r = http.newCall(new Request.Builder().url(e2b.uri() + "/v2/sandboxes?limit=101")
                .header("X-API-KEY", e2b.apiKey()).build()).execute()) {
            assertThat(r.code()).isEqualTo(400);
        }
    }

    @Test
    void aRateLimitedCreateIsRetriedAndAnEnvd502IsAClearTransientError() {
        e2b.faults().on("POST", "/v2/sandboxes").times(1).header("Retry-After", "0")
                .respond(429, Map.of("code", 429, "message", "rate limit exceeded"));
        E2BApi.Sandbox second = api.create(request(Map.of("suite", "fake-it-429"), Optional.empty()));
        try {
            assertThat(e2b.calls().stream().filter(c -> c.equals("POST /v2/sandboxes")).count())
                    .as("the 429 and the retry reached the fake").isGreaterThanOrEqualTo(2);
            e2b.faults().on("POST", "/process\\.Process/Start").times(1)
                    .respond(502, Map.of("code", 502, "message", "The sandbox " + second.sandboxId() + " was not found"));
            assertThatThrownBy(() -> envd(second, second.envdToken()).run("true", Duration.ofSeconds(5)))
                    .isInstanceOf(BackendException.class).hasMessageContaining("sandbox " + second.sandboxId())
                    .hasMessageContaining("HTTP 502");
            assertThat(envd(second, second.envdToken()).run("echo back", Duration.ofSeconds(10)).stdout())
                    .isEqualTo("back\n");
        } finally {
            api.kill(second.sandboxId());
        }
    }

    @Test
    void aSandboxWhoseTimeoutPassesIsGoneEverywhere() throws Exception {
        E2BApi.Sandbox doomed = api.create(request(Map.of("suite", "fake-it-timeout"), Optional.empty()));
        e2b.expire(doomed.sandboxId());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (e2b.sandboxIds().contains(doomed.sandboxId()) && System.nanoTime() < deadline) {
            Thread.sleep(50); // polling a condition with a deadline
        }
        assertThatThrownBy(() -> api.get(doomed.sandboxId())).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining(doomed.sandboxId());
        assertThatThrownBy(() -> envd(doomed, doomed.envdToken()).run("true", Duration.ofSeconds(5)))
                .isInstanceOf(BackendException.class).hasMessageContaining("HTTP 502").hasMessageContaining("not found");
        assertThat(api.list(Map.of("suite", "fake-it-timeout"))).isEmpty();
    }

    @Test
    void listingPagesWithACursorAndPausedSandboxesAreListedAsPaused() throws Exception {
        E2BApi.Sandbox other = api.create(request(Map.of("suite", "fake-it-pages"), Optional.empty()));
        E2BApi.Sandbox third = api.create(request(Map.of("suite", "fake-it-pages"), Optional.empty()));
        try {
            assertThat(api.pause(other.sandboxId())).isTrue();
            assertThat(api.pause(other.sandboxId())).as("already paused: 409").isFalse();
            OkHttpClient http = new OkHttpClient();
            String url = e2b.uri() + "/v2/sandboxes?limit=1&metadata=suite%3Dfake-it-pages";
            List<String> ids = new ArrayList<>();
            String next;
            try (Response r = http.newCall(new Request.Builder().url(url).header("X-API-KEY", e2b.apiKey()).build())
                    .execute()) {
                next = r.header("X-Next-Token");
                ids.add(dev.agentruntime.internal.WireCodec.parse(r.body().string()).get(0).get("sandboxID").asText());
            }
            assertThat(next).isNotBlank();
            try (Response r = http.newCall(new Request.Builder().url(url + "&nextToken=" + next)
                    .header("X-API-KEY", e2b.apiKey()).build()).execute()) {
                assertThat(r.header("X-Next-Token")).isNull();
                ids.add(dev.agentruntime.internal.WireCodec.parse(r.body().string()).get(0).get("sandboxID").asText());
            }
            assertThat(ids).containsExactly(other.sandboxId(), third.sandboxId());
            assertThat(api.list(Map.of("suite", "fake-it-pages"))).extracting(E2BApi.Listed::state)
                    .containsExactly("paused", "running");
            assertThatThrownBy(() -> envd(other, other.envdToken()).run("true", Duration.ofSeconds(5)))
                    .isInstanceOf(BackendException.class).hasMessageContaining("is paused");
            E2BApi.Sandbox resumed = api.connect(other.sandboxId(), Duration.ofMinutes(2));
            assertThat(envd(resumed, resumed.envdToken()).run("echo resumed", Duration.ofSeconds(10)).stdout())
                    .isEqualTo("resumed\n");
        } finally {
            api.kill(other.sandboxId());
            api.kill(third.sandboxId());
        }
    }

    @Test
    void portsAreRoutedByHostAndPrivateSandboxesDemandTheTrafficToken() throws Exception {
        E2BApi.Sandbox hidden = api.create(request(Map.of("suite", "fake-it-private"), Optional.of(false)));
        try {
            assertThat(hidden.trafficToken()).isPresent();
            Envd hiddenEnvd = envd(hidden, hidden.envdToken());
            hiddenEnvd.run("mkdir -p /tmp/www && echo served > /tmp/www/index.html && (cd /tmp/www && setsid nohup "
                    + "python3 -m http.server 8080 >/dev/null 2>&1 &)", Duration.ofSeconds(10));
            // {port}-{id}.localhost resolved here to the fake's loopback address, as a wildcard DNS would
            OkHttpClient http = new OkHttpClient.Builder().dns(host -> List.of(InetAddress.getLoopbackAddress()))
                    .build();
            String base = "http://8080-" + hidden.sandboxId() + ".localhost:" + e2b.uri().getPort();
            try (Response r = http.newCall(new Request.Builder().url(base + "/index.html").build()).execute()) {
                assertThat(r.code()).isEqualTo(403);
                assertThat(r.body().string()).contains("traffic access token");
            }
            String body = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (body == null && System.nanoTime() < deadline) {
                try (Response r = http.newCall(new Request.Builder().url(base + "/index.html")
                        .header("e2b-traffic-access-token", hidden.trafficToken().get().reveal()).build()).execute()) {
                    if (r.code() == 200) {
                        body = r.body().string();
                    } else {
                        assertThat(r.code()).as("not listening yet: E2B's 502").isEqualTo(502);
                        Thread.sleep(100); // polling a condition with a deadline
                    }
                }
            }
            assertThat(body).isEqualTo("served\n");
            try (Response r = http.newCall(new Request.Builder().url("http://49983-" + hidden.sandboxId()
                    + ".localhost:" + e2b.uri().getPort() + "/health").build()).execute()) {
                assertThat(r.code()).as("envd's health through its own host").isEqualTo(204);
            }
        } finally {
            api.kill(hidden.sandboxId());
        }
    }
}
