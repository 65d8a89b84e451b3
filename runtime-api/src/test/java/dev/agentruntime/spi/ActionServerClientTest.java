package dev.agentruntime.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.agentruntime.ActionFailedException;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.CmdOutputMetadata;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.FileReadObservation;
import dev.agentruntime.FileWriteAction;
import dev.agentruntime.Observation;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.Secret;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import mockwebserver3.SocketEffect;
import okhttp3.MediaType;
import okhttp3.MultipartReader;
import okio.Buffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ActionServerClientTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "session-key-123";
    private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);
    private static final String RUN_OBSERVATION = """
            {"message": "Command `ls -l` executed with exit code 0.", "observation": "run", "content": "total 0",
             "extras": {"command": "ls -l",
                        "metadata": {"exit_code": 0, "pid": -1, "username": "openhands", "hostname": "box",
                                     "working_dir": "/workspace", "py_interpreter_path": null,
                                     "prefix": "", "suffix": "\\n[The command completed with exit code 0.]"},
                        "hidden": false},
             "success": true}
            """;

    @TempDir
    Path tmp;

    private MockWebServer server;
    private ActionServerClient client;

    @BeforeEach
    void start() throws IOException {
        server = new MockWebServer();
        server.start();
        client = new ActionServerClient(ServerEndpoint.of(server.url("/").uri(), Secret.of(KEY)), "sess-1");
    }

    @AfterEach
    void stop() throws IOException {
        client.close();
        server.close();
    }

    private static MockResponse json(int code, String body) {
        return new MockResponse.Builder().code(code).setHeader("Content-Type", "application/json").body(body).build();
    }

    private static JsonNode tree(String json) throws IOException {
        return JSON.readTree(json);
    }

    private RecordedRequest take() throws InterruptedException {
        RecordedRequest request = server.takeRequest(5, TimeUnit.SECONDS);
        assertThat(request).as("a request reached the server").isNotNull();
        return request;
    }

    // ------------------------------------------------------------------------------------ execute_action

    @Test
    void aFailureMapperDecidesFirstAndTheDefaultMappingStaysForTheRest() throws Exception {
        List<String> seen = new ArrayList<>();
        ActionServerClient mapped = client.withFailureMapper((call, status, header, body) -> {
            seen.add(call + " " + status + " " + header.apply("Retry-After") + " " + body);
            return status == 503 ? Optional.of(new RuntimeDisconnectedException("paused behind the gateway"))
                    : Optional.empty();
        });
        server.enqueue(new MockResponse.Builder().code(503).setHeader("Retry-After", "3").body("{}").build());
        assertThatThrownBy(() -> mapped.execute(CmdRunAction.of("ls"), DEFAULT_TIMEOUT))
                .isInstanceOf(RuntimeDisconnectedException.class).hasMessage("paused behind the gateway");
        server.enqueue(json(404, "{\"detail\":\"gone\"}"));
        assertThatThrownBy(() -> mapped.listFiles(null)).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining("gone");
        assertThat(seen).containsExactly("execute_action 503 3 {}", "list_files 404 null {\"detail\":\"gone\"}");
        assertThat(take().getHeaders().get("X-Session-API-Key")).as("same endpoint and key").isEqualTo(KEY);
    }

    @Test
    void sendsTheSessionApiKeyHeader() throws Exception {
        server.enqueue(json(200, RUN_OBSERVATION));
        client.execute(CmdRunAction.of("ls -l"), DEFAULT_TIMEOUT);
        assertThat(take().getHeaders().get("X-Session-API-Key")).isEqualTo(KEY);
    }

    @Test
    void everyCallCarriesTheEndpointsHeadersAndPathPrefixTransfersIncluded(@TempDir Path dir) throws Exception {
        ServerEndpoint endpoint = ServerEndpoint.of(server.url("/").uri(), Secret.of(KEY)).withPathPrefix("/rt-42")
                .withSecretHeader("X-Traffic-Token", Secret.of("traffic-secret")).withHeader("E2b-Sandbox-Id", "sb-1");
        ActionServerClient routed = new ActionServerClient(endpoint, "sess-1");
        server.enqueue(json(200, RUN_OBSERVATION));
        server.enqueue(json(200, "[]"));
        server.enqueue(json(200, "{}"));
        server.enqueue(new MockResponse.Builder().body("PK").build());
        server.enqueue(json(200, "{\"status\": \"ok\"}"));
        routed.execute(CmdRunAction.of("ls"), DEFAULT_TIMEOUT);
        routed.listFiles("/workspace");
        routed.upload(Files.writeString(dir.resolve("f.txt"), "x"), "/workspace", false);
        routed.download("/workspace", dir.resolve("out.zip"));
        routed.isAlive();
        for (String path : List.of("/rt-42/execute_action", "/rt-42/list_files", "/rt-42/upload_file",
                "/rt-42/download_files", "/rt-42/alive")) {
            RecordedRequest request = take();
            assertThat(request.getUrl().encodedPath()).isEqualTo(path);
            assertThat(request.getHeaders().get("X-Session-API-Key")).as(path).isEqualTo(KEY);
            assertThat(request.getHeaders().get("X-Traffic-Token")).as(path).isEqualTo("traffic-secret");
            assertThat(request.getHeaders().get("E2b-Sandbox-Id")).as(path).isEqualTo("sb-1");
        }
        assertThat(endpoint.toString()).doesNotContain("traffic-secret").doesNotContain(KEY).contains("REDACTED");
    }

    @Test
    void neitherTheKeyNorASecretHeaderReachesTheLogsAtTrace() throws Exception {
        String secret = "trace-secret-" + System.nanoTime();
        ActionServerClient traced = new ActionServerClient(ServerEndpoint.of(server.url("/").uri(), Secret.of(secret))
                .withSecretHeader("X-Token", Secret.of(secret + "-header")), "sess-trace");
        server.enqueue(json(200, RUN_OBSERVATION));
        server.enqueue(json(403, "{\"detail\": \"Invalid API Key\"}"));
        traced.execute(CmdRunAction.of("echo traced-command"), DEFAULT_TIMEOUT);
        assertThatThrownBy(() -> traced.execute(CmdRunAction.of("echo refused"), DEFAULT_TIMEOUT))
                .isInstanceOf(ActionFailedException.class).hasMessageNotContaining(secret);
        List<String> lines = dev.agentruntime.testlog.CapturingLoggers.lines();
        assertThat(lines).as("TRACE is on and the wire bodies are logged").anyMatch(l -> l.startsWith("TRACE")
                && l.contains("traced-command"));
        assertThat(lines).noneMatch(l -> l.contains(secret));
    }

    @Test
    void aBusyServerThatDidNotReadTheRequestIsAskedAgain() throws Exception {
        server.enqueue(json(503, "{\"detail\": \"The server is busy with other large requests; retry later\"}"));
        server.enqueue(json(200, RUN_OBSERVATION));
        assertThat(client.execute(CmdRunAction.of("ls -l"), DEFAULT_TIMEOUT).content()).isEqualTo("total 0");
        assertThat(server.getRequestCount()).isEqualTo(2);
        server.enqueue(json(503, "{\"detail\": \"upstream sandbox unreachable\"}"));
        assertThatThrownBy(() -> client.execute(CmdRunAction.of("echo hi"), DEFAULT_TIMEOUT))
                .isInstanceOf(dev.agentruntime.RuntimeUnavailableException.class);
        assertThat(server.getRequestCount()).as("a proxy's 503 may hide a request that ran: not re-sent").isEqualTo(3);
    }

    @Test
    void sendsNoKeyHeaderWhenThereIsNoKey() throws Exception {
        ActionServerClient open = new ActionServerClient(
                new ServerEndpoint(server.url("/").uri(), Optional.empty(), List.of()), "sess-1");
        server.enqueue(json(200, RUN_OBSERVATION));
        open.execute(CmdRunAction.of("ls -l"), DEFAULT_TIMEOUT);
        assertThat(take().getHeaders().get("X-Session-API-Key")).isNull();
    }

    @Test
    void postsTheActionWithTheDefaultTimeoutWhenTheActionHasNone() throws Exception {
        server.enqueue(json(200, RUN_OBSERVATION));
        client.execute(CmdRunAction.of("ls -l"), DEFAULT_TIMEOUT);
        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getTarget()).isEqualTo("/execute_action");
        assertThat(request.getHeaders().get("Content-Type")).startsWith("application/json");
        String body = request.getBody().utf8();
        assertThat(tree(body)).isEqualTo(tree("""
                {"action": {"message": "Running command: ls -l", "action": "run",
                            "args": {"command": "ls -l", "is_input": false, "thought": "", "blocking": false,
                                     "is_static": false, "cwd": null, "hidden": false,
                                     "confirmation_state": "confirmed", "security_risk": -1},
                            "timeout": 120.0}}
                """));
        assertThat(body).contains("\"timeout\":120.0");
    }

    @Test
    void postsTheActionsOwnTimeoutWhenSet() throws Exception {
        server.enqueue(json(200, RUN_OBSERVATION));
        client.execute(CmdRunAction.of("make").withTimeout(Duration.ofSeconds(30)), DEFAULT_TIMEOUT);
        JsonNode action = tree(take().getBody().utf8()).get("action");
        assertThat(action.get("timeout").asDouble()).isEqualTo(30.0);
        assertThat(action.at("/args/blocking").asBoolean()).isTrue();
    }

    @Test
    void decodesTheObservation() {
        server.enqueue(json(200, RUN_OBSERVATION));
        Observation observation = client.execute(CmdRunAction.of("ls -l"), DEFAULT_TIMEOUT);
        assertThat(observation).isEqualTo(new CmdOutputObservation("total 0", "ls -l",
                new CmdOutputMetadata(0, -1, "openhands", "box", "/workspace", null, "",
                        "\n[The command completed with exit code 0.]"), false));
    }

    @Test
    void decodesOtherObservationTypes() {
        server.enqueue(json(200, """
                {"observation": "read", "content": "hi\\n", "extras": {"path": "/w/a.txt", "impl_source": "default"}}
                """));
        assertThat(client.execute(FileWriteAction.of("/w/a.txt", "hi"), DEFAULT_TIMEOUT))
                .isInstanceOf(FileReadObservation.class);
    }

    @Test
    void hiddenCommandsComeBackFlaggedHiddenLikeOpenHandsClient() {
        server.enqueue(json(200, RUN_OBSERVATION)); // an OpenHands server does not echo hidden
        Observation observation = client.execute(CmdRunAction.of("ls -l").withHidden(true), DEFAULT_TIMEOUT);
        assertThat(((CmdOutputObservation) observation).hidden()).isTrue();
    }

    @Test
    void reusesThePooledConnection() throws Exception {
        server.enqueue(json(200, RUN_OBSERVATION));
        server.enqueue(json(200, RUN_OBSERVATION));
        client.execute(CmdRunAction.of("ls -l"), DEFAULT_TIMEOUT);
        client.execute(CmdRunAction.of("ls -l"), DEFAULT_TIMEOUT);
        assertThat(take().getExchangeIndex()).isZero();
        assertThat(take().getExchangeIndex()).as("second request on the same keep-alive connection").isEqualTo(1);
    }

    @Test
    void idleConnectionsAreDroppedBeforeTypicalServerIdleTimeouts() {
        assertThat(ActionServerClient.POOL_KEEP_ALIVE).as("below uvicorn's 5 s keep-alive timeout")
                .isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void aConnectionTheServerClosedWhileIdleIsNotReusedOnceExpired() throws Exception {
        // The server closes the connection after answering (as uvicorn does after 5 s idle); with a pool keep-alive
        // below the server's, the next action opens a fresh connection instead of failing as a disconnect.
        okhttp3.ConnectionPool pool = new okhttp3.ConnectionPool(5, 50, TimeUnit.MILLISECONDS);
        ActionServerClient shortLived = new ActionServerClient(ServerEndpoint.of(server.url("/").uri(), Secret.of(KEY)), "sess-1",
                new okhttp3.OkHttpClient.Builder().connectionPool(pool).build());
        server.enqueue(json(200, RUN_OBSERVATION).newBuilder().onResponseEnd(SocketEffect.ShutdownConnection.INSTANCE).build());
        server.enqueue(json(200, RUN_OBSERVATION));
        shortLived.execute(CmdRunAction.of("ls -l"), DEFAULT_TIMEOUT);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (pool.connectionCount() > 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait(); // wait for the pool to evict the idle connection (the condition under test)
        }
        assertThat(pool.connectionCount()).as("idle connection evicted").isZero();
        assertThat(shortLived.execute(CmdRunAction.of("ls -l"), DEFAULT_TIMEOUT)).isInstanceOf(CmdOutputObservation.class);
        assertThat(server.getRequestCount()).isEqualTo(2);
    }

    // --------------------------------------------------------------------------------- error mapping

    @Test
    void forbiddenMeansAWrongSessionApiKey() {
        server.enqueue(json(403, "{\"detail\": \"Invalid API Key\"}"));
        assertThatThrownBy(() -> client.execute(CmdRunAction.of("ls"), DEFAULT_TIMEOUT))
                .isInstanceOfSatisfying(ActionFailedException.class, e -> {
                    assertThat(e.httpStatus()).isEqualTo(403);
                    assertThat(e.isTransient()).isFalse();
                })
                .hasMessageContaining("session API key")
                .hasMessageContaining("Invalid API Key")
                .hasMessageContaining("sess-1")
                .hasMessageNotContaining(KEY);
    }

    @Test
    void unprocessableActionCarriesTheServersDetail() {
        server.enqueue(json(422, "{\"detail\": \"Missing required field 'command' in args of action 'run'\"}"));
        assertThatThrownBy(() -> client.execute(CmdRunAction.of("ls"), DEFAULT_TIMEOUT))
                .isInstanceOfSatisfying(ActionFailedException.class, e -> assertThat(e.httpStatus()).isEqualTo(422))
                .hasMessageContaining("HTTP 422")
                .hasMessageContaining("Missing required field 'command' in args of action 'run'");
    }

    @Test
    void openHandsValidationErrorsAreIncludedInTheMessage() {
        server.enqueue(json(422, """
                {"detail": "Invalid request parameters", "errors": "[{'loc': ('body', 'action'), 'msg': 'field required'}]"}
                """));
        assertThatThrownBy(() -> client.execute(CmdRunAction.of("ls"), DEFAULT_TIMEOUT))
                .isInstanceOf(ActionFailedException.class)
                .hasMessageContaining("Invalid request parameters")
                .hasMessageContaining("field required");
    }

    @Test
    void structuredDetailIsShownNotDropped() {
        server.enqueue(json(422, "{\"detail\": [{\"loc\": [\"body\"], \"msg\": \"field required\"}]}"));
        assertThatThrownBy(() -> client.execute(CmdRunAction.of("ls"), DEFAULT_TIMEOUT))
                .isInstanceOf(ActionFailedException.class)
                .hasMessageContaining("field required");
    }

    @Test
    void serviceUnavailableIsTransient() {
        server.enqueue(json(503, "{\"detail\": \"starting\"}"));
        assertThatThrownBy(() -> client.execute(CmdRunAction.of("ls"), DEFAULT_TIMEOUT))
                .isInstanceOfSatisfying(RuntimeUnavailableException.class, e -> assertThat(e.isTransient()).isTrue())
                .hasMessageContaining("HTTP 503")
                .hasMessageContaining("starting");
    }

    @Test
    void internalServerErrorIsNotTransient() {
        server.enqueue(json(500, "{\"detail\": \"Internal server error: boom\"}"));
        assertThatThrownBy(() -> client.execute(CmdRunAction.of("ls"), DEFAULT_TIMEOUT))
                .isExactlyInstanceOf(AgentRuntimeException.class)
                .satisfies(e -> assertThat(((AgentRuntimeException) e).isTransient()).isFalse())
                .hasMessageContaining("HTTP 500")
                .hasMessageContaining("Internal server error: boom");
    }

    @Test
    void nonJsonErrorBodyIsShownRaw() {
        server.enqueue(new MockResponse.Builder().code(500).body("<html>proxy error</html>").build());
        assertThatThrownBy(() -> client.execute(CmdRunAction.of("ls"), DEFAULT_TIMEOUT))
                .isInstanceOf(AgentRuntimeException.class)
                .hasMessageContaining("<html>proxy error</html>");
    }

    @Test
    void notFoundIsRuntimeNotFound() {
        server.enqueue(json(404, "{\"detail\": \"Not Found\"}"));
        assertThatThrownBy(() -> client.execute(CmdRunAction.of("ls"), DEFAULT_TIMEOUT))
                .isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining("HTTP 404");
    }

    @Test
    void aSuccessfulNonObservationBodyIsReported() {
        server.enqueue(json(200, "{\"status\": \"ok\"}"));
        assertThatThrownBy(() -> client.execute(CmdRunAction.of("ls"), DEFAULT_TIMEOUT))
                .isInstanceOf(ActionFailedException.class)
                .hasMessageContaining("not an observation");
    }

    @Test
    void aServerThatNeverAnswersTimesOutAfterTheActionTimeoutPlusFiveSeconds() throws Exception {
        server.enqueue(new MockResponse.Builder().onResponseStart(SocketEffect.Stall.INSTANCE).build());
        Duration actionTimeout = Duration.ofMillis(100);
        long started = System.nanoTime();
        assertThatThrownBy(() -> client.execute(CmdRunAction.of("sleep 1000"), actionTimeout))
                .isInstanceOfSatisfying(RuntimeTimeoutException.class, e -> assertThat(e.isTransient()).isTrue())
                .hasMessageContaining("Runtime failed to return execute_action before the requested timeout of 0.1s");
        Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
        assertThat(elapsed).as("OpenHands' HTTP timeout is the action timeout + 5 s")
                .isGreaterThanOrEqualTo(Duration.ofMillis(5_100))
                .isLessThan(Duration.ofMillis(5_100 + 3_000));
        assertThat(server.getRequestCount()).as("a timed-out POST is not retried").isEqualTo(1);
        assertThat(take().getBody().utf8()).contains("\"timeout\":0.1");
    }

    @Test
    void aConnectionDroppedMidResponseIsADisconnectAndThePostIsNotRetried() {
        server.enqueue(new MockResponse.Builder().onResponseStart(new SocketEffect.CloseSocket(true, false, false)).build());
        server.enqueue(json(200, RUN_OBSERVATION)); // a retry would succeed: it must not happen
        assertThatThrownBy(() -> client.execute(CmdRunAction.of("rm -rf build && make"), DEFAULT_TIMEOUT))
                .isInstanceOfSatisfying(RuntimeDisconnectedException.class, e -> assertThat(e.isTransient()).isTrue())
                .hasMessageContaining("sess-1")
                .hasMessageContaining("may or may not have run");
        assertThat(server.getRequestCount()).isEqualTo(1);
    }

    @Test
    void aRefusedConnectionIsUnavailableAfterRetries() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        ActionServerClient refused = new ActionServerClient(ServerEndpoint.of(URI.create("http://127.0.0.1:" + port), Secret.of(KEY)), "sess-2");
        assertThatThrownBy(() -> refused.execute(CmdRunAction.of("ls"), DEFAULT_TIMEOUT))
                .isInstanceOfSatisfying(RuntimeUnavailableException.class, e -> assertThat(e.isTransient()).isTrue())
                .hasMessageContaining("Cannot connect to the action server of sandbox sess-2")
                .hasMessageContaining("127.0.0.1:" + port)
                .hasMessageContaining("execute_action");
    }

    // ------------------------------------------------------------------------------------- list_files

    @Test
    void listFilesDecodesTheArray() throws Exception {
        server.enqueue(json(200, "[\"src/\", \".hidden\", \"README.md\"]"));
        assertThat(client.listFiles("/workspace")).containsExactly("src/", ".hidden", "README.md");
        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getTarget()).isEqualTo("/list_files");
        assertThat(request.getHeaders().get("X-Session-API-Key")).isEqualTo(KEY);
        assertThat(tree(request.getBody().utf8())).isEqualTo(tree("{\"path\": \"/workspace\"}"));
    }

    @Test
    void listFilesWithoutPathSendsAnEmptyObject() throws Exception {
        server.enqueue(json(200, "[]"));
        assertThat(client.listFiles(null)).isEmpty();
        assertThat(tree(take().getBody().utf8())).isEqualTo(tree("{}"));
    }

    @Test
    void listFilesRejectsANonArrayAnswer() {
        server.enqueue(json(200, "{\"detail\": \"oops\"}"));
        assertThatThrownBy(() -> client.listFiles("/workspace"))
                .isInstanceOf(AgentRuntimeException.class)
                .hasMessageContaining("list_files");
        server.enqueue(json(200, "not json"));
        assertThatThrownBy(() -> client.listFiles("/workspace"))
                .isInstanceOf(AgentRuntimeException.class)
                .hasMessageContaining("list_files");
    }

    // ---------------------------------------------------------------------------------------- upload

    /** The parts of a multipart body, by form field name: filename and content. */
    private record Part(String disposition, String contentType, byte[] content) {
    }

    private static Map<String, Part> multipart(RecordedRequest request) throws IOException {
        MediaType type = MediaType.get(request.getHeaders().get("Content-Type"));
        assertThat(type.type() + "/" + type.subtype()).isEqualTo("multipart/form-data");
        Map<String, Part> parts = new LinkedHashMap<>();
        try (MultipartReader reader = new MultipartReader(new Buffer().write(request.getBody()), type.parameter("boundary"))) {
            MultipartReader.Part part;
            while ((part = reader.nextPart()) != null) {
                String disposition = part.headers().get("Content-Disposition");
                String name = disposition.replaceAll("^.*?(?:^|;\\s*)name=\"([^\"]*)\".*$", "$1");
                parts.put(name, new Part(disposition, part.headers().get("Content-Type"), part.body().readByteArray()));
            }
        }
        return parts;
    }

    private static List<String> zipEntries(byte[] zip, Map<String, String> contents) throws IOException {
        List<String> names = new ArrayList<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            ZipEntry entry;
            while ((entry = in.getNextEntry()) != null) {
                names.add(entry.getName());
                if (!entry.isDirectory()) {
                    contents.put(entry.getName(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
                }
            }
        }
        return names;
    }

    @Test
    void uploadSendsAFileAsMultipartWithDestinationAndRecursiveQuery() throws Exception {
        Path file = Files.writeString(tmp.resolve("hello.txt"), "hello world");
        server.enqueue(json(200, "{\"filename\": \"hello.txt\", \"destination\": \"/workspace\", \"recursive\": false}"));
        client.upload(file, "/workspace", false);
        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getUrl().encodedPath()).isEqualTo("/upload_file");
        assertThat(request.getUrl().queryParameter("destination")).isEqualTo("/workspace");
        assertThat(request.getUrl().queryParameter("recursive")).isEqualTo("false");
        assertThat(request.getHeaders().get("X-Session-API-Key")).isEqualTo(KEY);
        Map<String, Part> parts = multipart(request);
        assertThat(parts).containsOnlyKeys("file");
        assertThat(parts.get("file").disposition()).contains("filename=\"hello.txt\"");
        assertThat(new String(parts.get("file").content(), StandardCharsets.UTF_8)).isEqualTo("hello world");
    }

    @Test
    void uploadZipsADirectoryKeepingItsName() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("project"));
        Files.writeString(dir.resolve("a.txt"), "A");
        Files.createDirectories(dir.resolve("sub/empty"));
        Files.writeString(dir.resolve("sub/b.txt"), "B");
        server.enqueue(json(200, "{}"));
        client.upload(dir, "/workspace", true);
        RecordedRequest request = take();
        assertThat(request.getUrl().queryParameter("destination")).isEqualTo("/workspace");
        assertThat(request.getUrl().queryParameter("recursive")).isEqualTo("true");
        Part part = multipart(request).get("file");
        assertThat(part.disposition()).contains("filename=\"project.zip\"");
        assertThat(part.contentType()).isEqualTo("application/zip");
        Map<String, String> contents = new LinkedHashMap<>();
        assertThat(zipEntries(part.content(), contents)).containsExactlyInAnyOrder(
                "project/", "project/a.txt", "project/sub/", "project/sub/b.txt", "project/sub/empty/");
        assertThat(contents).containsExactlyInAnyOrderEntriesOf(Map.of("project/a.txt", "A", "project/sub/b.txt", "B"));
    }

    @Test
    void uploadOfARelativeDirectoryStillKeepsItsName() throws Exception {
        Path relative = Path.of("upload-relative-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        try {
            Files.createDirectories(relative);
            Files.writeString(relative.resolve("a.txt"), "A");
            server.enqueue(json(200, "{}"));
            client.upload(relative, "/workspace", true);
            Part part = multipart(take()).get("file");
            assertThat(part.disposition()).contains("filename=\"" + relative + ".zip\"");
            assertThat(zipEntries(part.content(), new LinkedHashMap<>()))
                    .containsExactlyInAnyOrder(relative + "/", relative + "/a.txt");
        } finally {
            Files.deleteIfExists(relative.resolve("a.txt"));
            Files.deleteIfExists(relative);
        }
    }

    @Test
    void uploadFailureCarriesTheServersDetail() throws Exception {
        Path file = Files.writeString(tmp.resolve("x.txt"), "x");
        server.enqueue(json(500, "{\"detail\": \"400: Destination must be an absolute path\"}"));
        assertThatThrownBy(() -> client.upload(file, "/workspace", false))
                .isInstanceOf(AgentRuntimeException.class)
                .hasMessageContaining("upload_file")
                .hasMessageContaining("Destination must be an absolute path");
    }

    // -------------------------------------------------------------------------------------- download

    @Test
    void downloadStreamsTheZipIntoTheTargetFile() throws Exception {
        byte[] zip = new byte[200_000];
        for (int i = 0; i < zip.length; i++) {
            zip[i] = (byte) (i * 31);
        }
        server.enqueue(new MockResponse.Builder().setHeader("Content-Type", "application/zip")
                .body(new Buffer().write(zip)).build());
        Path target = tmp.resolve("out.zip");
        client.download("/workspace/dir", target);
        assertThat(Files.readAllBytes(target)).isEqualTo(zip);
        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("GET");
        assertThat(request.getUrl().encodedPath()).isEqualTo("/download_files");
        assertThat(request.getUrl().queryParameter("path")).isEqualTo("/workspace/dir");
        assertThat(request.getHeaders().get("X-Session-API-Key")).isEqualTo(KEY);
    }

    @Test
    void downloadOfAMissingPathReportsTheServersDetail() {
        server.enqueue(json(500, "{\"detail\": \"404: File not found\"}"));
        assertThatThrownBy(() -> client.download("/nope", tmp.resolve("x.zip")))
                .isInstanceOf(AgentRuntimeException.class)
                .hasMessageContaining("download_files")
                .hasMessageContaining("404: File not found");
    }

    // ------------------------------------------------------------------------------------- awaitAlive

    /** Answers /alive with 503 until {@code okAfter} probes were refused, then 200. */
    private static Dispatcher aliveAfter(int okAfter, AtomicInteger probes) {
        return new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                if (!"/alive".equals(request.getTarget())) {
                    return new MockResponse.Builder().code(404).build();
                }
                return probes.incrementAndGet() > okAfter ? json(200, "{\"status\": \"ok\"}")
                        : json(503, "{\"status\": \"not initialized\"}");
            }
        };
    }

    @Test
    void awaitAliveReturnsOnceAliveAnswers200() {
        AtomicInteger probes = new AtomicInteger();
        server.setDispatcher(aliveAfter(3, probes));
        client.awaitAlive(Instant.now().plusSeconds(10), () -> true, () -> "no logs");
        assertThat(probes).hasValue(4);
    }

    @Test
    void awaitAliveFailsFastWithDiagnosticsWhenTheSandboxStopped() {
        AtomicInteger probes = new AtomicInteger();
        server.setDispatcher(aliveAfter(Integer.MAX_VALUE, probes));
        assertThatThrownBy(() -> client.awaitAlive(Instant.now().plusSeconds(10), () -> false,
                () -> "Last server log lines:\n  Error: port in use"))
                .isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining("stopped before it became ready")
                .hasMessageContaining("sess-1")
                .hasMessageContaining("Error: port in use");
        assertThat(probes).hasValue(1);
    }

    @Test
    void awaitAliveTimesOutWithDiagnostics() {
        server.setDispatcher(aliveAfter(Integer.MAX_VALUE, new AtomicInteger()));
        long started = System.nanoTime();
        assertThatThrownBy(() -> client.awaitAlive(Instant.now().plusMillis(300), () -> true,
                () -> "Last server log lines: still compiling"))
                .isInstanceOfSatisfying(RuntimeTimeoutException.class, e -> assertThat(e.isTransient()).isTrue())
                .hasMessageContaining("did not answer /alive before the startup deadline")
                .hasMessageContaining("still compiling");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void awaitAliveKeepsItsDeadlineWhenAProbeHangs() {
        server.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                return new MockResponse.Builder().onResponseStart(SocketEffect.Stall.INSTANCE).build();
            }
        });
        long started = System.nanoTime();
        assertThatThrownBy(() -> client.awaitAlive(Instant.now().plusMillis(300), () -> true, () -> "diag"))
                .isInstanceOf(RuntimeTimeoutException.class)
                .hasMessageContaining("diag");
        assertThat(Duration.ofNanos(System.nanoTime() - started))
                .as("one overall deadline: a hanging probe must not add its own 5 s")
                .isLessThan(Duration.ofSeconds(2));
    }

    @Test
    void isAliveIsFalseOnErrorStatus() {
        server.enqueue(json(503, "{}"));
        assertThat(client.isAlive()).isFalse();
        server.enqueue(json(200, "{\"status\": \"ok\"}"));
        assertThat(client.isAlive()).isTrue();
    }
}
