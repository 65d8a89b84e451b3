package dev.agentruntime.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.Secret;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import okhttp3.HttpUrl;
import org.junit.jupiter.api.Test;

/**
 * The action path's own HTTP client, against a hand-driven server socket, so the order of closes and requests is
 * exact: a connection the server closed while idle is not used again (the POST is never sent on it), chunked and
 * close-delimited answers are read whole, the JVM's proxy settings send the client back to OkHttp.
 */
class LeanHttpTest {

    private static final String OBSERVATION = "{\"observation\":\"run\",\"content\":\"x\",\"message\":\"m\","
            + "\"extras\":{\"command\":\"echo x\",\"metadata\":{\"exit_code\":0},\"hidden\":false}}";

    /** Reads one request (head and Content-Length body) from a connection; returns its head lines. */
    private static List<String> readRequest(BufferedReader in) throws IOException {
        List<String> head = new ArrayList<>();
        String line;
        int length = 0;
        while ((line = in.readLine()) != null && !line.isEmpty()) {
            head.add(line);
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        char[] body = new char[length];
        int read = 0;
        while (read < length) {
            int n = in.read(body, read, length - read);
            if (n < 0) {
                break;
            }
            read += n;
        }
        return head;
    }

    private static void answer(Socket socket, String response) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(response.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static String fixed(String body) {
        return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
    }

    @Test
    void aConnectionTheServerClosedWhileIdleIsNeverWrittenToAgain() throws Exception {
        try (ServerSocket listener = new ServerSocket(0)) {
            ActionServerClient client = new ActionServerClient(ServerEndpoint.of(
                    URI.create("http://127.0.0.1:" + listener.getLocalPort()), Secret.of("k")), "sess-lean");
            java.util.concurrent.CountDownLatch firstClosed = new java.util.concurrent.CountDownLatch(1);
            CompletableFuture<List<Integer>> served = CompletableFuture.supplyAsync(() -> {
                List<Integer> requestsPerConnection = new ArrayList<>();
                try {
                    for (int c = 0; c < 2; c++) {
                        try (Socket socket = listener.accept()) {
                            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                                    StandardCharsets.UTF_8));
                            List<String> head = readRequest(in);
                            assertThat(head.get(0)).isEqualTo("POST /execute_action HTTP/1.1");
                            assertThat(head).contains("X-Session-API-Key: k",
                                    "Content-Type: application/json; charset=utf-8");
                            answer(socket, fixed(OBSERVATION));
                            requestsPerConnection.add(1);
                        } // closed right after answering, while the client holds it idle
                        firstClosed.countDown();
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                return requestsPerConnection;
            });
            assertThat(client.execute(CmdRunAction.of("echo x"), Duration.ofSeconds(10)))
                    .isInstanceOf(CmdOutputObservation.class);
            // the server has closed the idle connection: the second action must open a new one, not fail on it
            assertThat(firstClosed.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(client.execute(CmdRunAction.of("echo x"), Duration.ofSeconds(10)).content()).isEqualTo("x");
            assertThat(served.get(10, TimeUnit.SECONDS)).containsExactly(1, 1);
            client.close();
        }
    }

    @Test
    void anEndpointsHostHeaderNamesTheVirtualHostOnceAndOtherHeadersGoAsGiven() throws Exception {
        try (ServerSocket listener = new ServerSocket(0)) {
            HttpUrl base = HttpUrl.get("http://127.0.0.1:" + listener.getLocalPort() + "/");
            LeanHttp http = new LeanHttp(base, List.of(new String[] {"host", "8080-abc.tunnel.example"},
                    new String[] {"X-Tunnel-Auth", "t0ken"}), TimeUnit.SECONDS.toNanos(4));
            CompletableFuture<List<String>> head = CompletableFuture.supplyAsync(() -> {
                try (Socket socket = listener.accept()) {
                    List<String> lines = readRequest(new BufferedReader(new InputStreamReader(socket.getInputStream(),
                            StandardCharsets.UTF_8)));
                    answer(socket, fixed(OBSERVATION));
                    return lines;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            http.post("/execute_action", "{}".getBytes(StandardCharsets.UTF_8),
                    System.nanoTime() + TimeUnit.SECONDS.toNanos(10));
            List<String> lines = head.get(10, TimeUnit.SECONDS);
            assertThat(lines.stream().filter(l -> l.toLowerCase(Locale.ROOT).startsWith("host:")))
                    .containsExactly("Host: 8080-abc.tunnel.example");
            assertThat(lines).contains("X-Tunnel-Auth: t0ken");
            http.close();
        }
    }

    @Test
    void chunkedAndCloseDelimitedAnswersAreReadWhole() throws Exception {
        try (ServerSocket listener = new ServerSocket(0)) {
            HttpUrl base = HttpUrl.get("http://127.0.0.1:" + listener.getLocalPort() + "/");
            LeanHttp http = new LeanHttp(base, List.of(), TimeUnit.SECONDS.toNanos(4));
            CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
                try (Socket socket = listener.accept()) {
                    BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                            StandardCharsets.UTF_8));
                    readRequest(in);
                    answer(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                            + "6;ext=1\r\n world\r\n0\r\n\r\n");
                    readRequest(in);
                    answer(socket, "HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nall of it");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            LeanHttp.Answer chunked = http.post("/a", "{}".getBytes(StandardCharsets.UTF_8), deadline);
            assertThat(chunked.code()).isEqualTo(200);
            assertThat(chunked.body()).isEqualTo("hello world");
            LeanHttp.Answer closing = http.post("/b", "{}".getBytes(StandardCharsets.UTF_8), deadline);
            assertThat(closing.code()).isEqualTo(500);
            assertThat(closing.body()).isEqualTo("all of it");
            served.get(10, TimeUnit.SECONDS);
            http.close();
        }
    }

    @Test
    void anAnswerCutShortIsADisconnectNotAResult() throws Exception {
        try (ServerSocket listener = new ServerSocket(0)) {
            ActionServerClient client = new ActionServerClient(ServerEndpoint.of(
                    URI.create("http://127.0.0.1:" + listener.getLocalPort()), Secret.of("k")), "sess-cut");
            CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
                try (Socket socket = listener.accept()) {
                    readRequest(new BufferedReader(new InputStreamReader(socket.getInputStream(),
                            StandardCharsets.UTF_8)));
                    answer(socket, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"observation\":");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            assertThatThrownBy(() -> client.execute(CmdRunAction.of("make"), Duration.ofSeconds(10)))
                    .isInstanceOf(RuntimeDisconnectedException.class)
                    .hasMessageContaining("may or may not have run");
            served.get(10, TimeUnit.SECONDS);
            client.close();
        }
    }

    @Test
    void onlyPlainHttpGoesTheLeanWay() {
        assertThat(LeanHttp.usable(HttpUrl.get("http://127.0.0.1:8080/"))).isTrue();
        assertThat(LeanHttp.usable(HttpUrl.get("https://sandbox.example.com/"))).isFalse();
    }
}
