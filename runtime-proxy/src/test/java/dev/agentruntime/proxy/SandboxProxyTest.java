package dev.agentruntime.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The proxy on real sockets in front of a JDK HTTP server: path routing into a target with a path prefix, header
 * hygiene, refusals in the caller's shape, 502 for a closed port, the observer, and 256 MiB each way through a
 * 64 MiB heap (surefire runs this class with -Xmx64m).
 */
class SandboxProxyTest {

    private static final long BIG = 256L << 20;

    private HttpServer backend;
    private int closedPort;
    private Server server;
    private URI proxyUrl;
    private final List<String> observed = new CopyOnWriteArrayList<>();
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() throws Exception {
        backend = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        backend.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "test-backend");
            t.setDaemon(true);
            return t;
        }));
        backend.createContext("/", this::backendAnswer);
        backend.start();
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = probe.getLocalPort();
        }
        SandboxProxy proxy = SandboxProxy.builder()
                .router(request -> {
                    String path = Request.getPathInContext(request);
                    String[] parts = path.split("/", 3);
                    if (parts.length < 2 || !parts[1].startsWith("sbx-")) {
                        return Optional.empty();
                    }
                    if (parts[1].equals("sbx-missing")) {
                        throw Refusal.json(404, "{\"detail\": \"no sandbox sbx-missing\"}");
                    }
                    int port = parts[1].equals("sbx-closed") ? closedPort : backend.getAddress().getPort();
                    String rest = "/" + (parts.length > 2 ? parts[2] : "");
                    String query = request.getHttpURI().getQuery();
                    return Optional.of(new SandboxProxy.Route(parts[1], "tenant-a",
                            URI.create("http://127.0.0.1:" + port + "/inner"), rest + (query == null ? "" : "?" + query),
                            List.of(new SandboxProxy.Header("X-Session-API-Key", "sandbox-key"))));
                })
                .authorizer((request, route) -> {
                    if ("no".equals(request.getHeaders().get("X-Let-Me"))) {
                        throw Refusal.json(403, "{\"detail\": \"Invalid API Key\"}").withHeader("X-Why", "test");
                    }
                })
                .removeRequestHeaders("X-API-Key")
                .observer((route, request, status, nanos) -> observed.add(route.sandboxId() + " " + status))
                .build();
        server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.setHandler(new Handler.Sequence(proxy, new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                Refusal.json(418, "{\"detail\": \"not for the proxy\"}").write(response, callback);
                return true;
            }
        }));
        server.start();
        proxyUrl = URI.create("http://127.0.0.1:" + connector.getLocalPort());
    }

    @AfterEach
    void stop() throws Exception {
        server.stop();
        backend.stop(0);
    }

    private void backendAnswer(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getRawPath();
        try (exchange) {
            if (path.equals("/inner/headers")) {
                Map<String, String> seen = new TreeMap<>();
                exchange.getRequestHeaders().forEach((k, v) -> seen.put(k.toLowerCase(), String.join(",", v)));
                byte[] body = (exchange.getRequestMethod() + " " + exchange.getRequestURI() + "\n" + seen)
                        .getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("X-Backend", "yes");
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            } else if (path.equals("/inner/count")) {
                String digest = digest(exchange.getRequestBody());
                byte[] body = digest.getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            } else if (path.equals("/inner/stream")) {
                exchange.sendResponseHeaders(200, 0); // chunked
                try (OutputStream out = exchange.getResponseBody()) {
                    write(out, BIG);
                }
            } else {
                exchange.sendResponseHeaders(404, -1);
            }
        }
    }

    /** The same pseudo-random bytes on both sides, so digests can be compared without holding them. */
    private static void write(OutputStream out, long bytes) throws IOException {
        byte[] chunk = new byte[64 * 1024];
        for (int i = 0; i < chunk.length; i++) {
            chunk[i] = (byte) (i * 31 + 7);
        }
        for (long left = bytes; left > 0; left -= chunk.length) {
            out.write(chunk, 0, (int) Math.min(chunk.length, left));
        }
    }

    private static String digest(InputStream in) throws IOException {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[64 * 1024];
            long total = 0;
            for (int n; (n = in.read(buffer)) > 0; ) {
                sha.update(buffer, 0, n);
                total += n;
            }
            return total + ":" + HexFormat.of().formatHex(sha.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String expectedDigest() throws IOException {
        java.io.PipedInputStream in = new java.io.PipedInputStream(1 << 16);
        java.io.PipedOutputStream out = new java.io.PipedOutputStream(in);
        Thread writer = new Thread(() -> {
            try (out) {
                write(out, BIG);
            } catch (IOException ignored) {
                // the reader failed; its assertion says so
            }
        });
        writer.setDaemon(true);
        writer.start();
        return digest(in);
    }

    /** The observer is told once the exchange completes, which may be just after the client has the answer. */
    private void awaitObserved(String exchange) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (observed.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5); // polling a condition with a deadline
        }
        assertThat(observed).containsExactly(exchange);
    }

    private HttpResponse<String> get(String path, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(proxyUrl.resolve(path)).GET();
        headers.forEach(request::header);
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void routesIntoThePrefixedTargetSettingTheRoutesHeadersAndDroppingTheRemovedOnes() throws Exception {
        HttpResponse<String> response = get("/sbx-1/headers?path=%2Ftmp%2Fa%20b&x=1",
                Map.of("X-API-Key", "tenant-secret", "X-Session-API-Key", "client-key", "X-Custom", "kept"));
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("X-Backend")).contains("yes");
        assertThat(response.body()).startsWith("GET /inner/headers?path=%2Ftmp%2Fa%20b&x=1\n")
                .contains("x-custom=kept").contains("x-session-api-key=sandbox-key")
                .doesNotContain("tenant-secret").doesNotContain("x-api-key").doesNotContain("client-key")
                .doesNotContain("via=").doesNotContain("forwarded");
        awaitObserved("sbx-1 200");
    }

    @Test
    void refusalsAndUnreachableSandboxesAnswerInTheCallersShapeAndOthersFallThrough() throws Exception {
        HttpResponse<String> missing = get("/sbx-missing/alive", Map.of());
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.body()).isEqualTo("{\"detail\": \"no sandbox sbx-missing\"}");
        HttpResponse<String> refused = get("/sbx-1/headers", Map.of("X-Let-Me", "no"));
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(refused.headers().firstValue("X-Why")).contains("test");
        HttpResponse<String> closed = get("/sbx-closed/alive", Map.of());
        assertThat(closed.statusCode()).isEqualTo(502);
        assertThat(closed.body()).contains("sbx-closed does not answer");
        assertThat(get("/health", Map.of()).statusCode()).as("not a sandbox path").isEqualTo(418);
        awaitObserved("sbx-closed 502");
    }

    @Test
    void bodiesStreamBothWaysThroughASmallHeap() throws Exception {
        String expected = expectedDigest();
        HttpResponse<String> upload = client.send(HttpRequest.newBuilder(proxyUrl.resolve("/sbx-1/count"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> {
                    try {
                        java.io.PipedInputStream in = new java.io.PipedInputStream(1 << 16);
                        java.io.PipedOutputStream out = new java.io.PipedOutputStream(in);
                        Thread writer = new Thread(() -> {
                            try (out) {
                                write(out, BIG);
                            } catch (IOException ignored) {
                                // the exchange failed; the assertion below says so
                            }
                        });
                        writer.setDaemon(true);
                        writer.start();
                        return in;
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                })).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(upload.statusCode()).isEqualTo(200);
        assertThat(upload.body()).isEqualTo(expected);

        HttpResponse<InputStream> download = client.send(HttpRequest.newBuilder(proxyUrl.resolve("/sbx-1/stream"))
                .GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(download.statusCode()).isEqualTo(200);
        try (InputStream in = download.body()) {
            assertThat(digest(in)).isEqualTo(expected);
        }
        assertThat(Runtime.getRuntime().maxMemory()).as("the heap is smaller than what went through")
                .isLessThan(BIG / 2);
    }
}
