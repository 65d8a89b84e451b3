package dev.agentruntime.thirdparty.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.BackendConflictException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.Secret;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import mockwebserver3.SocketEffect;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class VendorHttpTest {

    private MockWebServer server;
    private VendorHttp http;

    @BeforeEach
    void start() throws IOException {
        server = new MockWebServer();
        server.start();
        http = VendorHttp.builder("Acme", server.url("/api/").uri()).secretHeader("X-API-Key", Secret.of("k-1"))
                .header("User-Agent", "agent-runtime-test").checkHint("Check ACME_API_KEY.")
                .callTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static MockResponse json(int code, String body) {
        return new MockResponse.Builder().code(code).setHeader("Content-Type", "application/json").body(body).build();
    }

    private RecordedRequest take() throws InterruptedException {
        return server.takeRequest(5, TimeUnit.SECONDS);
    }

    @Test
    void aCallCarriesItsHeadersAndBodyAndReturnsTheJsonAnswer() throws Exception {
        server.enqueue(json(201, "{\"sandboxID\": \"sb-1\"}"));
        JsonNode answer = http.json("POST", http.url("v2/sandboxes"), VendorHttp.object().put("templateID", "base"),
                null, false, Map.of("Idempotency-Key", "ik-1"));
        assertThat(answer.get("sandboxID").asText()).isEqualTo("sb-1");
        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getUrl().encodedPath()).isEqualTo("/api/v2/sandboxes");
        assertThat(request.getHeaders().get("X-API-Key")).isEqualTo("k-1");
        assertThat(request.getHeaders().get("User-Agent")).isEqualTo("agent-runtime-test");
        assertThat(request.getHeaders().get("Idempotency-Key")).isEqualTo("ik-1");
        assertThat(request.getHeaders().get("Content-Type")).startsWith("application/json");
        assertThat(request.getBody().utf8()).isEqualTo("{\"templateID\":\"base\"}");
    }

    @Test
    void answersMapOntoTheKitsErrors() {
        server.enqueue(json(401, "{\"code\": 401, \"message\": \"Invalid API key\"}"));
        assertThatThrownBy(() -> http.get(http.url("sandboxes"), null)).isInstanceOf(BackendAuthenticationException.class)
                .hasMessage("Acme GET /api/sandboxes was refused (HTTP 401: Invalid API key [401]). Check ACME_API_KEY.");
        server.enqueue(json(404, "{\"message\": \"sandbox sb-9 not found\"}"));
        assertThatThrownBy(() -> http.get(http.url("sandboxes/sb-9"), "sb-9")).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining("for sandbox sb-9");
        server.enqueue(json(409, "{\"message\": \"sandbox is paused\"}"));
        assertThatThrownBy(() -> http.json("POST", http.url("sandboxes/sb-9/pause"), null, "sb-9", false, Map.of()))
                .isInstanceOf(BackendConflictException.class).hasMessageContaining("sandbox is paused");
        server.enqueue(new MockResponse.Builder().body("<html>not json</html>").build());
        assertThatThrownBy(() -> http.get(http.url("sandboxes"), null)).isInstanceOf(BackendException.class)
                .hasMessageContaining("not JSON");
    }

    @Test
    void idempotentCallsAreRetriedWaitingWhatTheVendorAsked() throws Exception {
        server.enqueue(new MockResponse.Builder().code(503).setHeader("retry-after-ms", "20").build());
        server.enqueue(new MockResponse.Builder().code(502).build());
        server.enqueue(json(200, "{\"ok\": true}"));
        assertThat(http.get(http.url("sandboxes"), null).get("ok").asBoolean()).isTrue();
        assertThat(server.getRequestCount()).isEqualTo(3);
    }

    @Test
    void aCallThatMayHaveRunIsNotSentTwiceButA429Is() throws Exception {
        server.enqueue(json(503, "{\"message\": \"busy\"}"));
        assertThatThrownBy(() -> http.json("POST", http.url("sandboxes"), VendorHttp.object(), null, false, Map.of()))
                .isInstanceOf(BackendException.class).hasMessageContaining("not retried");
        assertThat(server.getRequestCount()).isEqualTo(1);

        server.enqueue(new MockResponse.Builder().code(429).setHeader("Retry-After", "0").build());
        server.enqueue(json(201, "{}"));
        http.json("POST", http.url("sandboxes"), VendorHttp.object(), null, false, Map.of());
        assertThat(server.getRequestCount()).isEqualTo(3);
    }

    @Test
    void aVendorsRetryRuleOverridesTheDefaultMapping() throws Exception {
        VendorHttp ruled = VendorHttp.builder("Acme", server.url("/api/").uri()).callTimeout(Duration.ofSeconds(5))
                .retryRule((status, header) -> "true".equals(header.apply("x-should-retry")) ? java.util.Optional.of(true)
                        : "false".equals(header.apply("x-should-retry")) ? java.util.Optional.of(false)
                        : status == 409 ? java.util.Optional.of(true) : java.util.Optional.empty())
                .build();
        server.enqueue(json(409, "{\"message\": \"lock timeout\"}"));
        server.enqueue(new MockResponse.Builder().code(400).setHeader("x-should-retry", "true").build());
        server.enqueue(json(200, "{\"ok\": true}"));
        assertThat(ruled.json("POST", ruled.url("things"), null, null, true, Map.of()).get("ok").asBoolean()).isTrue();
        assertThat(server.getRequestCount()).isEqualTo(3);

        server.enqueue(new MockResponse.Builder().code(503).setHeader("x-should-retry", "false").build());
        assertThatThrownBy(() -> ruled.get(ruled.url("things"), null)).isInstanceOf(BackendException.class)
                .matches(e -> !((BackendException) e).isTransient(), "not transient");
        assertThat(server.getRequestCount()).as("x-should-retry: false is obeyed").isEqualTo(4);
    }

    @Test
    void connectionFailuresAndSilenceBecomeTypedErrors() throws Exception {
        int closed;
        try (ServerSocket socket = new ServerSocket(0)) {
            closed = socket.getLocalPort();
        }
        VendorHttp nowhere = VendorHttp.builder("Acme", URI.create("http://127.0.0.1:" + closed + "/")).attempts(1)
                .build();
        assertThatThrownBy(() -> nowhere.get(nowhere.url("x"), null)).isInstanceOf(RuntimeUnavailableException.class)
                .hasMessageContaining("cannot connect to 127.0.0.1:" + closed);

        VendorHttp impatient = VendorHttp.builder("Acme", server.url("/").uri()).attempts(1)
                .callTimeout(Duration.ofMillis(300)).build();
        server.enqueue(new MockResponse.Builder().onResponseStart(SocketEffect.Stall.INSTANCE).build());
        assertThatThrownBy(() -> impatient.get(impatient.url("slow"), "sb-1"))
                .isInstanceOf(RuntimeTimeoutException.class).hasMessageContaining("did not answer within 300 ms");
    }

    @Test
    void secretLookingFieldsAreRedactedForTheLogs() {
        assertThat(VendorHttp.redact("{\"sandboxID\":\"sb\",\"envdAccessToken\":\"tok-1\",\"trafficAccessToken\": \"t2\","
                + "\"api_key\":\"k\",\"password\":\"p\"}"))
                .doesNotContain("tok-1").doesNotContain("\"t2\"").doesNotContain("\"k\"").doesNotContain("\"p\"")
                .contains("\"sandboxID\":\"sb\"");
    }
}
