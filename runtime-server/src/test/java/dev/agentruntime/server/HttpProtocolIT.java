package dev.agentruntime.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.server.ServerProcess.Obs;
import dev.agentruntime.server.ServerProcess.Response;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The HTTP side: authentication, the open endpoints, and bad input answered with 4xx JSON errors while the server
 * keeps serving. The server runs with a session key, as every OpenHands sandbox does.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpProtocolIT {

    private static final String KEY = "it-session-key-0123456789";

    private ServerProcess server;

    @BeforeAll
    void start() {
        server = ServerProcess.start(Map.of("SESSION_API_KEY", KEY));
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static String run(String command) {
        return "{\"action\": {\"message\": \"Running command: " + command + "\", \"action\": \"run\", \"args\": {\"command\": \""
                + command + "\", \"is_input\": false, \"thought\": \"\", \"blocking\": false, \"is_static\": false,"
                + " \"cwd\": null, \"hidden\": false, \"confirmation_state\": \"confirmed\", \"security_risk\": -1},"
                + " \"timeout\": 120.0}}";
    }

    @Test
    void aliveIs200AndOpenWithoutKey() {
        Response alive = server.send("GET", "/alive", null, false);

        assertThat(alive.status()).isEqualTo(200);
        assertThat(alive.contentType()).startsWith("application/json");
        assertThat(alive.json()).isEqualTo(ServerProcess.JSON.createObjectNode().put("status", "ok"));
    }

    @Test
    void serverInfoHasUptimeAndResources() {
        Response info = server.send("GET", "/server_info", null, false);

        assertThat(info.status()).isEqualTo(200);
        JsonNode body = info.json();
        assertThat(body.path("uptime").isNumber()).isTrue();
        assertThat(body.path("uptime").asDouble()).isPositive();
        assertThat(body.path("idle_time").isNumber()).isTrue();
        assertThat(body.path("idle_time").asDouble()).isGreaterThanOrEqualTo(0);
        JsonNode resources = body.path("resources");
        assertThat(resources.path("cpu_percent").isNumber()).isTrue();
        assertThat(resources.path("memory").path("rss").asLong()).isPositive();
        assertThat(resources.path("memory").has("vms")).isTrue();
        assertThat(resources.path("memory").has("percent")).isTrue();
        for (String field : List.of("total", "used", "free", "percent")) {
            assertThat(resources.path("disk").has(field)).as("disk.%s", field).isTrue();
        }
        assertThat(resources.path("io").has("read_bytes")).isTrue();
        assertThat(resources.path("io").has("write_bytes")).isTrue();
    }

    @Test
    void executeRequiresSessionKey() {
        JsonNode invalid = ServerProcess.JSON.createObjectNode().put("detail", "Invalid API Key");

        Response missing = server.send("POST", "/execute_action", run("echo no-key"), null, Duration.ofSeconds(30));
        assertThat(missing.status()).isEqualTo(403);
        assertThat(missing.contentType()).startsWith("application/json");
        assertThat(missing.json()).isEqualTo(invalid);

        Response wrong = server.send("POST", "/execute_action", run("echo wrong-key"), KEY + "x", Duration.ofSeconds(30));
        assertThat(wrong.status()).isEqualTo(403);
        assertThat(wrong.json()).isEqualTo(invalid);

        Response right = server.post("/execute_action", run("echo right-key"));
        assertThat(right.status()).isEqualTo(200);
        assertThat(right.json().path("content").asText()).isEqualTo("right-key");
    }

    @Test
    void malformedJsonIs400WithJsonDetail() {
        Response response = server.post("/execute_action", "{\"action\": {\"action\": \"run\", \"args\": ");

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.contentType()).startsWith("application/json");
        assertThat(response.json().path("detail").asText()).startsWith("Malformed JSON");
    }

    @Test
    void emptyBodyIs400() {
        Response response = server.post("/execute_action", "");

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().path("detail").isTextual()).isTrue();
    }

    @Test
    void unknownActionTypeIs4xx() {
        Response response = server.post("/execute_action", "{\"action\": {\"action\": \"teleport\", \"args\": {}}}");

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().path("detail").asText()).contains("teleport").contains("run");
    }

    @Test
    void missingActionObjectIs422() {
        Response response = server.post("/execute_action", "{\"command\": \"ls\"}");

        assertThat(response.status()).isEqualTo(422);
        assertThat(response.json().path("detail").asText()).contains("action");
    }

    @Test
    void missingCommandFieldIs422() {
        Response response = server.post("/execute_action", "{\"action\": {\"action\": \"run\", \"args\": {\"is_input\": false}}}");

        assertThat(response.status()).isEqualTo(422);
        assertThat(response.json().path("detail").asText()).contains("'command'");
    }

    static Stream<Arguments> wrongTypes() {
        return Stream.of(
                Arguments.of("command", "{\"action\": {\"action\": \"run\", \"args\": {\"command\": 42}}}"),
                Arguments.of("is_input", "{\"action\": {\"action\": \"run\", \"args\": {\"command\": \"ls\", \"is_input\": \"yes\"}}}"),
                Arguments.of("blocking", "{\"action\": {\"action\": \"run\", \"args\": {\"command\": \"ls\", \"blocking\": 1}}}"),
                Arguments.of("timeout", "{\"action\": {\"action\": \"run\", \"args\": {\"command\": \"ls\"}, \"timeout\": \"soon\"}}"),
                Arguments.of("args", "{\"action\": {\"action\": \"run\", \"args\": [\"ls\"]}}"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("wrongTypes")
    void wrongFieldTypeIs422(String field, String body) {
        Response response = server.post("/execute_action", body);

        assertThat(response.status()).isEqualTo(422);
        assertThat(response.json().path("detail").asText()).contains(field);
    }

    @Test
    void unknownFieldsAreTolerated() {
        String body = "{\"action\": {\"id\": 12, \"timestamp\": \"2025-01-27T23:16:56.951967\", \"source\": \"agent\","
                + " \"message\": \"Running command: echo tolerant\", \"action\": \"run\", \"cause\": 11,"
                + " \"tool_call_metadata\": {\"function_name\": \"execute_bash\", \"tool_call_id\": \"call_1\","
                + " \"model_response\": {}, \"total_calls_in_response\": 1}, \"llm_metrics\": null,"
                + " \"args\": {\"command\": \"echo tolerant\", \"is_input\": false, \"thought\": \"why not\","
                + " \"blocking\": false, \"is_static\": false, \"cwd\": null, \"hidden\": false,"
                + " \"confirmation_state\": \"confirmed\", \"security_risk\": 1, \"keep_prompt\": true,"
                + " \"some_future_flag\": {\"nested\": [1, 2]}}, \"timeout\": 120},"
                + " \"extra_top_level\": \"ignored\"}";

        Response response = server.post("/execute_action", body);

        assertThat(response.status()).isEqualTo(200);
        Obs obs = new Obs(response.json());
        assertThat(obs.type()).isEqualTo("run");
        assertThat(obs.content()).isEqualTo("tolerant");
        assertThat(obs.exitCode()).isZero();
    }

    @Test
    void unknownPathIs404Json() {
        Response response = server.get("/no/such/endpoint");

        assertThat(response.status()).isEqualTo(404);
        assertThat(response.contentType()).startsWith("application/json");
        assertThat(response.json().path("detail").asText()).startsWith("Not Found");
    }

    @Test
    void wrongMethodIs405() {
        Response get = server.get("/execute_action");
        assertThat(get.status()).isEqualTo(405);
        assertThat(get.headers().firstValue("Allow")).hasValue("POST");
        assertThat(get.json().path("detail").asText()).startsWith("Method Not Allowed");

        Response post = server.post("/alive", "{}");
        assertThat(post.status()).isEqualTo(405);
        assertThat(post.headers().firstValue("Allow")).hasValue("GET");
    }

    static Stream<Arguments> badRequests() {
        return Stream.of(
                Arguments.of("malformed JSON", "POST", "/execute_action", "{\"action\": ", 400),
                Arguments.of("not an object", "POST", "/execute_action", "[1, 2, 3]", 422),
                Arguments.of("unknown action", "POST", "/execute_action", "{\"action\": {\"action\": \"fly\"}}", 400),
                Arguments.of("missing field", "POST", "/execute_action", "{\"action\": {\"action\": \"run\", \"args\": {}}}", 422),
                Arguments.of("wrong type", "POST", "/execute_action", "{\"action\": {\"action\": \"run\", \"args\": {\"command\": true}}}", 422),
                Arguments.of("raw control character", "POST", "/execute_action", "{\"action\": \"\u0000\"}", 400),
                Arguments.of("unknown path", "GET", "/nope", null, 404),
                Arguments.of("wrong method", "DELETE", "/execute_action", null, 405));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badRequests")
    void serverKeepsServingAfterBadRequests(String name, String method, String path, String body, int status) {
        Response bad = server.send(method, path, body, true);
        assertThat(bad.status()).as(name).isEqualTo(status);
        assertThat(bad.json().path("detail").isTextual()).as("%s has a JSON detail", name).isTrue();

        Obs after = server.execute("echo still-serving");
        assertThat(after.content()).isEqualTo("still-serving");
        assertThat(after.exitCode()).isZero();
    }

    @Test
    void browseAnswersErrorObservation() {
        String body = "{\"action\": {\"message\": \"I am browsing the URL: https://www.example.com\", \"action\": \"browse\","
                + " \"args\": {\"url\": \"https://www.example.com\", \"thought\": \"\", \"security_risk\": -1,"
                + " \"return_axtree\": false}, \"timeout\": 120.0}}";

        Response response = server.post("/execute_action", body);

        assertThat(response.status()).isEqualTo(200);
        JsonNode obs = response.json();
        assertThat(obs.path("observation").asText()).isEqualTo("error");
        assertThat(obs.path("content").asText()).isNotEmpty();
        assertThat(obs.path("message").asText()).isEqualTo(obs.path("content").asText());
        assertThat(obs.path("extras").path("error_id").isTextual()).isTrue();
    }
}
