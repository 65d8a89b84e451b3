package dev.agentruntime.runloop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.Secret;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.runloop.internal.Devbox;
import dev.agentruntime.runloop.internal.Execution;
import dev.agentruntime.runloop.internal.RunloopApi;
import dev.agentruntime.spi.ServerEndpoint;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.SessionLabels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every Runloop call the backend makes and its error paths, on the wire: method, path, headers and body. */
class RunloopRequestShapeTest {

    private static final String KEY = "rl-key-1";
    private static final String DEVBOX = "{\"id\":\"dbx_1\",\"status\":\"running\",\"metadata\":{}}";

    private MockWebServer server;
    private RunloopApi api;

    @TempDir
    Path tmp;

    @BeforeEach
    void start() throws IOException {
        server = new MockWebServer();
        server.start();
        api = RunloopApi.create(server.url("/").uri(), Secret.of(KEY), null);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private void answer(int code, String json) {
        server.enqueue(new MockResponse.Builder().code(code).setHeader("Content-Type", "application/json").body(json)
                .build());
    }

    private RecordedRequest take() throws InterruptedException {
        RecordedRequest request = server.takeRequest(5, TimeUnit.SECONDS);
        assertThat(request).as("a request reached the server").isNotNull();
        return request;
    }

    private static JsonNode body(RecordedRequest request) {
        return WireCodec.parse(request.getBody().utf8());
    }

    private static void assertPost(RecordedRequest request, String path) {
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getUrl().encodedPath()).isEqualTo(path);
        assertThat(request.getHeaders().get("Authorization")).isEqualTo("Bearer " + KEY);
        assertThat(request.getHeaders().get("x-request-id")).startsWith("agent-runtime-retry-");
    }

    // ------------------------------------------------------------------------------------------- devboxes ---

    @Test
    void createSendsTheSessionMetadataLaunchParametersAndTunnel() throws Exception {
        RunloopConfig runloop = RunloopConfig.builder().apiKey(Secret.of(KEY)).baseUrl(server.url("/").uri())
                .blueprintName("agent-runtime-server").env("TZ", "UTC").resourceSize(ResourceSize.MEDIUM)
                .keepAliveTime(Duration.ofHours(2)).idleTime(Duration.ofMinutes(10))
                .launchCommands(List.of("apt-get update")).user(new ServerLaunch.User("agent", 1001))
                .architecture("x86_64").build();
        RuntimeConfig config = RuntimeConfig.builder().type("runloop").sessionId("shape-1").backendConfig(runloop)
                .label("team", "infra").build();
        RunloopRuntime runtime = new RunloopRuntime(config, runloop);
        answer(200, "{\"id\":\"dbx_1\",\"status\":\"provisioning\",\"metadata\":{}}");
        Devbox created = api.createAndAwaitRunning(runtime.createBody(SessionLabels.forSession(config)));
        assertThat(created.id()).isEqualTo("dbx_1");
        assertThat(created.status()).isEqualTo("provisioning");

        RecordedRequest request = take();
        assertPost(request, "/v1/devboxes/create_and_await_running");
        JsonNode body = body(request);
        assertThat(body.get("name").asText()).isEqualTo("agent-runtime-shape-1");
        assertThat(body.get("blueprint_name").asText()).isEqualTo("agent-runtime-server");
        assertThat(body.has("blueprint_id") || body.has("snapshot_id")).isFalse();
        assertThat(body.at("/environment_variables/TZ").asText()).isEqualTo("UTC");
        assertThat(body.at("/metadata/dev.agentruntime.session-id").asText()).isEqualTo("shape-1");
        assertThat(body.at("/metadata/dev.agentruntime.managed-by").asText()).isEqualTo("agent-runtime");
        assertThat(body.at("/metadata/dev.agentruntime.label.team").asText()).isEqualTo("infra");
        JsonNode launch = body.get("launch_parameters");
        assertThat(launch.get("resource_size_request").asText()).isEqualTo("MEDIUM");
        assertThat(launch.get("keep_alive_time_seconds").asLong()).isEqualTo(7200);
        assertThat(launch.at("/after_idle/idle_time_seconds").asLong()).isEqualTo(600);
        assertThat(launch.at("/after_idle/on_idle").asText()).isEqualTo("shutdown");
        assertThat(launch.at("/launch_commands/0").asText()).isEqualTo("apt-get update");
        assertThat(launch.get("architecture").asText()).isEqualTo("x86_64");
        assertThat(launch.at("/user_parameters/username").asText()).isEqualTo("agent");
        assertThat(launch.at("/user_parameters/uid").asInt()).isEqualTo(1001);
        assertThat(body.at("/tunnel/auth_mode").asText()).isEqualTo("authenticated");
        assertThat(body.at("/tunnel/http_keep_alive").asBoolean()).isTrue();
    }

    @Test
    void aCreateWhoseAnswerWasLostIsFoundByItsLabelsAndShutDown() throws Exception {
        RunloopConfig runloop = RunloopConfig.builder().apiKey(Secret.of(KEY)).baseUrl(server.url("/").uri()).build();
        RuntimeConfig config = RuntimeConfig.builder().type("runloop").sessionId("shape-lost").backendConfig(runloop)
                .build();
        server.enqueue(new MockResponse.Builder().code(500).setHeader("x-should-retry", "false")
                .body("{\"message\":\"gateway lost the answer\"}").build());
        String metadata = WireCodec.toJson(WireCodec.MAPPER.valueToTree(SessionLabels.forSession(config).asLabels()));
        answer(200, "{\"devboxes\":[{\"id\":\"dbx_other\",\"status\":\"running\",\"metadata\":{}},"
                + "{\"id\":\"dbx_lost\",\"status\":\"provisioning\",\"metadata\":" + metadata + "}],"
                + "\"has_more\":false}");
        answer(200, "{\"id\":\"dbx_lost\",\"status\":\"shutdown\",\"metadata\":{}}");
        try (RunloopRuntime runtime = new RunloopRuntime(config, runloop)) {
            assertThatThrownBy(runtime::connect).isInstanceOf(BackendException.class)
                    .hasMessageContaining("gateway lost the answer");
        }
        assertPost(take(), "/v1/devboxes/create_and_await_running");
        assertThat(take().getUrl().encodedPath()).isEqualTo("/v1/devboxes");
        RecordedRequest shutdown = take();
        assertPost(shutdown, "/v1/devboxes/dbx_lost/shutdown");
        assertThat(shutdown.getUrl().queryParameter("force")).isEqualTo("true");
        assertThat(server.getRequestCount()).as("the other devbox is left alone").isEqualTo(3);
    }

    @Test
    void aKeepAliveSessionIsSuspendedWhenIdleNotShutDown() {
        RunloopConfig runloop = RunloopConfig.builder().apiKey(Secret.of(KEY)).snapshotId("snp_1").build();
        RuntimeConfig config = RuntimeConfig.builder().type("runloop").sessionId("shape-2").keepAlive(true)
                .backendConfig(runloop).build();
        JsonNode body = new RunloopRuntime(config, runloop).createBody(SessionLabels.forSession(config));
        assertThat(body.get("snapshot_id").asText()).isEqualTo("snp_1");
        assertThat(body.at("/launch_parameters/after_idle/on_idle").asText()).isEqualTo("suspend");
        assertThat(body.at("/metadata/dev.agentruntime.keep-alive").asText()).isEqualTo("true");
    }

    @Test
    void aRetriedCallReusesItsRequestIdAndWaitsWhatRunloopAsked() throws Exception {
        server.enqueue(new MockResponse.Builder().code(503).setHeader("retry-after-ms", "30").body("{}").build());
        server.enqueue(new MockResponse.Builder().code(429).setHeader("retry-after", "0")
                .setHeader("x-ratelimit-limit-requests", "100").setHeader("x-ratelimit-remaining-requests", "0")
                .body("{\"message\":\"rate limited\"}").build());
        answer(200, "{\"id\":\"dbx_9\",\"status\":\"provisioning\",\"metadata\":{}}");
        long started = System.nanoTime();
        assertThat(api.create(WireCodec.MAPPER.createObjectNode()).id()).isEqualTo("dbx_9");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("waited retry-after-ms")
                .isGreaterThanOrEqualTo(Duration.ofMillis(30));
        String first = take().getHeaders().get("x-request-id");
        assertThat(take().getHeaders().get("x-request-id")).isEqualTo(first);
        assertThat(take().getHeaders().get("x-request-id")).as("every retry carries the same idempotency key")
                .isEqualTo(first);
    }

    @Test
    void conflictsAndShouldRetryAreRetriedAndShouldRetryFalseIsNot() throws Exception {
        answer(409, "{\"message\":\"lock timeout\"}");
        server.enqueue(new MockResponse.Builder().code(400).setHeader("x-should-retry", "true").body("{}").build());
        answer(200, DEVBOX);
        assertThat(api.suspend("dbx_1").id()).isEqualTo("dbx_1");
        assertThat(server.getRequestCount()).isEqualTo(3);

        server.enqueue(new MockResponse.Builder().code(500).setHeader("x-should-retry", "false")
                .body("{\"message\":\"broken\"}").build());
        assertThatThrownBy(() -> api.resume("dbx_1")).isInstanceOf(BackendException.class)
                .hasMessageContaining("broken").matches(e -> !((BackendException) e).isTransient());
        assertThat(server.getRequestCount()).isEqualTo(4);
    }

    @Test
    void refusedKeysAndMissingDevboxesAreTypedErrors() {
        answer(401, "{\"message\":\"invalid API key\"}");
        assertThatThrownBy(() -> api.get("dbx_1")).isInstanceOf(BackendAuthenticationException.class)
                .hasMessageContaining("invalid API key").hasMessageContaining("RUNLOOP_API_KEY");
        answer(404, "{\"message\":\"devbox dbx_x not found\"}");
        assertThatThrownBy(() -> api.get("dbx_x")).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining("dbx_x");
        answer(400, "{\"message\":\"unknown field 'nme'\"}");
        assertThatThrownBy(() -> api.create(WireCodec.MAPPER.createObjectNode().put("nme", "x")))
                .isInstanceOf(BackendException.class).hasMessageContaining("unknown field");
    }

    @Test
    void waitForStatusPollsAgainAfterEach408() throws Exception {
        server.enqueue(new MockResponse.Builder().code(408).setHeader("x-should-retry", "true").body("{}").build());
        server.enqueue(new MockResponse.Builder().code(408).body("{}").build());
        answer(200, DEVBOX);
        Devbox running = api.waitForStatus("dbx_1", List.of("running", "failure", "shutdown"),
                Instant.now().plusSeconds(60));
        assertThat(running.status()).isEqualTo("running");
        for (int i = 0; i < 3; i++) {
            RecordedRequest poll = take();
            assertPost(poll, "/v1/devboxes/dbx_1/wait_for_status");
            JsonNode body = body(poll);
            assertThat(body.get("statuses").toString()).contains("running").contains("failure").contains("shutdown");
            assertThat(body.get("timeout_seconds").asInt()).isBetween(1, RunloopApi.DEVBOX_HOLD_SECONDS);
        }
    }

    @Test
    void waitForStatusGivesUpAtTheDeadline() {
        for (int i = 0; i < 20; i++) {
            server.enqueue(new MockResponse.Builder().code(408).body("{}").build());
        }
        assertThatThrownBy(() -> api.waitForStatus("dbx_1", List.of("running"), Instant.now().plusMillis(1500)))
                .isInstanceOf(RuntimeTimeoutException.class).hasMessageContaining("dbx_1");
    }

    @Test
    void listPagesWithStartingAfterTheLastId() throws Exception {
        answer(200, "{\"devboxes\":[{\"id\":\"dbx_a\",\"status\":\"running\",\"metadata\":{}},"
                + "{\"id\":\"dbx_b\",\"status\":\"shutdown\",\"metadata\":{}}],\"has_more\":true}");
        answer(200, "{\"devboxes\":[{\"id\":\"dbx_c\",\"status\":\"suspended\",\"metadata\":{}}],\"has_more\":false}");
        assertThat(api.listAll(d -> !d.ended())).extracting(Devbox::id).containsExactly("dbx_a", "dbx_c");
        RecordedRequest first = take();
        assertThat(first.getMethod()).isEqualTo("GET");
        assertThat(first.getUrl().encodedPath()).isEqualTo("/v1/devboxes");
        assertThat(first.getUrl().queryParameter("limit")).isEqualTo("100");
        assertThat(first.getUrl().queryParameter("starting_after")).isNull();
        assertThat(first.getHeaders().get("x-request-id")).as("GETs carry no idempotency key").isNull();
        assertThat(take().getUrl().queryParameter("starting_after")).isEqualTo("dbx_b");
    }

    @Test
    void lifecycleCallsHitTheirPaths() throws Exception {
        answer(200, DEVBOX);
        api.resume("dbx_1");
        assertPost(take(), "/v1/devboxes/dbx_1/resume");
        answer(200, "{}");
        api.keepAlive("dbx_1");
        assertPost(take(), "/v1/devboxes/dbx_1/keep_alive");
        answer(200, "{\"id\":\"dbx_1\",\"status\":\"shutdown\",\"metadata\":{},\"shutdown_reason\":\"api_shutdown\"}");
        Devbox ended = api.shutdown("dbx_1", false);
        assertThat(ended.ended()).isTrue();
        assertThat(ended.describe()).contains("api_shutdown");
        RecordedRequest shutdown = take();
        assertPost(shutdown, "/v1/devboxes/dbx_1/shutdown");
        assertThat(shutdown.getUrl().queryParameter("force")).isEqualTo("false");
        answer(200, "{\"tunnel_key\":\"k1\",\"auth_mode\":\"authenticated\",\"auth_token\":\"tok\"}");
        Devbox.Tunnel tunnel = api.enableTunnel("dbx_1", "authenticated");
        assertThat(tunnel.authToken()).contains(Secret.of("tok"));
        assertThat(tunnel.toString()).doesNotContain("tok\"").doesNotContain("=tok");
        RecordedRequest enable = take();
        assertPost(enable, "/v1/devboxes/dbx_1/enable_tunnel");
        assertThat(body(enable).get("auth_mode").asText()).isEqualTo("authenticated");
    }

    // ----------------------------------------------------------------------------------------- executions ---

    @Test
    void executeCarriesAUuid7CommandIdAndLongPollsUntilCompleted() throws Exception {
        answer(200, "{\"devbox_id\":\"dbx_1\",\"execution_id\":\"exe_1\",\"status\":\"running\"}");
        server.enqueue(new MockResponse.Builder().code(408).setHeader("x-should-retry", "true").body("{}").build());
        answer(200, "{\"devbox_id\":\"dbx_1\",\"execution_id\":\"exe_1\",\"status\":\"completed\",\"exit_status\":3,"
                + "\"stdout\":\"out\\n\",\"stderr\":\"err\\n\"}");
        UUID id = dev.agentruntime.runloop.internal.Uuid7.next();
        assertThat(id.version()).isEqualTo(7);
        Execution started = api.execute("dbx_1", "sleep 30", id, 25);
        assertThat(started.completed()).isFalse();
        Execution done = api.awaitCompleted("dbx_1", "exe_1", Instant.now().plusSeconds(60));
        assertThat(done.exitStatus()).hasValue(3);
        assertThat(done.stdout()).isEqualTo("out\n");
        assertThat(done.stderr()).isEqualTo("err\n");

        RecordedRequest execute = take();
        assertPost(execute, "/v1/devboxes/dbx_1/execute");
        assertThat(body(execute).get("command").asText()).isEqualTo("sleep 30");
        assertThat(body(execute).get("command_id").asText()).isEqualTo(id.toString())
                .matches("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
        assertThat(body(execute).get("optimistic_timeout").asInt()).isEqualTo(25);
        for (int i = 0; i < 2; i++) {
            RecordedRequest poll = take();
            assertPost(poll, "/v1/devboxes/dbx_1/executions/exe_1/wait_for_status");
            assertThat(body(poll).get("statuses").toString()).isEqualTo("[\"completed\"]");
            assertThat(body(poll).get("timeout_seconds").asInt()).isBetween(1, RunloopApi.EXECUTION_HOLD_SECONDS);
        }
    }

    @Test
    void stdinKillAndAsyncExecutionsHaveRunloopsBodies() throws Exception {
        answer(200, "{\"devbox_id\":\"dbx_1\",\"execution_id\":\"exe_2\",\"status\":\"running\"}");
        assertThat(api.executeAsync("dbx_1", "cat", true).executionId()).isEqualTo("exe_2");
        RecordedRequest async = take();
        assertPost(async, "/v1/devboxes/dbx_1/execute_async");
        assertThat(body(async).get("attach_stdin").asBoolean()).isTrue();

        answer(200, "{\"devbox_id\":\"dbx_1\",\"execution_id\":\"exe_2\",\"success\":true}");
        api.sendStdin("dbx_1", "exe_2", "line\n");
        RecordedRequest stdin = take();
        assertPost(stdin, "/v1/devboxes/dbx_1/executions/exe_2/send_std_in");
        assertThat(body(stdin).get("text").asText()).isEqualTo("line\n");
        answer(200, "{\"devbox_id\":\"dbx_1\",\"execution_id\":\"exe_2\",\"success\":true}");
        api.sendSignal("dbx_1", "exe_2", "EOF");
        assertThat(body(take()).get("signal").asText()).isEqualTo("EOF");
        assertThatThrownBy(() -> api.sendSignal("dbx_1", "exe_2", "KILL"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("EOF and INTERRUPT");

        answer(200, "{\"devbox_id\":\"dbx_1\",\"execution_id\":\"exe_2\",\"status\":\"completed\",\"exit_status\":137}");
        assertThat(api.kill("dbx_1", "exe_2", true).exitStatus()).hasValue(137);
        RecordedRequest kill = take();
        assertPost(kill, "/v1/devboxes/dbx_1/executions/exe_2/kill");
        assertThat(body(kill).get("kill_process_group").asBoolean()).isTrue();

        answer(200, "{\"devbox_id\":\"dbx_1\",\"execution_id\":\"exe_2\",\"status\":\"completed\",\"exit_status\":0}");
        assertThat(api.execution("dbx_1", "exe_2").completed()).isTrue();
        RecordedRequest get = take();
        assertThat(get.getMethod()).isEqualTo("GET");
        assertThat(get.getUrl().encodedPath()).isEqualTo("/v1/devboxes/dbx_1/executions/exe_2");
    }

    @Test
    void outputStreamsResumeFromTheLastOffsetWithoutRepeatingBytes() throws Exception {
        server.enqueue(new MockResponse.Builder().code(200).setHeader("Content-Type", "text/event-stream")
                .body("data: {\"output\":\"héllo \",\"offset\":0}\n\n"
                        + "event: error\ndata: {\"code\":408,\"message\":\"idle stream\"}\n\n").build());
        server.enqueue(new MockResponse.Builder().code(200).setHeader("Content-Type", "text/event-stream")
                .body(": keep-alive\n\ndata: {\"output\":\"héllo \",\"offset\":0}\n\n"
                        + "data: {\"output\":\"world\",\"offset\":7}\n\n").build());
        StringBuilder received = new StringBuilder();
        long end = api.streamOutput("dbx_1", "exe_3", false, 0, (offset, text) -> received.append(text));
        assertThat(received.toString()).isEqualTo("héllo world");
        assertThat(end).isEqualTo(12);
        RecordedRequest first = take();
        assertThat(first.getMethod()).isEqualTo("GET");
        assertThat(first.getUrl().encodedPath()).isEqualTo("/v1/devboxes/dbx_1/executions/exe_3/stream_stdout_updates");
        assertThat(first.getUrl().queryParameter("offset")).isEqualTo("0");
        assertThat(first.getHeaders().get("Accept")).isEqualTo("text/event-stream");
        assertThat(take().getUrl().queryParameter("offset")).as("resumed after the bytes it had").isEqualTo("7");
    }

    @Test
    void aStreamErrorThatIsNotTransientIsThrown() {
        server.enqueue(new MockResponse.Builder().code(200).setHeader("Content-Type", "text/event-stream")
                .body("event: error\ndata: {\"code\":404,\"message\":\"execution exe_4 not found\"}\n\n").build());
        assertThatThrownBy(() -> api.streamOutput("dbx_1", "exe_4", true, 0, (o, t) -> { }))
                .isInstanceOf(RuntimeNotFoundException.class).hasMessageContaining("exe_4");
    }

    // ---------------------------------------------------------------------------------------------- files ---

    @Test
    void filesTravelAsRunloopExpects() throws Exception {
        Path local = Files.writeString(tmp.resolve("bundle.tar.gz"), "bundle-bytes");
        answer(200, "{}");
        api.upload("dbx_1", local, "/tmp/agent-runtime/bundle.tar.gz");
        RecordedRequest upload = take();
        assertPost(upload, "/v1/devboxes/dbx_1/upload_file");
        assertThat(upload.getHeaders().get("Content-Type")).startsWith("multipart/form-data; boundary=");
        String multipart = upload.getBody().utf8();
        assertThat(multipart).contains("name=\"path\"").contains("/tmp/agent-runtime/bundle.tar.gz")
                .contains("name=\"file\"").contains("bundle-bytes");

        server.enqueue(new MockResponse.Builder().code(200).setHeader("Content-Type", "application/octet-stream")
                .body("downloaded").build());
        Path target = tmp.resolve("out.bin");
        api.download("dbx_1", "/tmp/x.bin", target);
        assertThat(Files.readString(target)).isEqualTo("downloaded");
        RecordedRequest download = take();
        assertPost(download, "/v1/devboxes/dbx_1/download_file");
        assertThat(download.getHeaders().get("Accept")).isEqualTo("application/octet-stream");
        assertThat(body(download).get("path").asText()).isEqualTo("/tmp/x.bin");

        server.enqueue(new MockResponse.Builder().code(200).setHeader("Content-Type", "text/plain").body("raw text")
                .build());
        assertThat(api.readFile("dbx_1", "notes.txt")).isEqualTo("raw text");
        RecordedRequest read = take();
        assertPost(read, "/v1/devboxes/dbx_1/read_file_contents");
        assertThat(read.getHeaders().get("Accept")).isEqualTo("text/plain");
        assertThat(body(read).get("file_path").asText()).isEqualTo("notes.txt");

        answer(200, "{\"devbox_id\":\"dbx_1\",\"exit_status\":0}");
        api.writeFile("dbx_1", "notes.txt", "new");
        RecordedRequest write = take();
        assertPost(write, "/v1/devboxes/dbx_1/write_file_contents");
        assertThat(body(write).get("contents").asText()).isEqualTo("new");
    }

    // -------------------------------------------------------------------------------------------- tunnels ---

    @Test
    void theServerIsReachedThroughTheTunnelWithItsToken() {
        RunloopConfig runloop = RunloopConfig.builder().apiKey(Secret.of(KEY)).build();
        RuntimeConfig config = RuntimeConfig.builder().type("runloop").sessionId("shape-3").backendConfig(runloop)
                .sessionApiKey("session-key").build();
        ServerEndpoint endpoint = new RunloopRuntime(config, runloop).endpoint(new Devbox.Tunnel("tk1",
                "authenticated", Optional.of(Secret.of("tunnel-token"))));
        assertThat(endpoint.baseUrl()).hasToString("https://49999-tk1.tunnel.runloop.ai");
        assertThat(endpoint.headers()).anySatisfy(h -> {
            assertThat(h.name()).isEqualTo("X-Runloop-Tunnel-Authorization");
            assertThat(h.value().reveal()).isEqualTo("Bearer tunnel-token");
            assertThat(h.secret()).isTrue();
        });
        assertThat(endpoint.toString()).doesNotContain("tunnel-token").doesNotContain("session-key");

        RunloopConfig local = runloop.toBuilder().tunnelAuth(TunnelAuth.OPEN)
                .tunnelAddress(java.net.URI.create("http://127.0.0.1:9999")).tunnelDomain("fake.test").build();
        ServerEndpoint open = new RunloopRuntime(config.toBuilder().backendConfig(local).build(), local)
                .endpoint(new Devbox.Tunnel("tk2", "open", Optional.empty()));
        assertThat(open.baseUrl()).hasToString("http://127.0.0.1:9999");
        assertThat(open.headers()).singleElement().satisfies(h -> {
            assertThat(h.name()).isEqualTo("Host");
            assertThat(h.value().reveal()).isEqualTo("49999-tk2.tunnel.fake.test");
        });
    }

    // --------------------------------------------------------------------------------------------- config ---

    @Test
    void optionsAndEnvironmentBecomeATypedConfig() {
        Map<String, String> fromEnv = RunloopConfig.optionsFromEnvironment(Map.of("RUNLOOP_API_KEY", "k-env",
                "RUNLOOP_BASE_URL", "https://api.example.test"));
        assertThat(fromEnv).containsEntry("api.key", "k-env").containsEntry("base.url", "https://api.example.test");
        RunloopConfig c = RunloopConfig.from(RuntimeConfig.builder().type("runloop").options(fromEnv)
                .option("resource-size", "x_large").option("idle.time", "5m").option("idle.action", "suspend")
                .option("user", "agent:1001").option("tunnel.auth", "open").option("launch.commands", "a,b").build());
        assertThat(c.apiKey().reveal()).isEqualTo("k-env");
        assertThat(c.resourceSize()).contains(ResourceSize.X_LARGE);
        assertThat(c.idleTime()).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.idleActionFor(false)).isEqualTo(IdleAction.SUSPEND);
        assertThat(c.user()).contains(new ServerLaunch.User("agent", 1001));
        assertThat(c.launchCommands()).containsExactly("a", "b");
        assertThat(c.effectiveTunnelDomain()).isEqualTo("example.test");
        assertThat(c.toString()).doesNotContain("k-env");
    }

    @Test
    void badConfigurationIsRefusedWithWhatToFix() {
        RuntimeConfig.Builder base = RuntimeConfig.builder().type("runloop").option("api.key", "k");
        assertThatThrownBy(() -> RunloopConfig.from(RuntimeConfig.builder().type("runloop").build()))
                .hasMessageContaining("RUNLOOP_API_KEY");
        assertThatThrownBy(() -> RunloopConfig.from(base.option("blueprint.id", "b").option("snapshot.id", "s")
                .build())).hasMessageContaining("at most one of blueprintId, blueprintName and snapshotId");
        assertThatThrownBy(() -> RunloopConfig.from(RuntimeConfig.builder().type("runloop").option("api.key", "k")
                .option("blueprint", "x").build())).hasMessageContaining("Unknown option").hasMessageContaining("blueprint.name");
        assertThatThrownBy(() -> RunloopConfig.builder().apiKey(Secret.of("k")).keepAliveTime(Duration.ofHours(49))
                .build()).hasMessageContaining("48 h");
        assertThatThrownBy(() -> RunloopConfig.builder().apiKey(Secret.of("k")).customCpuCores(2).build())
                .hasMessageContaining("CUSTOM_SIZE");
        assertThatThrownBy(() -> RunloopConfig.builder().apiKey(Secret.of("k")).architecture("sparc").build())
                .hasMessageContaining("x86_64 or arm64");
    }
}
