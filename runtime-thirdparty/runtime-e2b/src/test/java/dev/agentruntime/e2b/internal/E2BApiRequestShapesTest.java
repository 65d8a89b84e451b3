package dev.agentruntime.e2b.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.Secret;
import dev.agentruntime.e2b.E2BConfig;
import dev.agentruntime.internal.WireCodec;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every control-plane call and error path of {@link E2BApi}, on the wire: method, path, headers, body. */
class E2BApiRequestShapesTest {

    private static final String KEY = "e2b_0123456789abcdef";
    private MockWebServer server;
    private E2BApi api;

    @BeforeEach
    void start() throws IOException {
        server = new MockWebServer();
        server.start();
        api = new E2BApi(E2BConfig.builder().apiKey(Secret.of(KEY)).apiUrl(server.url("/").uri())
                .requestTimeout(Duration.ofSeconds(5)).build());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static MockResponse json(int code, String body) {
        return new MockResponse.Builder().code(code).setHeader("Content-Type", "application/json").body(body).build();
    }

    private RecordedRequest take() throws InterruptedException {
        RecordedRequest request = server.takeRequest(5, TimeUnit.SECONDS);
        assertThat(request).as("a request reached the server").isNotNull();
        assertThat(request.getHeaders().get("X-API-KEY")).isEqualTo(KEY);
        return request;
    }

    private static JsonNode body(RecordedRequest request) {
        return WireCodec.parse(request.getBody().utf8());
    }

    private static final String SANDBOX = "{\"templateID\":\"base\",\"sandboxID\":\"i1abc\",\"clientID\":\"c\","
            + "\"envdVersion\":\"0.5.8\",\"envdAccessToken\":\"envd-token\",\"trafficAccessToken\":\"traffic-token\","
            + "\"domain\":\"e2b.app\"}";

    @Test
    void createPostsTheTemplateTimeoutMetadataEnvAndNetworkToV2() throws Exception {
        server.enqueue(json(201, SANDBOX));
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("dev.agentruntime.session-id", "s-1");
        E2BApi.Sandbox sandbox = api.create(new E2BApi.CreateRequest("my-template", Duration.ofMinutes(5), true,
                metadata, Map.of("A", "1"), Optional.of(false), Optional.of(false), List.of("10.0.0.0/8"),
                List.of("0.0.0.0/0")));

        assertThat(sandbox.sandboxId()).isEqualTo("i1abc");
        assertThat(sandbox.envdVersion()).isEqualTo("0.5.8");
        assertThat(sandbox.envdToken()).contains(Secret.of("envd-token"));
        assertThat(sandbox.trafficToken()).contains(Secret.of("traffic-token"));
        assertThat(sandbox.domain()).contains("e2b.app");
        assertThat(sandbox.toString()).doesNotContain("envd-token").doesNotContain("traffic-token");
        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getUrl().encodedPath()).isEqualTo("/v2/sandboxes");
        assertThat(request.getHeaders().get("Content-Type")).startsWith("application/json");
        assertThat(body(request)).isEqualTo(WireCodec.parse("{\"templateID\":\"my-template\",\"timeout\":300,"
                + "\"autoPause\":true,\"metadata\":{\"dev.agentruntime.session-id\":\"s-1\"},\"envVars\":{\"A\":\"1\"},"
                + "\"allow_internet_access\":false,\"network\":{\"allowPublicTraffic\":false,"
                + "\"allowOut\":[\"10.0.0.0/8\"],\"denyOut\":[\"0.0.0.0/0\"]}}"));
    }

    @Test
    void createLeavesOutNetworkSettingsNobodyAskedFor() throws Exception {
        server.enqueue(json(201, SANDBOX));
        api.create(new E2BApi.CreateRequest("base", Duration.ofMillis(1500), false, Map.of(), Map.of(),
                Optional.empty(), Optional.empty(), List.of(), List.of()));
        JsonNode body = body(take());
        assertThat(body.has("network")).isFalse();
        assertThat(body.has("allow_internet_access")).isFalse();
        assertThat(body.get("timeout").asInt()).as("whole seconds, rounded up").isEqualTo(2);
    }

    @Test
    void aRateLimitedCreateIsRetriedAfterTheWaitE2BAskedFor() throws Exception {
        server.enqueue(new MockResponse.Builder().code(429).setHeader("Retry-After", "0")
                .body("{\"code\":429,\"message\":\"rate limit exceeded\"}").build());
        server.enqueue(json(201, SANDBOX));
        assertThat(api.create(new E2BApi.CreateRequest("base", Duration.ofMinutes(1), false, Map.of(), Map.of(),
                Optional.empty(), Optional.empty(), List.of(), List.of())).sandboxId()).isEqualTo("i1abc");
        assertThat(take().getUrl().encodedPath()).isEqualTo("/v2/sandboxes");
        assertThat(take().getUrl().encodedPath()).isEqualTo("/v2/sandboxes");
    }

    @Test
    void aFailedCreateIsNotSentTwiceAndKeepsE2BsErrorCode() throws Exception {
        server.enqueue(json(503, "{\"code\":503,\"message\":\"no capacity\",\"error_code\":"
                + "\"sandbox_capacity_unavailable\"}"));
        assertThatThrownBy(() -> api.create(new E2BApi.CreateRequest("base", Duration.ofMinutes(1), false, Map.of(),
                Map.of(), Optional.empty(), Optional.empty(), List.of(), List.of())))
                .isInstanceOf(BackendException.class)
                .hasMessageContaining("POST /v2/sandboxes")
                .hasMessageContaining("no capacity [503, sandbox_capacity_unavailable]")
                .hasMessageContaining("not retried");
        take();
        assertThat(server.getRequestCount()).isEqualTo(1);
    }

    @Test
    void aRefusedKeyIsAnAuthenticationErrorThatSaysWhatToCheck() throws Exception {
        server.enqueue(json(401, "{\"code\":401,\"message\":\"Invalid API key\"}"));
        assertThatThrownBy(() -> api.get("i1abc")).isInstanceOf(BackendAuthenticationException.class)
                .hasMessageContaining("for sandbox i1abc").hasMessageContaining("E2B_API_KEY")
                .hasMessageNotContaining(KEY);
        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("GET");
        assertThat(request.getUrl().encodedPath()).isEqualTo("/sandboxes/i1abc");
    }

    @Test
    void getReadsStateAndMetadata() throws Exception {
        server.enqueue(json(200, "{\"templateID\":\"base\",\"sandboxID\":\"i1abc\",\"state\":\"paused\","
                + "\"metadata\":{\"k\":\"v\"},\"endAt\":\"2026-12-02T17:00:00Z\"}"));
        E2BApi.Listed listed = api.get("i1abc");
        assertThat(listed.state()).isEqualTo("paused");
        assertThat(listed.metadata()).containsEntry("k", "v");
        assertThat(listed.endAt()).contains("2026-12-02T17:00:00Z");
        take();
    }

    @Test
    void listFiltersByMetadataAndFollowsTheCursor() throws Exception {
        server.enqueue(new MockResponse.Builder().code(200).setHeader("X-Next-Token", "page-2")
                .body("[{\"sandboxID\":\"a\",\"templateID\":\"base\",\"state\":\"running\",\"metadata\":{}}]").build());
        server.enqueue(json(200, "[{\"sandboxID\":\"b\",\"templateID\":\"base\",\"state\":\"paused\"}]"));
        Map<String, String> filter = new LinkedHashMap<>();
        filter.put("dev.agentruntime.managed-by", "agent-runtime");
        filter.put("dev.agentruntime.session-id", "s 1");
        List<E2BApi.Listed> all = api.list(filter);
        assertThat(all).extracting(E2BApi.Listed::sandboxId).containsExactly("a", "b");

        RecordedRequest first = take();
        assertThat(first.getMethod()).isEqualTo("GET");
        assertThat(first.getUrl().encodedPath()).isEqualTo("/v2/sandboxes");
        assertThat(first.getUrl().queryParameter("metadata"))
                .isEqualTo("dev.agentruntime.managed-by=agent-runtime&dev.agentruntime.session-id=s%2520"
                        + "1");
        assertThat(first.getUrl().queryParameter("state")).isEqualTo("running,paused");
        assertThat(first.getUrl().queryParameter("limit")).isEqualTo("100");
        assertThat(first.getUrl().queryParameter("nextToken")).isNull();
        RecordedRequest second = take();
        assertThat(second.getUrl().queryParameter("nextToken")).isEqualTo("page-2");
        assertThat(second.getUrl().queryParameter("metadata")).isEqualTo(first.getUrl().queryParameter("metadata"));
    }

    @Test
    void pauseIsA204AndAlreadyPausedIsNotAnError() throws Exception {
        server.enqueue(new MockResponse.Builder().code(204).build());
        server.enqueue(json(409, "{\"code\":409,\"message\":\"Sandbox i1abc is already paused\"}"));
        assertThat(api.pause("i1abc")).isTrue();
        assertThat(api.pause("i1abc")).isFalse();
        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getUrl().encodedPath()).isEqualTo("/sandboxes/i1abc/pause");
        take();
    }

    @Test
    void connectResumesWithTheTimeoutAndReturnsFreshTokens() throws Exception {
        server.enqueue(json(201, SANDBOX));
        E2BApi.Sandbox resumed = api.connect("i1abc", Duration.ofMinutes(2));
        assertThat(resumed.envdToken()).contains(Secret.of("envd-token"));
        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getUrl().encodedPath()).isEqualTo("/v2/sandboxes/i1abc/connect");
        assertThat(body(request)).isEqualTo(WireCodec.parse("{\"timeout\":120}"));
    }

    @Test
    void connectToAGoneSandboxSaysSo() throws Exception {
        server.enqueue(json(404, "{\"code\":404,\"message\":\"sandbox \\\"i1abc\\\" doesn't exist\"}"));
        assertThatThrownBy(() -> api.connect("i1abc", Duration.ofMinutes(2)))
                .isInstanceOf(RuntimeNotFoundException.class).hasMessageContaining("for sandbox i1abc")
                .hasMessageContaining("doesn't exist");
        take();
    }

    @Test
    void setTimeoutPostsSecondsFromNow() throws Exception {
        server.enqueue(new MockResponse.Builder().code(204).build());
        api.setTimeout("i1abc", Duration.ofMinutes(10));
        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getUrl().encodedPath()).isEqualTo("/sandboxes/i1abc/timeout");
        assertThat(body(request)).isEqualTo(WireCodec.parse("{\"timeout\":600}"));
    }

    @Test
    void killIsADeleteAndAMissingSandboxIsFalse() throws Exception {
        server.enqueue(new MockResponse.Builder().code(204).build());
        server.enqueue(json(404, "{\"code\":404,\"message\":\"not found\"}"));
        assertThat(api.kill("i1abc")).isTrue();
        assertThat(api.kill("i1abc")).isFalse();
        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("DELETE");
        assertThat(request.getUrl().encodedPath()).isEqualTo("/sandboxes/i1abc");
        assertThat(request.getBody() == null || request.getBody().size() == 0).isTrue();
        take();
    }

    @Test
    void aListPageThatFailedOnTheServerIsAskedForAgain() throws Exception {
        server.enqueue(json(503, "{\"code\":503,\"message\":\"try again\"}"));
        server.enqueue(json(200, "[{\"sandboxID\":\"a\",\"templateID\":\"base\",\"state\":\"running\"}]"));
        assertThat(api.list(Map.of("k", "v"))).extracting(E2BApi.Listed::sandboxId).containsExactly("a");
        assertThat(take().getUrl().encodedPath()).isEqualTo("/v2/sandboxes");
        assertThat(take().getUrl().queryParameter("metadata")).isEqualTo("k=v");
    }

    @Test
    void serverErrorsOfIdempotentCallsAreRetried() throws Exception {
        server.enqueue(json(502, "{\"code\":502,\"message\":\"bad gateway\"}"));
        server.enqueue(new MockResponse.Builder().code(204).build());
        api.setTimeout("i1abc", Duration.ofMinutes(1));
        take();
        take();
        assertThat(server.getRequestCount()).isEqualTo(2);
    }
}
