package dev.agentruntime.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The opt-in streamed answer of {@code /execute_action} (docs/PROTOCOL.md "Streaming"): output events arrive while
 * the command runs, the last line is the observation byte for byte as a plain client gets it, and a plain client's
 * answer is unchanged.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamingIT {

    private static final String KEY = "it-stream-key-0123456789";
    private static final String NDJSON = "application/x-ndjson";

    private ServerProcess server;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

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

    /** A line of the streamed answer and when it arrived (nanos since the request was sent). */
    record Line(String text, long atNanos) {
        JsonNode json() {
            try {
                return ServerProcess.JSON.readTree(text);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + text, e);
            }
        }

        boolean isOutput() {
            return text.startsWith("{\"event\":\"output\"");
        }
    }

    record Streamed(int status, String contentType, List<Line> lines, String rawBody) {
    }

    private HttpRequest.Builder request(String body) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/execute_action"))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .header("X-Session-API-Key", KEY)
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    }

    private Streamed streamed(String body) throws Exception {
        long sent = System.nanoTime();
        HttpResponse<Stream<String>> response = http.send(request(body).header("Accept", NDJSON).build(),
                HttpResponse.BodyHandlers.ofLines());
        List<Line> lines = new ArrayList<>();
        StringBuilder raw = new StringBuilder();
        try (Stream<String> body2 = response.body()) {
            Iterator<String> it = body2.iterator();
            while (it.hasNext()) {
                String line = it.next();
                lines.add(new Line(line, System.nanoTime() - sent));
                raw.append(line).append('\n');
            }
        }
        return new Streamed(response.statusCode(), response.headers().firstValue("Content-Type").orElse(""), lines,
                raw.toString());
    }

    private HttpResponse<byte[]> plain(String body, String accept) throws Exception {
        HttpRequest.Builder request = request(body);
        if (accept != null) {
            request.header("Accept", accept);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static String outputOf(List<Line> lines) {
        StringBuilder out = new StringBuilder();
        for (Line line : lines) {
            if (line.isOutput()) {
                out.append(line.json().path("text").asText());
            }
        }
        return out.toString();
    }

    @Test
    void outputArrivesWhileTheCommandRuns() throws Exception {
        Streamed answer = streamed(ServerProcess.Run.of("for i in 1 2 3; do echo line$i; sleep 1; done").body());

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.contentType()).isEqualTo(NDJSON);
        List<Line> lines = answer.lines();
        Line last = lines.get(lines.size() - 1);
        assertThat(last.isOutput()).isFalse();
        assertThat(last.json().path("observation").asText()).isEqualTo("run");
        assertThat(last.json().path("extras").path("metadata").path("exit_code").asInt()).isZero();
        Line first = lines.get(0);
        assertThat(first.isOutput()).as("first line %s", first.text()).isTrue();
        assertThat(first.json().path("text").asText()).startsWith("line1");
        // the command takes two seconds at least; its first line must not wait for its end
        assertThat(last.atNanos()).isGreaterThan(Duration.ofSeconds(2).toNanos());
        assertThat(first.atNanos()).as("first chunk after %d ms, observation after %d ms",
                first.atNanos() / 1_000_000, last.atNanos() / 1_000_000)
                .isLessThan(last.atNanos() - Duration.ofMillis(1500).toNanos());
        assertThat(lines.stream().filter(Line::isOutput).count()).isGreaterThanOrEqualTo(3);
        assertThat(outputOf(lines)).isEqualTo("line1\nline2\nline3\n");
        assertThat(last.json().path("content").asText()).isEqualTo("line1\nline2\nline3");
        System.out.printf("first chunk after %d ms, observation after %d ms%n", first.atNanos() / 1_000_000,
                last.atNanos() / 1_000_000);
    }

    @Test
    void theFinalLineIsTheSameBytesAPlainClientGets() throws Exception {
        String command = "cd /tmp && printf 'a\\tb\\n' && echo \"\\u00e9t\u00e9 ok\" && (exit 3)";
        HttpResponse<byte[]> plain = plain(ServerProcess.Run.of(command).body(), null);
        Streamed streamed = streamed(ServerProcess.Run.of(command).body());

        assertThat(plain.statusCode()).isEqualTo(200);
        List<Line> lines = streamed.lines();
        String last = lines.get(lines.size() - 1).text();
        assertThat(last).isEqualTo(new String(plain.body(), StandardCharsets.UTF_8));
        assertThat(last.getBytes(StandardCharsets.UTF_8)).isEqualTo(plain.body());
        assertThat(ServerProcess.JSON.readTree(last).path("extras").path("metadata").path("exit_code").asInt())
                .isEqualTo(3);
    }

    @Test
    void aPlainClientsAnswerIsUnchanged() throws Exception {
        for (String accept : new String[] {null, "*/*", "application/json"}) {
            HttpResponse<byte[]> answer = plain(ServerProcess.Run.of("echo plain").body(), accept);

            assertThat(answer.statusCode()).isEqualTo(200);
            assertThat(answer.headers().firstValue("Content-Type")).hasValue("application/json");
            assertThat(answer.headers().firstValue("Content-Length"))
                    .hasValue(Integer.toString(answer.body().length));
            assertThat(answer.headers().firstValue("Transfer-Encoding")).isEmpty();
            JsonNode json = ServerProcess.JSON.readTree(answer.body());
            assertThat(json.path("content").asText()).isEqualTo("plain");
            assertThat(new String(answer.body(), StandardCharsets.UTF_8)).doesNotContain("\"event\"");
        }
    }

    @Test
    void aNonCommandActionStreamsJustItsObservation() throws Exception {
        String read = "{\"action\":{\"action\":\"read\",\"args\":{\"path\":\"/nonexistent/file.txt\"}}}";
        Streamed answer = streamed(read);

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.contentType()).isEqualTo(NDJSON);
        assertThat(answer.lines()).hasSize(1);
        assertThat(answer.lines().get(0).json().path("observation").asText()).isEqualTo("error");
    }

    @Test
    void badInputIsStillAPlainError() throws Exception {
        Streamed answer = streamed("{\"nothing\": 1}");

        assertThat(answer.status()).isEqualTo(422);
        assertThat(answer.contentType()).startsWith("application/json");
        assertThat(answer.lines()).hasSize(1);
        assertThat(answer.lines().get(0).json().path("detail").asText()).contains("action");
    }

    @Test
    void inputToARunningCommandStreamsItsOutput() throws Exception {
        ServerProcess.Run start = ServerProcess.Run.of("read -r name; echo hello-$name; sleep 0.5; echo bye");
        Streamed started = streamed(start.hardTimeout(1).body());
        assertThat(started.lines().get(started.lines().size() - 1).json().path("extras").path("metadata")
                .path("exit_code").asInt()).isEqualTo(-1); // still waiting for input

        Streamed answered = streamed(ServerProcess.Run.input("world").body());

        assertThat(outputOf(answered.lines())).contains("hello-world").contains("bye");
        JsonNode observation = answered.lines().get(answered.lines().size() - 1).json();
        assertThat(observation.path("content").asText()).contains("hello-world");
        assertThat(observation.path("extras").path("metadata").path("exit_code").asInt()).isZero();
        assertThat(outputOf(answered.lines())).doesNotContain("\u001E").doesNotContain("__ar_");
    }

    @Test
    void theStreamIsGaplessAcrossActionsThatContinueACommand() throws Exception {
        StringBuilder streamedText = new StringBuilder();
        Streamed answer = streamed(ServerProcess.Run.of("for i in 1 2 3 4 5 6; do echo n$i; sleep 0.2; done")
                .hardTimeout(0.3).body());
        int actions = 1;
        while (true) {
            streamedText.append(outputOf(answer.lines()));
            JsonNode observation = answer.lines().get(answer.lines().size() - 1).json();
            if (observation.path("extras").path("metadata").path("exit_code").asInt() != -1) {
                break;
            }
            assertThat(actions).as("the loop ends within 1.2 s of output").isLessThan(40);
            Thread.sleep(250); // a gap between actions: output arrives while no action watches
            answer = streamed(ServerProcess.Run.of("").hardTimeout(0.3).body());
            actions++;
        }
        assertThat(actions).isGreaterThan(1);
        assertThat(streamedText.toString()).isEqualTo("n1\nn2\nn3\nn4\nn5\nn6\n");
    }
}
