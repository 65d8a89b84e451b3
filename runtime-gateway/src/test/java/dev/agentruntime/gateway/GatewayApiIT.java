package dev.agentruntime.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.docker.SandboxImage;
import dev.agentruntime.testkit.RequiresDocker;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The gateway's API on the wire, over real Docker sandboxes: authentication, tenancy (a key sees and controls only its
 * sessions), quota, malformed input, the path-mode proxy's session-key check, pause → 503, OpenHands-shaped starts
 * with their own command, idle reaping, metrics and health.
 */
@RequiresDocker
class GatewayApiIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String UNKNOWN_RUNTIME = "rt-000000000000000000000000";

    @RegisterExtension
    static final GatewayExtension GATEWAY = new GatewayExtension(b -> b
            .key("solo", TestGateways.keyOf("solo"), 1, Duration.ofMinutes(30))
            .key("sleepy", TestGateways.keyOf("sleepy"), 5, Duration.ofSeconds(10))
            .quotaRetryAfter(Duration.ofSeconds(7)),
            "alice", "bob", "cmd");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private record Answer(int status, JsonNode body, HttpResponse<String> raw) {
        String detail() {
            return body.path("detail").asText();
        }
    }

    private Answer call(String method, String path, String tenant, String body) throws Exception {
        return call(method, GATEWAY.uri().resolve(path), tenant == null ? Map.of()
                : Map.of("X-API-Key", TestGateways.keyOf(tenant)), body);
    }

    private Answer call(String method, URI url, Map<String, String> headers, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(120))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        headers.forEach(request::header);
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json;
        try {
            json = JSON.readTree(response.body());
        } catch (IOException e) {
            json = JSON.createObjectNode().put("raw", response.body());
        }
        return new Answer(response.statusCode(), json == null ? JSON.createObjectNode() : json, response);
    }

    private Answer start(String tenant, String sessionId) throws Exception {
        return call("POST", "/start", tenant, "{\"session_id\": \"" + sessionId + "\", \"image\": \""
                + TestGateways.IMAGE + "\", \"environment\": {\"GREETING\": \"hi\"}}");
    }

    private static String execute(String command) {
        return "{\"action\": {\"action\": \"run\", \"args\": {\"command\": \"" + command + "\"}, \"timeout\": 30}}";
    }

    // ---------------------------------------------------------------------------------------- access ---

    @Test
    void healthIsOpenAndEveryApiCallNeedsAValidKey() throws Exception {
        Answer health = call("GET", "/health", null, null);
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.body().path("status").asText()).isEqualTo("ok");
        Answer missing = call("GET", "/list", null, null);
        assertThat(missing.status()).isEqualTo(401);
        assertThat(missing.detail()).isEqualTo("Missing X-API-Key header");
        assertThat(missing.raw().headers().firstValue("Content-Type")).contains("application/json");
        Answer wrong = call("GET", GATEWAY.uri().resolve("/list"), Map.of("X-API-Key", "guess"), null);
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(wrong.detail()).isEqualTo("Invalid X-API-Key");
        assertThat(call("POST", "/start", null, "{}").status()).isEqualTo(401);
    }

    @Test
    void malformedRequestsGetJsonErrorsAndTheGatewayKeepsServing() throws Exception {
        Map<String, Integer> cases = new java.util.LinkedHashMap<>();
        cases.put("not json", 400);
        cases.put("", 400);
        cases.put("[1, 2]", 422);
        cases.put("{}", 422);
        cases.put("{\"session_id\": 5}", 422);
        cases.put("{\"session_id\": \"bad id!\"}", 422);
        cases.put("{\"session_id\": \"s\", \"command\": \"ls -l\"}", 422);
        cases.put("{\"session_id\": \"s\", \"command\": [\"ls\", 1]}", 422);
        cases.put("{\"session_id\": \"s\", \"environment\": {\"A\": {\"b\": 1}}}", 422);
        cases.put("{\"session_id\": \"s\", \"environment\": {\"1A\": \"x\"}}", 422);
        cases.put("{\"session_id\": \"s\", \"environment\": {\"NO_CHANGE_TIMEOUT_SECONDS\": \"soon\"}}", 422);
        cases.put("{\"session_id\": \"s\", \"resource_factor\": 3}", 422);
        cases.put("{\"session_id\": \"s\", \"runtime_class\": \"sysbox-runc\"}", 422);
        cases.put("{\"session_id\": \"s\", \"working_dir\": \"relative\"}", 422);
        for (Map.Entry<String, Integer> c : cases.entrySet()) {
            Answer answer = call("POST", "/start", "alice", c.getKey());
            assertThat(answer.status()).as(c.getKey()).isEqualTo(c.getValue());
            assertThat(answer.detail()).as(c.getKey()).isNotBlank();
        }
        Answer missing = call("POST", "/start", "alice", "{}");
        assertThat(missing.detail()).isEqualTo("Invalid request parameters: session_id is required");
        assertThat(missing.body().at("/errors/0/loc").toString()).isEqualTo("[\"body\",\"session_id\"]");
        assertThat(call("POST", "/start", "alice", "{\"session_id\": \"s\", \"runtime_class\": \"sysbox-runc\"}")
                .detail()).contains("not offered by this gateway");
        assertThat(call("POST", "/start", "alice", "{\"session_id\": \"s\", \"x\": \"" + "y".repeat(1_100_000)
                + "\"}").status()).isEqualTo(413);

        assertThat(call("GET", "/start", "alice", null).status()).isEqualTo(405);
        assertThat(call("POST", "/list", "alice", "{}").status()).isEqualTo(405);
        assertThat(call("GET", "/nothing/here", "alice", null).status()).isEqualTo(404);
        assertThat(call("POST", "/pause", "alice", "{}").status()).isEqualTo(422);
        assertThat(call("POST", "/stop", "alice", "{\"runtime_id\": 7}").status()).isEqualTo(422);
        assertThat(call("POST", "/stop", "alice", "{\"runtime_id\": \"" + UNKNOWN_RUNTIME + "\"}").status())
                .isEqualTo(404);
        assertThat(call("GET", "/runtime/../../etc", "alice", null).status()).isIn(400, 404);
        assertThat(call("GET", "/sessions/not%20valid", "alice", null).status()).isEqualTo(404);
        assertThat(call("GET", "/image_exists", "alice", null).status()).isEqualTo(422);
        assertThat(call("GET", "/image_exists?image=" + TestGateways.IMAGE, "alice", null).body()
                .path("exists").asBoolean()).isTrue();
        assertThat(call("GET", "/image_exists?image=agent-runtime-test/none:missing", "alice", null).body()
                .path("exists").asBoolean()).isFalse();
        assertThat(call("GET", "/registry_prefix", "alice", null).body().path("registry_prefix").asText())
                .isEqualTo("local");
        assertThat(call("POST", "/build", "alice", "{}").status()).isEqualTo(501);
        assertThat(call("GET", "/health", null, null).status()).as("still serving").isEqualTo(200);
    }

    // --------------------------------------------------------------------------------------- tenancy ---

    @Test
    void aKeySeesAndControlsOnlyItsOwnSessionsAndTheProxyChecksTheSessionKey() throws Exception {
        Answer started = start("alice", "shared-name");
        assertThat(started.status()).as(started.body().toString()).isEqualTo(200);
        String runtimeId = started.body().path("runtime_id").asText();
        String url = started.body().path("url").asText();
        String key = started.body().path("session_api_key").asText();
        assertThat(url).isEqualTo(GATEWAY.uri() + "/" + runtimeId);
        assertThat(started.body().path("work_hosts").size()).isEqualTo(2);
        assertThat(started.body().path("work_hosts").fieldNames().next()).isEqualTo(url + "/work-1");

        // bob sees none of it, and cannot touch it
        assertThat(call("GET", "/runtime/" + runtimeId, "bob", null).status()).isEqualTo(404);
        for (String verb : List.of("/pause", "/resume", "/stop")) {
            assertThat(call("POST", verb, "bob", "{\"runtime_id\": \"" + runtimeId + "\"}").status()).as(verb)
                    .isEqualTo(404);
        }
        assertThat(call("GET", "/sessions/shared-name", "bob", null).status()).isEqualTo(404);
        assertThat(call("GET", "/list", "bob", null).body().path("runtimes")).isEmpty();
        Answer bobs = start("bob", "shared-name");
        assertThat(bobs.status()).as("the same session id is another session for another key").isEqualTo(200);
        assertThat(bobs.body().path("runtime_id").asText()).isNotEqualTo(runtimeId);

        // alice sees hers
        Answer session = call("GET", "/sessions/shared-name", "alice", null);
        assertThat(session.body().path("status").asText()).isEqualTo("running");
        assertThat(session.body().path("runtime_id").asText()).isEqualTo(runtimeId);
        assertThat(session.body().path("session_api_key").asText()).isEqualTo(key);
        assertThat(session.body().path("image").asText()).isEqualTo(TestGateways.IMAGE);
        assertThat(call("GET", "/list", "alice", null).body().path("runtimes")).hasSize(1);
        assertThat(call("GET", "/runtime/" + runtimeId, "alice", null).body().path("pod_status").asText())
                .isEqualTo("ready");
        assertThat(start("alice", "shared-name").status()).as("already running").isEqualTo(409);

        // the proxy: /alive open, everything else needs the session key, which bob's key is not
        URI execute = URI.create(url + "/execute_action");
        assertThat(call("GET", URI.create(url + "/alive"), Map.of(), null).status()).isEqualTo(200);
        assertThat(call("POST", execute, Map.of(), execute("echo $GREETING")).status()).isEqualTo(403);
        assertThat(call("POST", execute, Map.of("X-Session-API-Key", bobs.body().path("session_api_key").asText()),
                execute("echo $GREETING")).status()).isEqualTo(403);
        Answer ran = call("POST", execute, Map.of("X-Session-API-Key", key), execute("echo $GREETING"));
        assertThat(ran.status()).isEqualTo(200);
        assertThat(ran.body().path("content").asText()).isEqualTo("hi");
        assertThat(call("GET", URI.create(GATEWAY.uri() + "/" + UNKNOWN_RUNTIME + "/alive"), Map.of(), null)
                .status()).isEqualTo(404);

        // paused: the proxy answers 503 (OpenHands' client resumes on it), the pod says paused
        assertThat(call("POST", "/pause", "alice", "{\"runtime_id\": \"" + runtimeId + "\"}").status()).isEqualTo(200);
        Answer paused = call("POST", execute, Map.of("X-Session-API-Key", key), execute("echo later"));
        assertThat(paused.status()).isEqualTo(503);
        assertThat(paused.detail()).contains("paused");
        assertThat(call("GET", "/runtime/" + runtimeId, "alice", null).body().path("pod_status").asText())
                .isEqualTo("paused");
        assertThat(call("GET", "/sessions/shared-name", "alice", null).body().path("status").asText())
                .isEqualTo("paused");
        assertThat(call("POST", "/resume", "alice", "{\"runtime_id\": \"" + runtimeId + "\"}").status())
                .isEqualTo(200);
        assertThat(call("POST", execute, Map.of("X-Session-API-Key", key), execute("echo again")).body()
                .path("content").asText()).isEqualTo("again");

        // stopped: gone for the API and the proxy
        assertThat(call("POST", "/stop", "alice", "{\"runtime_id\": \"" + runtimeId + "\"}").status()).isEqualTo(200);
        assertThat(call("GET", "/sessions/shared-name", "alice", null).status()).isEqualTo(404);
        assertThat(call("POST", execute, Map.of("X-Session-API-Key", key), execute("echo gone")).status())
                .isEqualTo(404);
        assertThat(call("POST", "/stop", "bob", "{\"runtime_id\": \"" + bobs.body().path("runtime_id").asText()
                + "\"}").status()).isEqualTo(200);
        assertThat(TestGateways.sandboxesOf("alice") + TestGateways.sandboxesOf("bob")).isZero();
    }

    @Test
    void overTheSessionLimitAStartIsRefusedWith429AndRetryAfter() throws Exception {
        Answer first = start("solo", "one");
        assertThat(first.status()).isEqualTo(200);
        Answer second = start("solo", "two");
        assertThat(second.status()).isEqualTo(429);
        assertThat(second.raw().headers().firstValue("Retry-After")).contains("7");
        assertThat(second.detail()).contains("limit is 1");
        assertThat(TestGateways.sandboxesOf("solo")).as("nothing was created").isEqualTo(1);
        assertThat(call("POST", "/stop", "solo", "{\"runtime_id\": \"" + first.body().path("runtime_id").asText()
                + "\"}").status()).isEqualTo(200);
        // two starts at once: the quota counts the one still starting
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            var a = threads.submit(() -> start("solo", "two"));
            var b = threads.submit(() -> start("solo", "three"));
            List<Integer> codes = List.of(a.get().status(), b.get().status());
            assertThat(codes).containsExactlyInAnyOrder(200, 429);
            Answer winner = a.get().status() == 200 ? a.get() : b.get();
            call("POST", "/stop", "solo", "{\"runtime_id\": \"" + winner.body().path("runtime_id").asText()
                    + "\"}");
        } finally {
            threads.shutdownNow();
        }
        assertThat(TestGateways.sandboxesOf("solo")).isZero();

        Answer metrics = call("GET", "/metrics", null, null);
        String text = metrics.raw().body();
        assertThat(metrics.raw().headers().firstValue("Content-Type")).hasValueSatisfying(t ->
                assertThat(t).startsWith("text/plain; version=0.0.4"));
        assertThat(text).contains("agent_runtime_gateway_starts_total{tenant=\"solo\",result=\"ok\"} 2")
                .contains("agent_runtime_gateway_starts_total{tenant=\"solo\",result=\"over_quota\"} 2")
                .contains("agent_runtime_gateway_sessions{tenant=\"solo\",state=\"running\"} 0")
                .contains("agent_runtime_gateway_start_seconds_count")
                .contains("# TYPE agent_runtime_gateway_proxied_requests_total counter")
                .contains("agent_runtime_gateway_backend_up 1")
                .doesNotContain(TestGateways.keyOf("solo"));
    }

    // ----------------------------------------------------------------------------- OpenHands-shaped ---

    @Test
    void aStartWithItsOwnCommandRunsItAsGivenAndABrokenCommandFailsTheStartWithItsOutput() {
        List<String> command = List.of(SandboxImage.BUNDLED_JAVA, "-Dopenhands.shaped=yes", "-jar",
                SandboxImage.SERVER_JAR, "60000", "--working-dir", "/workspace");
        RuntimeConfig config = TestGateways.remote(GATEWAY.uri(), "cmd").option("image", TestGateways.IMAGE)
                .option("command", String.join(" ", command)).option("working.dir", "/opt").build();
        try (Runtime sandbox = RuntimeFactory.connect(config)) {
            String server = sandbox.run("ps -eo pid,args | grep -v grep | grep openhands.shaped=yes").content();
            assertThat(server).contains(String.join(" ", command));
            String pid = server.strip().split("\\s+")[0];
            assertThat(sandbox.run("readlink /proc/" + pid + "/cwd").content()).isEqualTo("/opt");
            assertThat(sandbox.run("pwd").content()).isEqualTo("/workspace");
        }
        RuntimeConfig broken = RuntimeConfig.builder().type("remote").startupTimeout(Duration.ofSeconds(120))
                .backendConfig(dev.agentruntime.remote.RemoteRuntimeConfig.builder().apiUrl(GATEWAY.uri())
                        .apiKey(TestGateways.keyOf("cmd")).image(TestGateways.IMAGE)
                        .command(List.of("/bin/sh", "-c", "echo no server here; exit 3")).build()).build();
        assertThatThrownBy(() -> RuntimeFactory.connect(broken)).isInstanceOf(AgentRuntimeException.class)
                .hasMessageContaining("POST /start for session " + broken.sessionId() + " failed (HTTP 500)")
                .hasMessageContaining("no server here");
        assertThat(TestGateways.sandboxesOf("cmd")).isZero();
    }

    // -------------------------------------------------------------------------------------- reaping ---

    @Test
    void idleAndLongPausedSessionsAreReapedAndActiveOnesAreNot() throws Exception {
        RuntimeConfig idle = TestGateways.remote(GATEWAY.uri(), "sleepy").keepAlive(true)
                .option("pause.on.close", "false").build();
        RuntimeConfig paused = TestGateways.remote(GATEWAY.uri(), "sleepy").keepAlive(true).build();
        String idleRuntime;
        String pausedRuntime;
        try (Runtime first = RuntimeFactory.connect(idle); Runtime second = RuntimeFactory.connect(paused)) {
            first.run("echo used");
            idleRuntime = ((dev.agentruntime.remote.RemoteRuntime) first).runtimeId().orElseThrow();
            pausedRuntime = ((dev.agentruntime.remote.RemoteRuntime) second).runtimeId().orElseThrow();
        } // the first is left running, the second paused
        assertThat(GATEWAY.gateway().reapNow()).as("not idle for 10 s yet").isEmpty();
        Set<String> reaped = new java.util.HashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (reaped.size() < 2 && System.nanoTime() < deadline) {
            reaped.addAll(GATEWAY.gateway().reapNow());
            Thread.sleep(500); // polling a condition with a deadline
        }
        assertThat(reaped).containsExactlyInAnyOrder(idleRuntime, pausedRuntime);
        assertThat(TestGateways.sandboxesOf("sleepy")).isZero();
        assertThat(call("GET", "/metrics", null, null).raw().body())
                .contains("agent_runtime_gateway_reaped_total{tenant=\"sleepy\",reason=\"idle\"} 1")
                .contains("agent_runtime_gateway_reaped_total{tenant=\"sleepy\",reason=\"paused\"} 1");
    }
}
