package dev.agentruntime.daytona.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.Secret;
import dev.agentruntime.daytona.DaytonaConfig;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every control-plane call against MockWebServer: method, path, query, headers and body as Daytona's API expects
 * them, and what the client makes of each answer, error paths included.
 */
class DaytonaApiRequestShapesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "dtn_test_key";

    private MockWebServer server;
    private DaytonaApi api;

    @BeforeEach
    void start() throws IOException {
        server = new MockWebServer();
        server.start();
        api = new DaytonaApi(config().build());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private DaytonaConfig.Builder config() {
        return DaytonaConfig.builder().apiUrl(server.url("/api").uri()).apiKey(Secret.of(KEY))
                .callTimeout(Duration.ofSeconds(10));
    }

    static MockResponse json(int code, String body) {
        return new MockResponse.Builder().code(code).setHeader("Content-Type", "application/json").body(body).build();
    }

    static String sandbox(String id, String state) {
        return "{\"id\":\"" + id + "\",\"organizationId\":\"org\",\"name\":\"" + id + "\",\"state\":\"" + state
                + "\",\"labels\":{\"a\":\"b\"},\"toolboxProxyUrl\":\"https://proxy.example/toolbox\","
                + "\"sandboxClass\":\"container\",\"errorReason\":null}";
    }

    private RecordedRequest take(String method, String path) throws InterruptedException {
        RecordedRequest request = server.takeRequest(5, TimeUnit.SECONDS);
        assertThat(request).as("a request " + method + " " + path).isNotNull();
        assertThat(request.getMethod() + " " + request.getUrl().encodedPath()).isEqualTo(method + " " + path);
        assertThat(request.getHeaders().get("Authorization")).isEqualTo("Bearer " + KEY);
        assertThat(request.getHeaders().get("X-Daytona-Source")).isEqualTo(DaytonaApi.SOURCE);
        assertThat(request.getHeaders().get("X-Daytona-SDK-Version")).isEqualTo(DaytonaApi.SDK_VERSION);
        assertThat(request.getHeaders().get("X-Daytona-Organization-ID")).isNull();
        return request;
    }

    private static JsonNode body(RecordedRequest request) throws IOException {
        assertThat(request.getHeaders().get("Content-Type")).startsWith("application/json");
        return JSON.readTree(request.getBody().utf8());
    }

    @Test
    void createPostsTheBodyAndParsesTheSandbox() throws Exception {
        server.enqueue(json(200, sandbox("sb-1", "creating")));
        DaytonaSandbox created = api.create((com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(
                "{\"snapshot\":\"snap\",\"labels\":{\"k\":\"v\"},\"autoStopInterval\":15}"), "s1");
        assertThat(created.id()).isEqualTo("sb-1");
        assertThat(created.state()).isEqualTo("creating");
        assertThat(created.toolboxProxyUrl()).hasValue("https://proxy.example/toolbox");
        assertThat(created.labels()).containsEntry("a", "b");
        assertThat(body(take("POST", "/api/sandbox"))).isEqualTo(JSON.readTree(
                "{\"snapshot\":\"snap\",\"labels\":{\"k\":\"v\"},\"autoStopInterval\":15}"));
    }

    @Test
    void aJwtIsSentWithTheOrganizationId() throws Exception {
        DaytonaApi jwt = new DaytonaApi(DaytonaConfig.builder().apiUrl(server.url("/api").uri())
                .jwtToken(Secret.of("jwt-token")).organizationId("org-7").build());
        server.enqueue(json(200, sandbox("sb-1", "started")));
        jwt.get("sb-1");
        RecordedRequest request = server.takeRequest(5, TimeUnit.SECONDS);
        assertThat(request.getHeaders().get("Authorization")).isEqualTo("Bearer jwt-token");
        assertThat(request.getHeaders().get("X-Daytona-Organization-ID")).isEqualTo("org-7");
    }

    @Test
    void getAndTheLifecycleCallsUseDaytonasPaths() throws Exception {
        server.enqueue(json(200, sandbox("sb-1", "started")));
        server.enqueue(json(200, sandbox("sb-1", "starting")));
        server.enqueue(json(200, sandbox("sb-1", "stopping")));
        server.enqueue(json(200, sandbox("sb-1", "pausing")));
        server.enqueue(new MockResponse.Builder().code(201).build());
        server.enqueue(json(200, sandbox("sb-1", "destroying")));
        assertThat(api.get("sb-1").state()).isEqualTo("started");
        api.start("sb-1");
        api.stop("sb-1");
        api.pause("sb-1");
        api.refreshActivity("sb-1");
        assertThat(api.delete("sb-1")).isTrue();
        take("GET", "/api/sandbox/sb-1");
        for (String action : List.of("start", "stop", "pause", "last-activity")) {
            RecordedRequest request = take("POST", "/api/sandbox/sb-1/" + action);
            assertThat(request.getBody().size()).isZero();
        }
        take("DELETE", "/api/sandbox/sb-1");
    }

    @Test
    void deletingAnUnknownSandboxSaysSo() throws Exception {
        server.enqueue(json(404, "{\"statusCode\":404,\"message\":\"Sandbox with ID or name sb-9 not found\","
                + "\"error\":\"Not Found\"}"));
        assertThat(api.delete("sb-9")).isFalse();
        take("DELETE", "/api/sandbox/sb-9");
    }

    @Test
    void aMissingSandboxIsNotFoundWithItsIdAndDaytonasMessage() {
        server.enqueue(json(404, "{\"path\":\"/api/sandbox/sb-9\",\"statusCode\":404,\"message\":\"Sandbox with ID or"
                + " name sb-9 not found\",\"error\":\"Not Found\"}"));
        assertThatThrownBy(() -> api.get("sb-9")).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining("sandbox sb-9").hasMessageContaining("Sandbox with ID or name sb-9 not found");
        server.enqueue(json(404, "{\"statusCode\":404,\"message\":\"not found\",\"error\":\"Not Found\"}"));
        assertThat(api.find("sb-8")).isEmpty();
    }

    @Test
    void refusedCredentialsNameWhatToCheck() {
        server.enqueue(json(401, "{\"statusCode\":401,\"message\":\"Unauthorized\",\"error\":\"Unauthorized\"}"));
        assertThatThrownBy(() -> api.get("sb-1")).isInstanceOf(BackendAuthenticationException.class)
                .hasMessageContaining("DAYTONA_API_KEY").hasMessageContaining("Unauthorized");
    }

    @Test
    void listSendsTheLabelsAsJsonAndFollowsTheCursor() throws Exception {
        server.enqueue(json(200, "{\"items\":[" + sandbox("sb-1", "started") + "],\"nextCursor\":\"c2\"}"));
        server.enqueue(json(200, "{\"items\":[" + sandbox("sb-2", "stopped") + "],\"nextCursor\":null}"));
        List<DaytonaSandbox> all = api.list(Map.of("dev.agentruntime.session-id", "s1",
                "dev.agentruntime.managed-by", "agent-runtime"));
        assertThat(all).extracting(DaytonaSandbox::id).containsExactly("sb-1", "sb-2");
        RecordedRequest first = take("GET", "/api/sandbox");
        assertThat(first.getUrl().queryParameter("limit")).isEqualTo("100");
        assertThat(JSON.readTree(first.getUrl().queryParameter("labels"))).isEqualTo(JSON.readTree(
                "{\"dev.agentruntime.managed-by\":\"agent-runtime\",\"dev.agentruntime.session-id\":\"s1\"}"));
        assertThat(first.getUrl().queryParameter("cursor")).isNull();
        RecordedRequest second = take("GET", "/api/sandbox");
        assertThat(second.getUrl().queryParameter("cursor")).isEqualTo("c2");
    }

    @Test
    void thePreviewUrlComesWithItsToken() throws Exception {
        server.enqueue(json(200, "{\"sandboxId\":\"sb-1\",\"url\":\"https://30000-sb-1.proxy.daytona.work\","
                + "\"token\":\"tok-1\"}"));
        DaytonaApi.Preview preview = api.previewUrl("sb-1", 30000);
        assertThat(preview.url()).hasToString("https://30000-sb-1.proxy.daytona.work");
        assertThat(preview.token().reveal()).isEqualTo("tok-1");
        assertThat(preview.toString()).doesNotContain("tok-1");
        take("GET", "/api/sandbox/sb-1/ports/30000/preview-url");
    }

    @Test
    void aSignedPreviewUrlAsksForItsLifetime() throws Exception {
        server.enqueue(json(200, "{\"sandboxId\":\"sb-1\",\"port\":50000,\"token\":\"t0k\","
                + "\"url\":\"https://50000-t0k.proxy.daytona.work\"}"));
        assertThat(api.signedPreviewUrl("sb-1", 50000, Duration.ofHours(24)))
                .hasToString("https://50000-t0k.proxy.daytona.work");
        RecordedRequest request = take("GET", "/api/sandbox/sb-1/ports/50000/signed-preview-url");
        assertThat(request.getUrl().queryParameter("expiresInSeconds")).isEqualTo("86400");
    }

    @Test
    void aPreviewAnswerWithoutATokenIsAnError() {
        server.enqueue(json(200, "{\"sandboxId\":\"sb-1\",\"url\":\"https://x\"}"));
        assertThatThrownBy(() -> api.previewUrl("sb-1", 1)).isInstanceOf(BackendException.class)
                .hasMessageContaining("no url or token");
    }

    @Test
    void waitingForStartedPollsUntilItIsStarted() throws Exception {
        server.enqueue(json(200, sandbox("sb-1", "creating")));
        server.enqueue(json(200, sandbox("sb-1", "starting")));
        server.enqueue(json(200, sandbox("sb-1", "started")));
        assertThat(api.awaitStarted("sb-1", Instant.now().plusSeconds(10)).state()).isEqualTo("started");
        assertThat(server.getRequestCount()).isEqualTo(3);
    }

    @Test
    void waitingFailsFastOnABuildFailureWithDaytonasReason() {
        server.enqueue(json(200, sandbox("sb-1", "pending_build")));
        server.enqueue(json(200, sandbox("sb-1", "build_failed").replace("\"errorReason\":null",
                "\"errorReason\":\"failed to pull image nosuch:latest\"")));
        assertThatThrownBy(() -> api.awaitStarted("sb-1", Instant.now().plusSeconds(30)))
                .isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining("sb-1").hasMessageContaining("build_failed")
                .hasMessageContaining("failed to pull image nosuch:latest").hasMessageContaining("Dockerfile");
        assertThat(server.getRequestCount()).isEqualTo(2);
    }

    @Test
    void waitingFailsFastOnError() {
        server.enqueue(json(200, sandbox("sb-1", "error").replace("\"errorReason\":null",
                "\"errorReason\":\"runner unreachable\"")));
        assertThatThrownBy(() -> api.awaitStarted("sb-1", Instant.now().plusSeconds(30)))
                .isInstanceOf(RuntimeStartupException.class).hasMessageContaining("runner unreachable");
    }

    @Test
    void waitingEndsAtTheDeadlineWithTheLastState() {
        for (int i = 0; i < 20; i++) {
            server.enqueue(json(200, sandbox("sb-1", "pulling_snapshot")));
        }
        assertThatThrownBy(() -> api.awaitStarted("sb-1", Instant.now().plusMillis(400)))
                .isInstanceOf(RuntimeTimeoutException.class).hasMessageContaining("pulling_snapshot");
    }

    @Test
    void aRateLimitedCreateWaitsWhatTheThrottlerSaidAndIsSentAgain() throws Exception {
        server.enqueue(new MockResponse.Builder().code(429).setHeader("Content-Type", "application/json")
                .setHeader("X-RateLimit-Limit-sandbox-create", "300")
                .setHeader("X-RateLimit-Remaining-sandbox-create", "0")
                .setHeader("X-RateLimit-Reset-sandbox-create", "1")
                .body("{\"statusCode\":429,\"message\":\"Rate limit exceeded\",\"error\":\"Too Many Requests\"}")
                .build());
        server.enqueue(json(200, sandbox("sb-1", "started")));
        long started = System.nanoTime();
        DaytonaSandbox created = api.create(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode(),
                "s1");
        long tookMs = (System.nanoTime() - started) / 1_000_000;
        assertThat(created.id()).isEqualTo("sb-1");
        assertThat(tookMs).as("waited the 1 s the throttler asked for").isGreaterThanOrEqualTo(950);
        take("POST", "/api/sandbox");
        take("POST", "/api/sandbox");
    }

    @Test
    void retryAfterPerThrottlerIsHonouredToo() throws Exception {
        server.enqueue(new MockResponse.Builder().code(429).setHeader("Retry-After-authenticated", "1")
                .body("{\"statusCode\":429,\"message\":\"Rate limit exceeded\"}").build());
        server.enqueue(json(200, sandbox("sb-1", "started")));
        long started = System.nanoTime();
        api.get("sb-1");
        assertThat((System.nanoTime() - started) / 1_000_000).isGreaterThanOrEqualTo(950);
        assertThat(server.getRequestCount()).isEqualTo(2);
    }

    @Test
    void aServerErrorOnCreateIsNotSentTwice() {
        server.enqueue(json(503, "{\"statusCode\":503,\"message\":\"Service Unavailable\"}"));
        server.enqueue(json(200, sandbox("sb-2", "started")));
        assertThatThrownBy(() -> api.create(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance
                .objectNode(), "s1")).isInstanceOf(BackendException.class)
                .hasMessageContaining("may have taken effect").hasMessageContaining("session s1");
        assertThat(server.getRequestCount()).isEqualTo(1);
    }

    @Test
    void aServerErrorOnAnIdempotentCallIsRetried() throws Exception {
        server.enqueue(json(503, "{\"statusCode\":503,\"message\":\"Service Unavailable\"}"));
        server.enqueue(json(200, sandbox("sb-1", "started")));
        assertThat(api.get("sb-1").state()).isEqualTo("started");
        assertThat(server.getRequestCount()).isEqualTo(2);
    }

    @Test
    void theToolboxProxyUrlIsAskedForWhenTheSandboxLacksIt() throws Exception {
        server.enqueue(json(200, "{\"url\":\"" + server.url("/toolbox") + "\"}"));
        DaytonaToolbox toolbox = api.toolbox(DaytonaSandbox.parse(JSON.readTree("{\"id\":\"sb-1\",\"state\":"
                + "\"started\"}")));
        take("GET", "/api/sandbox/sb-1/toolbox-proxy-url");
        assertThat(toolbox.baseUrl()).isEqualTo(server.url("/toolbox/sb-1").toString());
    }
}
