package dev.agentruntime.daytona.internal;

import static dev.agentruntime.daytona.internal.DaytonaApiRequestShapesTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.Secret;
import dev.agentruntime.daytona.DaytonaConfig;
import dev.agentruntime.thirdparty.SandboxCommands;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import okhttp3.MultipartReader;
import okio.Buffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every toolbox call against MockWebServer: paths below {@code <toolboxProxyUrl>/<sandboxId>}, the account's headers,
 * JSON and multipart bodies as the daemon reads them, and the answers (JSON and plain-text logs, multipart downloads
 * with per-file errors, 408 timeouts).
 */
class DaytonaToolboxRequestShapesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "dtn_test_key";

    @TempDir
    Path tmp;

    private MockWebServer server;
    private DaytonaToolbox toolbox;

    @BeforeEach
    void start() throws IOException {
        server = new MockWebServer();
        server.start();
        DaytonaApi api = new DaytonaApi(DaytonaConfig.builder().apiUrl(server.url("/api").uri())
                .apiKey(Secret.of(KEY)).callTimeout(Duration.ofSeconds(10)).build());
        toolbox = api.toolbox(new DaytonaSandbox("sb-1", "sb-1", "started", Optional.empty(),
                Optional.of(server.url("/toolbox").toString()), Map.of(), Optional.empty(), false));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private RecordedRequest take(String method, String path) throws InterruptedException {
        RecordedRequest request = server.takeRequest(5, TimeUnit.SECONDS);
        assertThat(request).as("a request " + method + " " + path).isNotNull();
        assertThat(request.getMethod() + " " + request.getUrl().encodedPath())
                .isEqualTo(method + " /toolbox/sb-1" + path);
        assertThat(request.getHeaders().get("Authorization")).isEqualTo("Bearer " + KEY);
        assertThat(request.getHeaders().get("X-Daytona-SDK-Version")).isEqualTo(DaytonaApi.SDK_VERSION);
        return request;
    }

    private static JsonNode body(RecordedRequest request) throws IOException {
        assertThat(request.getHeaders().get("Content-Type")).startsWith("application/json");
        return JSON.readTree(request.getBody().utf8());
    }

    @Test
    void runExecutesTheCommandWithBashAndATimeout() throws Exception {
        server.enqueue(json(200, "{\"exitCode\":3,\"result\":\"out and err\\n\"}"));
        SandboxCommands.Result result = toolbox.run("echo 'a b' && exit 3", Duration.ofMillis(1500));
        assertThat(result.exitCode()).isEqualTo(3);
        assertThat(result.stdout()).isEqualTo("out and err\n");
        assertThat(result.stderr()).isEmpty();
        assertThat(body(take("POST", "/process/execute"))).isEqualTo(JSON.readTree(
                "{\"command\":\"bash -c 'echo '\\\\''a b'\\\\'' && exit 3'\",\"timeout\":2}"));
    }

    @Test
    void executeSendsCwdAndEnvironment() throws Exception {
        server.enqueue(json(200, "{\"exitCode\":0,\"result\":\"\"}"));
        toolbox.execute("pwd", Optional.of("/work"), Map.of("A", "1"), Duration.ofSeconds(10));
        assertThat(body(take("POST", "/process/execute"))).isEqualTo(JSON.readTree(
                "{\"command\":\"pwd\",\"cwd\":\"/work\",\"envs\":{\"A\":\"1\"},\"timeout\":10}"));
    }

    @Test
    void aDaemonTimeoutBecomesATimeoutException() {
        server.enqueue(json(408, "{\"statusCode\":408,\"message\":\"command execution timeout\",\"code\":\"Request "
                + "Timeout\",\"path\":\"/process/execute\",\"method\":\"POST\"}"));
        assertThatThrownBy(() -> toolbox.run("sleep 100", Duration.ofSeconds(1)))
                .isInstanceOf(RuntimeTimeoutException.class).hasMessageContaining("sb-1")
                .hasMessageContaining("did not end within 1 s");
        assertThat(server.getRequestCount()).as("a command is not run twice").isEqualTo(1);
    }

    @Test
    void aToolboxErrorNamesTheSandboxAndTheDaemonsMessage() {
        server.enqueue(json(400, "{\"statusCode\":400,\"message\":\"sandbox is not started\",\"code\":\"BAD_REQUEST\"}"));
        assertThatThrownBy(() -> toolbox.run("true", Duration.ofSeconds(5))).isInstanceOf(BackendException.class)
                .hasMessageContaining("sandbox sb-1").hasMessageContaining("sandbox is not started");
    }

    @Test
    void uploadIsABulkUploadWithPathAndFileParts() throws Exception {
        Path file = tmp.resolve("bundle.tar.gz");
        Files.write(file, new byte[] {1, 2, 3, 0, (byte) 255});
        server.enqueue(new MockResponse.Builder().code(200).build());
        toolbox.upload(file, "/opt/agent-runtime/bundle.tar.gz");
        RecordedRequest request = take("POST", "/files/bulk-upload");
        assertThat(request.getHeaders().get("Content-Type")).startsWith("multipart/form-data; boundary=");
        Map<String, byte[]> parts = parts(request);
        assertThat(parts.keySet()).containsExactly("files[0].path", "files[0].file");
        assertThat(new String(parts.get("files[0].path"), StandardCharsets.UTF_8))
                .isEqualTo("/opt/agent-runtime/bundle.tar.gz");
        assertThat(parts.get("files[0].file")).containsExactly(1, 2, 3, 0, 255);
    }

    @Test
    void uploadingSomethingThatIsNotAFileFailsBeforeAnyCall() {
        assertThatThrownBy(() -> toolbox.upload(tmp, "/x")).hasMessageContaining("not a regular file");
        assertThat(server.getRequestCount()).isZero();
    }

    private static Map<String, byte[]> parts(RecordedRequest request) throws IOException {
        String type = request.getHeaders().get("Content-Type");
        String boundary = type.substring(type.indexOf("boundary=") + 9);
        Map<String, byte[]> parts = new LinkedHashMap<>();
        try (MultipartReader reader = new MultipartReader(new Buffer().write(request.getBody()), boundary)) {
            MultipartReader.Part part;
            while ((part = reader.nextPart()) != null) {
                String disposition = part.headers().get("Content-Disposition");
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\bname=\"([^\"]+)\"")
                        .matcher(disposition);
                assertThat(m.find()).as(disposition).isTrue();
                String name = m.group(1);
                parts.put(name, part.body().readByteArray());
            }
        }
        return parts;
    }

    @Test
    void bulkDownloadReadsFilesAndPerFileErrors() throws Exception {
        String boundary = "b0undary";
        String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/tmp/a.txt\""
                + "\r\nContent-Type: application/octet-stream\r\n\r\nhello\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"error\"; filename=\"/tmp/missing\""
                + "\r\nContent-Type: application/json\r\n\r\n{\"message\":\"file not found\",\"statusCode\":404}\r\n"
                + "--" + boundary + "--\r\n";
        server.enqueue(new MockResponse.Builder().code(200)
                .setHeader("Content-Type", "multipart/form-data; boundary=" + boundary).body(body).build());
        Map<String, DaytonaToolbox.Download> files = toolbox.downloadFiles(List.of("/tmp/a.txt", "/tmp/missing"));
        assertThat(body(take("POST", "/files/bulk-download"))).isEqualTo(JSON.readTree(
                "{\"paths\":[\"/tmp/a.txt\",\"/tmp/missing\"]}"));
        assertThat(new String(files.get("/tmp/a.txt").content().orElseThrow(), StandardCharsets.UTF_8))
                .isEqualTo("hello");
        assertThat(files.get("/tmp/missing").error()).hasValue("file not found");
    }

    @Test
    void downloadingAMissingFileFailsWithDaytonasReason() {
        String boundary = "xyz";
        server.enqueue(new MockResponse.Builder().code(200)
                .setHeader("Content-Type", "multipart/form-data; boundary=" + boundary)
                .body("--xyz\r\nContent-Disposition: form-data; name=\"error\"; filename=\"/nope\"\r\n\r\n"
                        + "{\"message\":\"no such file\"}\r\n--xyz--\r\n").build());
        assertThatThrownBy(() -> toolbox.download("/nope")).isInstanceOf(BackendException.class)
                .hasMessageContaining("sb-1").hasMessageContaining("/nope").hasMessageContaining("no such file");
    }

    @Test
    void sessionsCreateRunInTheBackgroundAndReportExitAndLogs() throws Exception {
        server.enqueue(new MockResponse.Builder().code(201).build());
        server.enqueue(json(202, "{\"cmdId\":\"c-1\"}"));
        server.enqueue(json(200, "{\"id\":\"c-1\",\"command\":\"make\"}"));
        server.enqueue(json(200, "{\"id\":\"c-1\",\"command\":\"make\",\"exitCode\":2}"));
        server.enqueue(json(200, "{\"output\":\"o e\",\"stdout\":\"o\",\"stderr\":\"e\"}"));
        server.enqueue(new MockResponse.Builder().code(200).setHeader("Content-Type", "text/plain")
                .body("combined output").build());
        server.enqueue(new MockResponse.Builder().code(204).build());

        toolbox.createSession("s-1");
        DaytonaToolbox.SessionCommand cmd = toolbox.sessionExec("s-1", "make", true, Duration.ofSeconds(5));
        assertThat(cmd.cmdId()).isEqualTo("c-1");
        assertThat(cmd.exitCode()).isEmpty();
        assertThat(toolbox.commandExitCode("s-1", "c-1")).isEmpty();
        assertThat(toolbox.commandExitCode("s-1", "c-1")).hasValue(2);
        assertThat(toolbox.commandLogs("s-1", "c-1")).isEqualTo(new DaytonaToolbox.Logs("o", "e"));
        assertThat(toolbox.commandLogs("s-1", "c-1")).as("an older daemon's plain text")
                .isEqualTo(new DaytonaToolbox.Logs("combined output", ""));
        toolbox.deleteSession("s-1");

        assertThat(body(take("POST", "/process/session"))).isEqualTo(JSON.readTree("{\"sessionId\":\"s-1\"}"));
        assertThat(body(take("POST", "/process/session/s-1/exec"))).isEqualTo(JSON.readTree(
                "{\"command\":\"make\",\"runAsync\":true}"));
        take("GET", "/process/session/s-1/command/c-1");
        take("GET", "/process/session/s-1/command/c-1");
        take("GET", "/process/session/s-1/command/c-1/logs");
        take("GET", "/process/session/s-1/command/c-1/logs");
        take("DELETE", "/process/session/s-1");
    }

    @Test
    void aSynchronousSessionCommandCarriesItsOutput() throws Exception {
        server.enqueue(json(200, "{\"cmdId\":\"c-2\",\"output\":\"hi\\n\",\"stdout\":\"hi\\n\",\"stderr\":\"\","
                + "\"exitCode\":0}"));
        DaytonaToolbox.SessionCommand cmd = toolbox.sessionExec("s-1", "echo hi", false, Duration.ofSeconds(5));
        assertThat(cmd.stdout()).hasValue("hi\n");
        assertThat(cmd.exitCode()).hasValue(0);
        assertThat(body(take("POST", "/process/session/s-1/exec"))).isEqualTo(JSON.readTree(
                "{\"command\":\"echo hi\",\"runAsync\":false}"));
    }

    @Test
    void anUnknownSessionIsNotFound() {
        server.enqueue(json(404, "{\"statusCode\":404,\"message\":\"session not found\",\"code\":\"NOT_FOUND\"}"));
        assertThatThrownBy(() -> toolbox.commandExitCode("nope", "c")).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining("session not found");
    }
}
