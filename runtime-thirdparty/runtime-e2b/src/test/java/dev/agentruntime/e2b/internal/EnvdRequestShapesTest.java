package dev.agentruntime.e2b.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.Secret;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.thirdparty.SandboxCommands;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import okio.Buffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** envd's Connect JSON process service and files API as {@link Envd} speaks them, on the wire. */
class EnvdRequestShapesTest {

    private MockWebServer server;
    private Envd envd;
    private final List<Long> progress = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        server = new MockWebServer();
        server.start();
        envd = new Envd("i1abc", server.url("/").uri(), Optional.of(Secret.of("envd-token")), Optional.of("root"),
                Duration.ofSeconds(5), null, progress::add);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static byte[] envelope(int flags, String json) {
        byte[] payload = json.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(5 + payload.length).put((byte) flags).putInt(payload.length).put(payload).array();
    }

    private static MockResponse stream(String... messages) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String m : messages) {
            out.writeBytes(m.startsWith("!") ? envelope(0x02, m.substring(1)) : envelope(0, m));
        }
        return new MockResponse.Builder().code(200).setHeader("Content-Type", "application/connect+json")
                .body(new Buffer().write(out.toByteArray())).build();
    }

    private static String b64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    private RecordedRequest take() throws InterruptedException {
        RecordedRequest request = server.takeRequest(5, TimeUnit.SECONDS);
        assertThat(request).isNotNull();
        assertThat(request.getHeaders().get("X-Access-Token")).isEqualTo("envd-token");
        assertThat(request.getHeaders().get("E2b-Sandbox-Id")).isEqualTo("i1abc");
        assertThat(request.getHeaders().get("E2b-Sandbox-Port")).isEqualTo("49983");
        assertThat(request.getHeaders().get("Authorization")).isEqualTo("Basic " + b64("root:"));
        return request;
    }

    /** The one enveloped JSON message of a streaming request. */
    private static JsonNode enveloped(RecordedRequest request) {
        byte[] raw = request.getBody().toByteArray();
        assertThat(raw[0]).as("flags: not compressed, not end-of-stream").isZero();
        int length = ByteBuffer.wrap(raw, 1, 4).getInt();
        assertThat(length).isEqualTo(raw.length - 5);
        return WireCodec.parse(new String(raw, 5, length, StandardCharsets.UTF_8));
    }

    @Test
    void startSendsOneEnvelopeWithTheConnectHeadersAndReadsTheEventsInOrder() throws Exception {
        server.enqueue(stream("{\"event\":{\"start\":{\"pid\":42}}}",
                "{\"event\":{\"keepalive\":{}}}",
                "{\"event\":{\"data\":{\"stdout\":\"" + b64("hi\n") + "\"}}}",
                "{\"event\":{\"data\":{\"stderr\":\"" + b64("oops\n") + "\"}}}",
                "{\"event\":{\"end\":{\"exitCode\":3,\"exited\":true,\"status\":\"exit status 3\"}}}",
                "!{}"));
        SandboxCommands.Result result = envd.run("echo hi; echo oops >&2; exit 3", Duration.ofSeconds(30));
        assertThat(result.exitCode()).isEqualTo(3);
        assertThat(result.stdout()).isEqualTo("hi\n");
        assertThat(result.stderr()).isEqualTo("oops\n");

        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getUrl().encodedPath()).isEqualTo("/process.Process/Start");
        assertThat(request.getHeaders().get("Content-Type")).isEqualTo("application/connect+json");
        assertThat(request.getHeaders().get("Connect-Protocol-Version")).isEqualTo("1");
        assertThat(request.getHeaders().get("Connect-Timeout-Ms")).isEqualTo("30000");
        assertThat(request.getHeaders().get("Keepalive-Ping-Interval")).isEqualTo("50");
        assertThat(enveloped(request)).isEqualTo(WireCodec.parse("{\"process\":{\"cmd\":\"/bin/bash\","
                + "\"args\":[\"-l\",\"-c\",\"echo hi; echo oops >&2; exit 3\"],\"envs\":{}},\"stdin\":false}"));
    }

    @Test
    void anEndWithoutExitCodeMeansZeroAndEventsArriveAsTheyCome() throws Exception {
        server.enqueue(stream("{\"event\":{\"start\":{\"pid\":7}}}",
                "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}", "!{}"));
        List<Envd.Event> events = new ArrayList<>();
        Envd.Event.Ended end = envd.start(new Envd.ProcessSpec("/bin/true", List.of(), java.util.Map.of("K", "V"),
                Optional.of("/tmp"), Optional.of("t-1")), Duration.ZERO, events::add);
        assertThat(end.exitCode()).isZero();
        assertThat(events.get(0)).isEqualTo(new Envd.Event.Started(7));
        RecordedRequest request = take();
        assertThat(request.getHeaders().get("Connect-Timeout-Ms")).as("no deadline").isNull();
        assertThat(enveloped(request)).isEqualTo(WireCodec.parse("{\"process\":{\"cmd\":\"/bin/true\",\"args\":[],"
                + "\"envs\":{\"K\":\"V\"},\"cwd\":\"/tmp\"},\"tag\":\"t-1\",\"stdin\":false}"));
    }

    @Test
    void anEndOfStreamErrorBecomesTheMatchingException() throws Exception {
        server.enqueue(stream("{\"event\":{\"start\":{\"pid\":9}}}",
                "{\"event\":{\"end\":{\"exited\":false,\"status\":\"signal: killed\"}}}",
                "!{\"error\":{\"code\":\"deadline_exceeded\",\"message\":\"context deadline exceeded\"}}"));
        assertThatThrownBy(() -> envd.run("sleep 100", Duration.ofSeconds(1)))
                .isInstanceOf(RuntimeTimeoutException.class)
                .hasMessageContaining("sandbox i1abc").hasMessageContaining("deadline_exceeded");
        take();
        server.enqueue(stream("!{\"error\":{\"code\":\"unavailable\",\"message\":\"sandbox timed out\"}}"));
        assertThatThrownBy(() -> envd.run("true", Duration.ofSeconds(1)))
                .isInstanceOf(RuntimeUnavailableException.class).hasMessageContaining("timed out");
        take();
    }

    @Test
    void aStreamCutBeforeItsEndIsABrokenSandboxNotASuccess() throws Exception {
        server.enqueue(stream("{\"event\":{\"start\":{\"pid\":9}}}"));
        assertThatThrownBy(() -> envd.run("true", Duration.ofSeconds(1)))
                .isInstanceOf(RuntimeUnavailableException.class).hasMessageContaining("without an end-of-stream");
        take();
    }

    @Test
    void envdsPlainHttpErrorsMapByStatus() throws Exception {
        server.enqueue(new MockResponse.Builder().code(401).setHeader("Content-Type", "application/json")
                .body("{\"code\":401,\"message\":\"invalid access token\"}").build());
        assertThatThrownBy(() -> envd.run("true", Duration.ofSeconds(1)))
                .isInstanceOf(BackendAuthenticationException.class).hasMessageContaining("invalid access token")
                .hasMessageContaining("sandbox i1abc").hasMessageNotContaining("envd-token");
        take();
        server.enqueue(new MockResponse.Builder().code(502).setHeader("Content-Type", "application/json")
                .body("{\"code\":502,\"message\":\"The sandbox i1abc was not found\"}").build());
        assertThatThrownBy(() -> envd.run("true", Duration.ofSeconds(1))).isInstanceOf(BackendException.class)
                .hasMessageContaining("HTTP 502").hasMessageContaining("was not found");
        take();
    }

    @Test
    void connectReattachesByPid() throws Exception {
        server.enqueue(stream("{\"event\":{\"start\":{\"pid\":42}}}",
                "{\"event\":{\"end\":{\"exitCode\":1,\"exited\":true}}}", "!{}"));
        assertThat(envd.connect(42, Duration.ofSeconds(5), e -> { }).exitCode()).isEqualTo(1);
        RecordedRequest request = take();
        assertThat(request.getUrl().encodedPath()).isEqualTo("/process.Process/Connect");
        assertThat(enveloped(request)).isEqualTo(WireCodec.parse("{\"process\":{\"pid\":42}}"));
    }

    @Test
    void unaryCallsSendBareJson() throws Exception {
        server.enqueue(new MockResponse.Builder().code(200).setHeader("Content-Type", "application/json")
                .body("{\"processes\":[{\"config\":{\"cmd\":\"/bin/bash\",\"args\":[\"-c\",\"sleep 9\"]},\"pid\":5,"
                        + "\"tag\":\"bg\"}]}").build());
        server.enqueue(new MockResponse.Builder().code(200).setHeader("Content-Type", "application/json").body("{}")
                .build());
        server.enqueue(new MockResponse.Builder().code(200).setHeader("Content-Type", "application/json").body("{}")
                .build());
        assertThat(envd.list()).containsExactly(new Envd.ProcessInfo(5, Optional.of("bg"), "/bin/bash",
                List.of("-c", "sleep 9")));
        envd.sendInput(5, "y\n".getBytes(StandardCharsets.UTF_8));
        envd.sendSignal(5, true);

        RecordedRequest list = take();
        assertThat(list.getUrl().encodedPath()).isEqualTo("/process.Process/List");
        assertThat(list.getHeaders().get("Content-Type")).startsWith("application/json");
        assertThat(list.getBody().utf8()).isEqualTo("{}");
        RecordedRequest input = take();
        assertThat(input.getUrl().encodedPath()).isEqualTo("/process.Process/SendInput");
        assertThat(WireCodec.parse(input.getBody().utf8())).isEqualTo(WireCodec.parse(
                "{\"process\":{\"pid\":5},\"input\":{\"stdin\":\"" + b64("y\n") + "\"}}"));
        RecordedRequest signal = take();
        assertThat(signal.getUrl().encodedPath()).isEqualTo("/process.Process/SendSignal");
        assertThat(WireCodec.parse(signal.getBody().utf8())).isEqualTo(WireCodec.parse(
                "{\"process\":{\"pid\":5},\"signal\":\"SIGNAL_SIGKILL\"}"));
    }

    @Test
    void aUnaryConnectErrorNamesTheProcess() throws Exception {
        server.enqueue(new MockResponse.Builder().code(404).setHeader("Content-Type", "application/json")
                .body("{\"code\":\"not_found\",\"message\":\"process with pid 5 not found\"}").build());
        assertThatThrownBy(() -> envd.sendSignal(5, false)).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining("process with pid 5 not found").hasMessageContaining("not_found");
        assertThat(WireCodec.parse(take().getBody().utf8()).get("signal").asText()).isEqualTo("SIGNAL_SIGTERM");
    }

    @Test
    void uploadStreamsTheFileAsOctetsToItsPathAndReportsProgress(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("bundle.tar.gz");
        byte[] content = new byte[9 * 1024 * 1024 + 17];
        new java.util.Random(1).nextBytes(content);
        Files.write(file, content);
        server.enqueue(new MockResponse.Builder().code(200).setHeader("Content-Type", "application/json")
                .body("[{\"path\":\"/tmp/agent-runtime/b.tar.gz\",\"name\":\"b.tar.gz\",\"type\":\"file\"}]").build());
        envd.upload(file, "/tmp/agent-runtime/b.tar.gz");

        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getUrl().encodedPath()).isEqualTo("/files");
        assertThat(request.getUrl().queryParameter("path")).isEqualTo("/tmp/agent-runtime/b.tar.gz");
        assertThat(request.getUrl().queryParameter("username")).isEqualTo("root");
        assertThat(request.getHeaders().get("Content-Type")).isEqualTo("application/octet-stream");
        assertThat(request.getBody().toByteArray()).isEqualTo(content);
        assertThat(progress).isNotEmpty().isSorted();
        assertThat(progress.get(progress.size() - 1)).isEqualTo(content.length);
    }

    @Test
    void downloadGetsTheBytes() throws Exception {
        server.enqueue(new MockResponse.Builder().code(200).setHeader("Content-Type", "application/octet-stream")
                .body("content").build());
        assertThat(new String(envd.download("a.txt"), StandardCharsets.UTF_8)).isEqualTo("content");
        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("GET");
        assertThat(request.getUrl().encodedPath()).isEqualTo("/files");
        assertThat(request.getUrl().queryParameter("path")).isEqualTo("a.txt");
        server.enqueue(new MockResponse.Builder().code(404).setHeader("Content-Type", "application/json")
                .body("{\"code\":404,\"message\":\"path '/root/b' does not exist\"}").build());
        assertThatThrownBy(() -> envd.download("b")).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining("does not exist");
        take();
    }
}
