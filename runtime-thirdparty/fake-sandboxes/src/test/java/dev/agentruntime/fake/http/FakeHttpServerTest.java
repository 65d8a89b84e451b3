package dev.agentruntime.fake.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The fakes' HTTP kit on a real socket: routes, JSON and validation in a vendor's shape, h2c, injected faults. */
class FakeHttpServerTest {

    /** Daytona's shape, as an example of a vendor's own error body. */
    private static final ErrorShape SHAPE = (status, message) -> Map.of("statusCode", status, "message", message,
            "error", status == 404 ? "Not Found" : "Error");

    private FakeHttpServer server;
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() {
        Validator validator = new Validator(SHAPE, 400);
        Routes routes = new Routes(SHAPE)
                .post("/sandbox", ex -> {
                    JsonNode body = validator.object(ex.json());
                    String snapshot = validator.requireString(body, "snapshot");
                    int cpu = validator.optionalInt(body, "cpu", 1, 8).orElse(1);
                    Map<String, String> labels = validator.optionalStringMap(body, "labels");
                    ex.respond(200, Map.of("snapshot", snapshot, "cpu", cpu, "labels", labels));
                })
                .get("/sandbox/{id}", ex -> {
                    if (ex.pathParam("id").equals("gone")) {
                        throw HttpError.of(SHAPE, 404, "Sandbox gone not found");
                    }
                    ex.respond(200, Map.of("id", ex.pathParam("id"), "verbose", ex.query("verbose").orElse("no")));
                })
                .get("/files/{path*}", ex -> ex.respond(200, Map.of("path", ex.pathParam("path"))))
                .get("/boom", ex -> {
                    throw new IllegalStateException("kaput");
                })
                .get("/stream", ex -> {
                    try (OutputStream out = ex.stream(200, "text/plain")) {
                        for (int i = 0; i < 3; i++) {
                            out.write(("part" + i + "\n").getBytes(StandardCharsets.UTF_8));
                            out.flush();
                        }
                    }
                })
                .delete("/sandbox/{id}", ex -> ex.empty(204));
        server = FakeHttpServer.builder("test").handler(routes).start();
    }

    @AfterEach
    void stop() {
        server.close();
        server.close();
    }

    private HttpResponse<String> send(String method, String path, String body, Map<String, String> headers)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(server.uri().resolve(path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(request::header);
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return send("GET", path, null, Map.of());
    }

    private static JsonNode json(HttpResponse<String> response) {
        return Json.parse(response.body()).orElseThrow(() -> new AssertionError("not JSON: " + response.body()));
    }

    @Test
    void routesMatchTemplatesAndAnswerJson() throws Exception {
        assertThat(server.uri().getHost()).isEqualTo("127.0.0.1");
        HttpResponse<String> created = send("POST", "/sandbox", "{\"snapshot\":\"base\",\"cpu\":2,"
                + "\"labels\":{\"a\":\"b\"}}", Map.of("Content-Type", "application/json"));
        assertThat(created.statusCode()).isEqualTo(200);
        assertThat(created.headers().firstValue("content-type")).contains("application/json");
        assertThat(json(created).toString()).contains("\"snapshot\":\"base\"", "\"cpu\":2", "\"a\":\"b\"");
        assertThat(json(get("/sandbox/abc?verbose=yes")).get("verbose").asText()).isEqualTo("yes");
        assertThat(json(get("/sandbox/a%20b")).get("id").asText()).isEqualTo("a b");
        assertThat(json(get("/files/home/user/a.txt")).get("path").asText()).isEqualTo("home/user/a.txt");
        assertThat(send("DELETE", "/sandbox/abc", null, Map.of()).statusCode()).isEqualTo(204);
        assertThat(get("/stream").body()).isEqualTo("part0\npart1\npart2\n");
    }

    @Test
    void errorsUseTheVendorsShape() throws Exception {
        HttpResponse<String> unknown = get("/nothing/here");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown).get("message").asText()).isEqualTo("no route for GET /nothing/here");
        assertThat(json(unknown).get("statusCode").asInt()).isEqualTo(404);
        assertThat(send("PUT", "/sandbox/abc", "{}", Map.of()).statusCode()).isEqualTo(405);
        HttpResponse<String> gone = get("/sandbox/gone");
        assertThat(gone.statusCode()).isEqualTo(404);
        assertThat(json(gone).get("message").asText()).isEqualTo("Sandbox gone not found");
        HttpResponse<String> boom = get("/boom");
        assertThat(boom.statusCode()).isEqualTo(500);
        assertThat(json(boom).get("message").asText()).isEqualTo("internal error: kaput");
        assertThat(get("/sandbox/still-serving").statusCode()).isEqualTo(200);
    }

    @Test
    void badBodiesAreRejectedWithTheReason() throws Exception {
        assertBad("", "request body is missing");
        assertBad("{not json", "request body is not valid JSON");
        assertBad("[1]", "request body must be a JSON object");
        assertBad("{}", "'snapshot' is required");
        assertBad("{\"snapshot\":3}", "'snapshot' must be a string");
        assertBad("{\"snapshot\":\"s\",\"cpu\":99}", "'cpu' must be between 1 and 8, was 99");
        assertBad("{\"snapshot\":\"s\",\"cpu\":\"x\"}", "'cpu' must be an integer");
        assertBad("{\"snapshot\":\"s\",\"labels\":{\"a\":1}}", "'labels.a' must be a string");
    }

    private void assertBad(String body, String message) throws Exception {
        HttpResponse<String> response = send("POST", "/sandbox", body, Map.of());
        assertThat(response.statusCode()).as(body).isEqualTo(400);
        assertThat(json(response).get("message").asText()).isEqualTo(message);
    }

    @Test
    void speaksH2cByUpgradeAndPriorKnowledge() throws Exception {
        HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        HttpResponse<String> upgraded = h2.send(HttpRequest.newBuilder(server.uri().resolve("/sandbox/x")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(upgraded.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(json(upgraded).get("id").asText()).isEqualTo("x");
        // prior knowledge: the HTTP/2 preface straight away
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.port())) {
            socket.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // empty SETTINGS
            socket.getOutputStream().flush();
            byte[] frame = socket.getInputStream().readNBytes(9);
            assertThat(frame[3]).as("first server frame is SETTINGS").isEqualTo((byte) 4);
        }
    }

    @Test
    void faultsAnswerForTheNextMatchingRequestsThenStop() throws Exception {
        Fault limited = server.faults().on("GET", "/sandbox/.*").times(2).header("Retry-After", "1")
                .respond(429, Map.of("statusCode", 429, "message", "Rate limit exceeded"));
        assertThat(get("/files/x").statusCode()).isEqualTo(200); // does not match
        HttpResponse<String> first = get("/sandbox/a");
        assertThat(first.statusCode()).isEqualTo(429);
        assertThat(first.headers().firstValue("retry-after")).contains("1");
        assertThat(json(first).get("message").asText()).isEqualTo("Rate limit exceeded");
        assertThat(get("/sandbox/a").statusCode()).isEqualTo(429);
        assertThat(get("/sandbox/a").statusCode()).isEqualTo(200);
        assertThat(limited.fired()).isEqualTo(2);
        assertThat(server.faults().pending()).isEmpty();
    }

    @Test
    void faultsHoldDropAndFail() throws Exception {
        server.faults().on("GET", "/sandbox/slow").hold(Duration.ofMillis(400));
        long t0 = System.nanoTime();
        HttpResponse<String> held = get("/sandbox/slow");
        assertThat(held.statusCode()).isEqualTo(200);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(400));

        // POST: the JDK client would silently retry a GET on a fresh connection
        server.faults().on("POST", "/sandbox").drop();
        assertThatThrownBy(() -> send("POST", "/sandbox", "{\"snapshot\":\"s\"}", Map.of()))
                .isInstanceOf(IOException.class);
        assertThat(send("POST", "/sandbox", "{\"snapshot\":\"s\"}", Map.of()).statusCode()).isEqualTo(200);

        server.faults().on("GET", "/sandbox/late").after(Duration.ofMillis(200)).respond(503, Map.of("x", 1));
        assertThat(get("/sandbox/late").statusCode()).isEqualTo(503);

        Fault grpc = server.faults().on("UNAVAILABLE on create", r -> r.path().endsWith("/SandboxCreate"))
                .always().fail("UNAVAILABLE");
        FaultRequest call = new FaultRequest("POST", "/modal.client.ModalClient/SandboxCreate",
                Map.of("x-modal-token-id", "ak-1"));
        assertThat(server.faults().take(call)).hasValueSatisfying(f -> assertThat(f.code()).contains("UNAVAILABLE"));
        assertThat(server.faults().take(call)).isPresent();
        assertThat(grpc.fired()).isEqualTo(2);
        server.faults().clear();
        assertThat(server.faults().take(call)).isEmpty();
    }

    @Test
    void unknownFaultTargetsDoNotTouchOtherRequests() throws Exception {
        server.faults().on("POST", "/sandbox").always().respond(500, Map.of());
        assertThat(get("/sandbox/ok").statusCode()).isEqualTo(200);
        assertThat(URI.create(server.uri() + "/x").getPort()).isEqualTo(server.port());
    }
}
