package dev.agentruntime.fake;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.internal.JreLinker;
import dev.agentruntime.fake.http.FakeHttpServer;
import dev.agentruntime.fake.http.HttpError;
import dev.agentruntime.fake.http.Json;
import dev.agentruntime.fake.http.SandboxProxy;
import dev.agentruntime.testkit.RequiresDocker;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The proxy in front of an HTTP server running inside a real sandbox (a Java runtime and the test classes mounted
 * in), routed E2B-style by host name {@code <port>-<sandboxId>.localhost}: large bodies both ways, full duplex, and
 * 502 for a port nothing listens on.
 */
@RequiresDocker(images = SandboxHost.DEFAULT_IMAGE)
class SandboxProxyIT {

    private static final Pattern HOST = Pattern.compile("(\\d+)-([0-9a-z]+)\\.localhost(:\\d+)?");
    private static SandboxHost host;
    private static FakeSandbox sandbox;
    private static FakeHttpServer server;
    private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws Exception {
        host = SandboxHost.builder().name("proxy-it").build();
        Path jre = JreLinker.defaults().linkedRuntime();
        Path classes = Path.of(EchoServer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        sandbox = host.create(SandboxSpec.builder().user("user").bind(jre, "/opt/jre", true)
                .bind(classes, "/opt/classes", true).build());
        SandboxProcess echo = sandbox.exec(ExecSpec.argv("/opt/jre/bin/java", "-cp", "/opt/classes",
                EchoServer.class.getName(), "8000").build());
        SandboxExecIT.awaitOutput(echo.stdout(), "listening 8000");
        SandboxProxy proxy = SandboxProxy.builder()
                .router(request -> {
                    String hostHeader = request.getHeaders().get("Host");
                    Matcher m = HOST.matcher(hostHeader == null ? "" : hostHeader);
                    if (!m.matches()) {
                        return Optional.empty();
                    }
                    FakeSandbox target = host.find(m.group(2)).orElseThrow(() -> HttpError.json(404,
                            Map.of("message", "sandbox " + m.group(2) + " not found")));
                    int port = Integer.parseInt(m.group(1));
                    return Optional.of(new SandboxProxy.Route(target.id(), target.address(port)));
                })
                .unreachable((route, failure) -> HttpError.json(502, Map.of("sandboxId", route.sandboxId(),
                        "message", "The sandbox is running but port is not open", "port", route.target().getPort())))
                .build();
        server = FakeHttpServer.builder("proxy-it").handler(proxy).start();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (host != null) {
            String id = host.id();
            host.close();
            assertThat(Leaks.containersOf(id)).as("containers left by host " + id).isEmpty();
        }
    }

    private static HttpRequest.Builder port(int port, String path) {
        return HttpRequest.newBuilder(server.uri().resolve(path)).header("Host", port + "-" + sandbox.id()
                + ".localhost:" + server.port());
    }

    private static JsonNode json(HttpResponse<String> response) {
        return Json.parse(response.body()).orElseThrow(() -> new AssertionError("not JSON: " + response.body()));
    }

    @Test
    void largeBodiesStreamBothWaysToTheServerInTheSandbox() throws Exception {
        long size = 256L << 20;
        MessageDigest sent = TestStreams.sha256();
        long t0 = System.nanoTime();
        HttpResponse<String> up = client.send(port(8000, "/sink").POST(HttpRequest.BodyPublishers.fromPublisher(
                HttpRequest.BodyPublishers.ofInputStream(() -> new TestStreams.Generated(size, sent)), size)).build(),
                HttpResponse.BodyHandlers.ofString());
        long t1 = System.nanoTime();
        assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
        assertThat(json(up).get("bytes").asLong()).isEqualTo(size);
        assertThat(json(up).get("chunked").asBoolean()).as("fixed length stays fixed length").isFalse();
        String expected = TestStreams.hex(sent);
        assertThat(json(up).get("sha256").asText()).isEqualTo(expected);

        HttpResponse<InputStream> down = client.send(port(8000, "/source?n=" + size).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(down.headers().firstValue("transfer-encoding")).contains("chunked");
        MessageDigest received = TestStreams.sha256();
        TestStreams.DigestSink sink = new TestStreams.DigestSink(received);
        try (InputStream in = down.body()) {
            in.transferTo(sink);
        }
        long t2 = System.nanoTime();
        assertThat(sink.count()).isEqualTo(size);
        assertThat(TestStreams.hex(received)).isEqualTo(expected);
        System.out.printf("[measure] proxy into a sandbox: up %.0f MB/s, down %.0f MB/s (256 MiB each)%n",
                size / 1e6 / ((t1 - t0) / 1e9), size / 1e6 / ((t2 - t1) / 1e9));
    }

    @Test
    void echoStreamsTheRequestBackWhileItIsStillUploading() throws Exception {
        long size = 64L << 20; // far larger than every buffer on the way: only full-duplex streaming can finish
        MessageDigest sent = TestStreams.sha256();
        // Jetty's client reads the answer while it still sends (the JDK's HTTP/1.1 client waits for its upload).
        org.eclipse.jetty.client.HttpClient duplex = new org.eclipse.jetty.client.HttpClient();
        duplex.start();
        try {
            org.eclipse.jetty.client.InputStreamResponseListener listener =
                    new org.eclipse.jetty.client.InputStreamResponseListener();
            duplex.newRequest(server.uri().resolve("/echo")).method("POST")
                    .headers(h -> h.put("Host", "8000-" + sandbox.id() + ".localhost:" + server.port()))
                    .body(new org.eclipse.jetty.client.InputStreamRequestContent(
                            new TestStreams.Generated(size, sent)))
                    .send(listener);
            assertThat(listener.get(60, java.util.concurrent.TimeUnit.SECONDS).getStatus()).isEqualTo(200);
            MessageDigest back = TestStreams.sha256();
            TestStreams.DigestSink sink = new TestStreams.DigestSink(back);
            try (InputStream in = listener.getInputStream()) {
                in.transferTo(sink);
            }
            assertThat(sink.count()).isEqualTo(size);
            assertThat(TestStreams.hex(back)).isEqualTo(TestStreams.hex(sent));
        } finally {
            duplex.stop();
        }
    }

    @Test
    void aPortNothingListensOnAnswers502() throws Exception {
        HttpResponse<String> refused = client.send(port(9999, "/").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(refused.statusCode()).isEqualTo(502);
        assertThat(json(refused).get("message").asText()).isEqualTo("The sandbox is running but port is not open");
        assertThat(json(refused).get("port").asInt()).isEqualTo(9999);
        HttpResponse<String> unknown = client.send(HttpRequest.newBuilder(server.uri().resolve("/"))
                .header("Host", "8000-nosuchsandbox.localhost").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(unknown.statusCode()).isEqualTo(404);
    }
}
