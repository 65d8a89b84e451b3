package dev.agentruntime.fake.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.agentruntime.fake.EchoServer;
import dev.agentruntime.fake.TestStreams;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Optional;
import org.eclipse.jetty.server.Handler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The proxy on real sockets in front of a local backend: header routing, the auth hook, header hygiene, 502 in the
 * fake's shape, and a 1 GiB body each way through a JVM whose heap is far smaller.
 */
class SandboxProxyTest {

    private HttpServer backend;
    private int closedPort;
    private FakeHttpServer server;
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() throws Exception {
        backend = EchoServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = probe.getLocalPort(); // free again once closed: nothing listens there
        }
        // E2B-like: header routing, a traffic token per sandbox
        SandboxProxy proxy = SandboxProxy.builder()
                .router(request -> {
                    String id = request.getHeaders().get("E2b-Sandbox-Id");
                    if (id == null) {
                        return Optional.empty();
                    }
                    if (!id.equals("sbx1")) {
                        throw HttpError.json(404, Map.of("code", 404, "message", "sandbox " + id + " not found"));
                    }
                    int port = Integer.parseInt(request.getHeaders().get("E2b-Sandbox-Port"));
                    int target = port == 49983 ? backend.getAddress().getPort() : closedPort;
                    return Optional.of(new SandboxProxy.Route(id, new InetSocketAddress("127.0.0.1", target)));
                })
                .authorizer((request, route) -> {
                    if (!"secret".equals(request.getHeaders().get("e2b-traffic-access-token"))) {
                        throw HttpError.json(403, Map.of("code", 403, "message", "bad traffic token"));
                    }
                })
                .unreachable((route, failure) -> HttpError.json(502, Map.of("sandboxId", route.sandboxId(),
                        "message", "The sandbox is running but port is not open", "port", route.target().getPort())))
                .removeRequestHeaders("e2b-traffic-access-token")
                .build();
        Routes api = new Routes(ErrorShape.codeAndMessage()).get("/health", ex -> ex.empty(204));
        server = FakeHttpServer.builder("proxy-test").handler(new Handler.Sequence(proxy, api)).start();
    }

    @AfterEach
    void stop() {
        server.close();
        backend.stop(0);
    }

    private HttpRequest.Builder toSandbox(String path, int port) {
        return HttpRequest.newBuilder(server.uri().resolve(path)).header("E2b-Sandbox-Id", "sbx1")
                .header("E2b-Sandbox-Port", Integer.toString(port)).header("e2b-traffic-access-token", "secret");
    }

    private static JsonNode json(HttpResponse<String> response) {
        return Json.parse(response.body()).orElseThrow(() -> new AssertionError("not JSON: " + response.body()));
    }

    @Test
    void forwardsMethodPathQueryAndHeadersButNotTokensOrHopByHopOnes() throws Exception {
        HttpResponse<String> response = client.send(toSandbox("/headers?x=1&y=%20", 49983)
                .method("PATCH", HttpRequest.BodyPublishers.noBody()).header("X-Custom", "kept")
                .header("Proxy-Authorization", "Basic eDp5").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode seen = json(response);
        assertThat(seen.get("method").asText()).isEqualTo("PATCH");
        assertThat(seen.get("path").asText()).isEqualTo("/headers?x=1&y=%20");
        assertThat(seen.get("x-custom").asText()).isEqualTo("kept");
        assertThat(seen.get("e2b-sandbox-id").asText()).isEqualTo("sbx1");
        assertThat(seen.has("e2b-traffic-access-token")).as("the token stays at the proxy").isFalse();
        assertThat(seen.has("proxy-authorization")).as("hop-by-hop").isFalse();
    }

    @Test
    void requestsTheRouterDeclinesReachTheFakesOwnRoutes() throws Exception {
        HttpResponse<String> own = client.send(HttpRequest.newBuilder(server.uri().resolve("/health")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(own.statusCode()).isEqualTo(204);
    }

    @Test
    void routerAndAuthorizerErrorsAreAnsweredAsThrown() throws Exception {
        HttpResponse<String> unknown = client.send(HttpRequest.newBuilder(server.uri().resolve("/headers"))
                .header("E2b-Sandbox-Id", "nope").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown).get("message").asText()).isEqualTo("sandbox nope not found");
        HttpResponse<String> forbidden = client.send(HttpRequest.newBuilder(server.uri().resolve("/headers"))
                .header("E2b-Sandbox-Id", "sbx1").header("E2b-Sandbox-Port", "49983").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(forbidden.statusCode()).isEqualTo(403);
        assertThat(json(forbidden).get("message").asText()).isEqualTo("bad traffic token");
    }

    @Test
    void aClosedPortAnswers502WithTheFakesBody() throws Exception {
        HttpResponse<String> refused = client.send(toSandbox("/anything", 8080).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(refused.statusCode()).isEqualTo(502);
        assertThat(refused.headers().firstValue("content-type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/json"));
        assertThat(json(refused).get("message").asText()).isEqualTo("The sandbox is running but port is not open");
        assertThat(json(refused).get("sandboxId").asText()).isEqualTo("sbx1");
    }

    @Test
    void aGibibyteStreamsEachWayWithASmallHeap() throws Exception {
        long size = 1L << 30;
        assertThat(Runtime.getRuntime().maxMemory()).as("heap must be far below the body").isLessThan(size / 4);
        // up, chunked (length unknown to the client)
        MessageDigest sent = TestStreams.sha256();
        long t0 = System.nanoTime();
        HttpResponse<String> up = client.send(toSandbox("/sink", 49983).POST(HttpRequest.BodyPublishers.ofInputStream(
                () -> new TestStreams.Generated(size, sent))).build(), HttpResponse.BodyHandlers.ofString());
        long t1 = System.nanoTime();
        assertThat(up.statusCode()).isEqualTo(200);
        assertThat(json(up).get("bytes").asLong()).isEqualTo(size);
        assertThat(json(up).get("sha256").asText()).isEqualTo(TestStreams.hex(sent));
        // down, fixed length
        HttpResponse<InputStream> down = client.send(toSandbox("/source?n=" + size + "&chunked=false", 49983).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(down.headers().firstValueAsLong("content-length")).hasValue(size);
        MessageDigest received = TestStreams.sha256();
        TestStreams.DigestSink sink = new TestStreams.DigestSink(received);
        try (InputStream in = down.body()) {
            in.transferTo(sink);
        }
        long t2 = System.nanoTime();
        assertThat(sink.count()).isEqualTo(size);
        assertThat(TestStreams.hex(received)).isEqualTo(json(up).get("sha256").asText());
        System.out.printf("[measure] proxy on loopback: up %.0f MB/s, down %.0f MB/s (1 GiB each)%n",
                size / 1e6 / ((t1 - t0) / 1e9), size / 1e6 / ((t2 - t1) / 1e9));
    }
}
