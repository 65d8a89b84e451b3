package dev.agentruntime.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.BackendException;
import dev.agentruntime.Capability;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.remote.internal.RemoteApi;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import okhttp3.MediaType;
import okhttp3.MultipartReader;
import okio.Buffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every call of the Remote Runtime API and every error path of the remote backend against MockWebServer: the method,
 * path, headers and body of each request, in order, and what the backend makes of each answer.
 */
class RemoteRuntimeRequestShapesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String API_KEY = "tenant-key-123";
    private static final String SESSION_KEY = "session-key-456";
    private static final String SID = "sess-1";
    private static final String RUN_OBSERVATION = """
            {"message": "Command `echo hi` executed with exit code 0.", "observation": "run", "content": "hi",
             "extras": {"command": "echo hi",
                        "metadata": {"exit_code": 0, "pid": -1, "username": "root", "hostname": "box",
                                     "working_dir": "/workspace", "py_interpreter_path": null,
                                     "prefix": "", "suffix": "\\n[The command completed with exit code 0.]"},
                        "hidden": false},
             "success": true}
            """;

    private MockWebServer server;

    @BeforeEach
    void start() throws IOException {
        server = new MockWebServer();
        server.start();
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
    }

    // --------------------------------------------------------------------------------------------- helpers ---

    private RemoteRuntimeConfig.Builder remote() {
        return RemoteRuntimeConfig.builder().apiUrl(server.url("/api").uri()).apiKey(API_KEY);
    }

    private RuntimeConfig.Builder config() {
        return RuntimeConfig.builder().type("remote").sessionId(SID).startupTimeout(Duration.ofSeconds(20))
                .noChangeTimeout(Duration.ofSeconds(7)).env("GREETING", "hello");
    }

    private RemoteRuntime runtime(RuntimeConfig.Builder config, RemoteRuntimeConfig remote) {
        RuntimeConfig built = config.backendConfig(remote).build();
        return new RemoteRuntime(built, remote, new RemoteApi(remote, Duration.ofMillis(10)));
    }

    private String runtimeUrl() {
        return server.url("/rt-1").toString().replaceAll("/$", "");
    }

    private String started() {
        return "{\"runtime_id\": \"rt-1\", \"url\": \"" + runtimeUrl() + "\", \"session_api_key\": \"" + SESSION_KEY
                + "\", \"work_hosts\": {\"" + runtimeUrl() + "/work-1\": 60002}}";
    }

    private String session(String status) {
        return "{\"status\": \"" + status + "\", \"runtime_id\": \"rt-1\", \"session_id\": \"" + SID + "\", \"url\": \""
                + runtimeUrl() + "\", \"session_api_key\": \"" + SESSION_KEY + "\", \"work_hosts\": {}}";
    }

    private static String pod(String status) {
        return "{\"runtime_id\": \"rt-1\", \"pod_status\": \"" + status + "\", \"restart_count\": 0}";
    }

    private static MockResponse json(int code, String body) {
        return new MockResponse.Builder().code(code).setHeader("Content-Type", "application/json").body(body).build();
    }

    private void answer(int code, String body) {
        server.enqueue(json(code, body));
    }

    private void answerReady() {
        answer(200, pod("ready"));
        answer(200, "{\"status\": \"ok\"}"); // /alive
    }

    private RecordedRequest take(String method, String path) throws InterruptedException {
        RecordedRequest request = server.takeRequest(5, TimeUnit.SECONDS);
        assertThat(request).as("a request " + method + " " + path + " reached the server").isNotNull();
        assertThat(request.getMethod() + " " + request.getUrl().encodedPath()).isEqualTo(method + " " + path);
        return request;
    }

    /** An API call: carries X-API-Key, never the session key. */
    private RecordedRequest api(String method, String path) throws InterruptedException {
        RecordedRequest request = take(method, path);
        assertThat(request.getHeaders().get("X-API-Key")).isEqualTo(API_KEY);
        assertThat(request.getHeaders().get("X-Session-API-Key")).isNull();
        return request;
    }

    /** An action-server call through the runtime's URL: carries the session key, and the API key like OpenHands. */
    private RecordedRequest action(String method, String path) throws InterruptedException {
        RecordedRequest request = take(method, "/rt-1" + path);
        assertThat(request.getHeaders().get("X-Session-API-Key")).isEqualTo(SESSION_KEY);
        assertThat(request.getHeaders().get("X-API-Key")).isEqualTo(API_KEY);
        return request;
    }

    private static JsonNode body(RecordedRequest request) throws IOException {
        return JSON.readTree(request.getBody().utf8());
    }

    private void assertControl(String verb) throws Exception {
        RecordedRequest request = api("POST", "/api/" + verb);
        assertThat(body(request)).isEqualTo(JSON.readTree("{\"runtime_id\": \"rt-1\"}"));
        assertThat(request.getHeaders().get("Content-Type")).startsWith("application/json");
    }

    /** GET /sessions → 404, POST /start, GET /runtime pending → ready, /alive. */
    private RemoteRuntime connectedNew(RuntimeConfig.Builder config, RemoteRuntimeConfig remote) throws Exception {
        answer(404, "{\"detail\": \"Session not found\"}");
        answer(200, started());
        answer(200, pod("pending"));
        answerReady();
        RemoteRuntime runtime = runtime(config, remote);
        runtime.connect();
        api("GET", "/api/sessions/" + SID);
        api("POST", "/api/start");
        api("GET", "/api/runtime/rt-1");
        api("GET", "/api/runtime/rt-1");
        take("GET", "/rt-1/alive");
        return runtime;
    }

    // ----------------------------------------------------------------------------------------- start flow ---

    @Test
    void aNewSessionIsStartedWithTheBodyOpenHandsSendsAndWaitsForReadyPodAndAlive() throws Exception {
        answer(404, "{\"detail\": \"Session not found\"}");
        answer(200, started());
        answer(200, pod("not found"));
        answer(200, pod("pending"));
        answer(200, pod("running"));
        answer(200, pod("ready"));
        answer(503, "{}"); // /alive not yet
        answerReady();
        List<RuntimeStatus> statuses = new ArrayList<>();
        RemoteRuntime runtime = runtime(config().statusListener(e -> statuses.add(e.status())), remote()
                .image("registry.example.com/runtime:oh_v0.62.0").runtimeClass("sysbox").resourceFactor(2)
                .command(List.of("python", "-u", "-m", "openhands.runtime.action_execution_server", "60000"))
                .workingDir("/openhands/code/").build());
        runtime.connect();

        api("GET", "/api/sessions/" + SID);
        RecordedRequest start = api("POST", "/api/start");
        assertThat(start.getHeaders().get("Content-Type")).startsWith("application/json");
        assertThat(body(start)).isEqualTo(JSON.readTree("""
                {"image": "registry.example.com/runtime:oh_v0.62.0",
                 "command": ["python", "-u", "-m", "openhands.runtime.action_execution_server", "60000"],
                 "working_dir": "/openhands/code/",
                 "environment": {"GREETING": "hello", "NO_CHANGE_TIMEOUT_SECONDS": "7"},
                 "session_id": "sess-1",
                 "resource_factor": 2,
                 "runtime_class": "sysbox-runc"}"""));
        for (int i = 0; i < 4; i++) {
            api("GET", "/api/runtime/rt-1");
        }
        take("GET", "/rt-1/alive");
        api("GET", "/api/runtime/rt-1");
        take("GET", "/rt-1/alive");
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.READY);
        assertThat(statuses).containsSubsequence(RuntimeStatus.STARTING_RUNTIME, RuntimeStatus.RUNTIME_STARTED,
                RuntimeStatus.READY);
        assertThat(runtime.runtimeId()).contains("rt-1");
        assertThat(runtime.webHosts()).containsExactly(Map.entry(runtimeUrl() + "/work-1", 60002));
        assertThat(runtime.capabilities()).contains(Capability.WEB_HOSTS, Capability.PAUSE_RESUME, Capability.ATTACH);

        answer(200, RUN_OBSERVATION);
        CmdOutputObservation out = runtime.run("echo hi");
        assertThat(out.content()).isEqualTo("hi");
        RecordedRequest execute = action("POST", "/execute_action");
        assertThat(body(execute).at("/action/args/command").asText()).isEqualTo("echo hi");

        answer(200, "{}");
        runtime.close();
        assertControl("stop");
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.CLOSED);
    }

    @Test
    void withoutImageCommandOrClassTheStartBodyLeavesThemToTheServer() throws Exception {
        RemoteRuntime runtime = runtime(config(), remote().build());
        answer(404, "{}");
        answer(200, started());
        answerReady();
        runtime.connect();
        api("GET", "/api/sessions/" + SID);
        assertThat(body(api("POST", "/api/start"))).isEqualTo(JSON.readTree("""
                {"environment": {"GREETING": "hello", "NO_CHANGE_TIMEOUT_SECONDS": "7"},
                 "session_id": "sess-1", "resource_factor": 1}"""));
        answer(200, "{}");
        runtime.close();
    }

    @Test
    void aRunningSessionIsReusedAndAPausedOneResumedFirst() throws Exception {
        answer(200, session("running"));
        answerReady();
        RemoteRuntime reused = runtime(config(), remote().build());
        reused.connect();
        api("GET", "/api/sessions/" + SID);
        api("GET", "/api/runtime/rt-1");
        take("GET", "/rt-1/alive");
        answer(200, "{}");
        reused.close();
        assertControl("stop");

        answer(200, session("paused"));
        answer(200, "{}"); // resume
        answerReady();
        RemoteRuntime resumed = runtime(config(), remote().build());
        resumed.connect();
        api("GET", "/api/sessions/" + SID);
        assertControl("resume");
        api("GET", "/api/runtime/rt-1");
        take("GET", "/rt-1/alive");
        assertThat(resumed.status()).isEqualTo(RuntimeStatus.READY);
        answer(200, "{}");
        resumed.close();
        assertControl("stop");
    }

    @Test
    void aStoppedSessionGetsANewRuntime() throws Exception {
        answer(200, "{\"status\": \"stopped\", \"runtime_id\": \"rt-0\", \"session_id\": \"sess-1\"}");
        answer(200, started());
        answerReady();
        RemoteRuntime runtime = runtime(config(), remote().build());
        runtime.connect();
        api("GET", "/api/sessions/" + SID);
        api("POST", "/api/start");
        assertThat(runtime.runtimeId()).contains("rt-1");
        answer(200, "{}");
        runtime.close();
    }

    @Test
    void attachingWithoutARuntimeFailsWithOpenHandsMessageAndStartsNothing() throws Exception {
        answer(404, "{\"detail\": \"Session not found\"}");
        RemoteRuntime runtime = runtime(config().attachToExisting(true), remote().build());
        assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageStartingWith("Could not find existing runtime for SID: sess-1");
        api("GET", "/api/sessions/" + SID);
        runtime.close();
        assertThat(server.getRequestCount()).as("no /start, no /stop").isEqualTo(1);
    }

    // ---------------------------------------------------------------------------------- wait-until-alive ---

    @Test
    void failedUnknownAndCrashLoopingPodsEndTheWaitWithOpenHandsMessagesAndAreStopped() throws Exception {
        for (String[] c : new String[][] {
                {"failed", "Runtime is unavailable (status: failed). Please try again."},
                {"UNKNOWN", "Runtime is unavailable (status: unknown). Please try again."},
                {"CrashLoopBackOff", RemoteRuntime.CRASHED}}) {
            answer(404, "{}");
            answer(200, started());
            answer(200, pod(c[0]));
            answer(200, "{}"); // the stop after the failed start
            RemoteRuntime runtime = runtime(config(), remote().build());
            assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeUnavailableException.class)
                    .hasMessageStartingWith(c[1]).hasMessageContaining("rt-1").hasMessageContaining(SID);
            assertThat(runtime.status()).isEqualTo(RuntimeStatus.ERROR);
            api("GET", "/api/sessions/" + SID);
            api("POST", "/api/start");
            api("GET", "/api/runtime/rt-1");
            assertControl("stop");
            runtime.close();
        }
    }

    @Test
    void theWaitHasOneDeadline() {
        server.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                String path = request.getUrl().encodedPath();
                if (path.equals("/api/sessions/" + SID)) {
                    return json(404, "{}");
                }
                if (path.equals("/api/start")) {
                    return json(200, started());
                }
                if (path.equals("/api/runtime/rt-1")) {
                    return json(200, pod("pending"));
                }
                return json(200, "{}");
            }
        });
        RemoteRuntime runtime = runtime(config().startupTimeout(Duration.ofMillis(600)), remote().build());
        long started = System.nanoTime();
        assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeTimeoutException.class)
                .hasMessageContaining("was not ready before the startup deadline (last pod_status: pending");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(15));
        runtime.close();
    }

    @Test
    void aRuntimeIdThatDoesNotMatchIsRefused() {
        answer(404, "{}");
        answer(200, started());
        answer(200, "{\"runtime_id\": \"rt-other\", \"pod_status\": \"ready\"}");
        answer(200, "{}");
        RemoteRuntime runtime = runtime(config(), remote().build());
        assertThatThrownBy(runtime::connect).isInstanceOf(BackendException.class)
                .hasMessageContaining("GET /runtime/rt-1 with runtime rt-other");
        runtime.close();
    }

    // ------------------------------------------------------------------------------------- API failures ---

    @Test
    void rateLimitedApiCallsAreSentAgainAfterRetryAfterAtMostThreeTimes() throws Exception {
        answer(404, "{}");
        server.enqueue(new MockResponse.Builder().code(429).setHeader("Retry-After", "0").body("{}").build());
        server.enqueue(new MockResponse.Builder().code(429).body("{\"detail\": \"slow down\"}").build());
        answer(200, started());
        answerReady();
        RemoteRuntime runtime = runtime(config(), remote().build());
        runtime.connect();
        api("GET", "/api/sessions/" + SID);
        api("POST", "/api/start");
        api("POST", "/api/start");
        RecordedRequest third = api("POST", "/api/start");
        assertThat(body(third).get("session_id").asText()).isEqualTo(SID);
        answer(200, "{}");
        runtime.close();

        RemoteApi api = new RemoteApi(remote().build(), Duration.ofMillis(10));
        for (int i = 0; i < 3; i++) {
            server.enqueue(new MockResponse.Builder().code(429).setHeader("Retry-After", "0").body("{}").build());
        }
        int before = server.getRequestCount();
        assertThatThrownBy(api::list).isInstanceOf(BackendException.class).hasMessageContaining("rate limited")
                .hasMessageContaining("GET /list");
        assertThat(server.getRequestCount() - before).isEqualTo(3);
        api.close();
    }

    @Test
    void aFailedStartIsNotSentAgainAndKeepsTheServersWholeAccount() throws Exception {
        String account = "Sandbox rt-1 failed to start: " + "x".repeat(900) + " Last server log lines: Unrecognized"
                + " VM option 'Bogus'";
        answer(404, "{}");
        answer(500, JSON.createObjectNode().put("detail", account).toString());
        RemoteRuntime runtime = runtime(config(), remote().build());
        assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining("POST /start for session sess-1 failed (HTTP 500)")
                .hasMessageContaining(account);
        assertThat(server.getRequestCount()).as("a 500 is not retried, nothing to stop").isEqualTo(2);
        runtime.close();
        assertThat(server.getRequestCount()).isEqualTo(2);
    }

    @Test
    void aRefusedKeyIsAnAuthenticationErrorThatNamesTheSetting() {
        answer(401, "{\"detail\": \"Invalid API key\"}");
        RemoteRuntime runtime = runtime(config(), remote().build());
        assertThatThrownBy(runtime::connect).isInstanceOf(BackendAuthenticationException.class)
                .hasMessageContaining("GET /sessions/sess-1").hasMessageContaining("Invalid API key")
                .hasMessageContaining("SANDBOX_API_KEY").hasMessageNotContaining(API_KEY);
        runtime.close();
    }

    @Test
    void anUnreachableApiIsUnavailableAndNamesTheUrl() throws IOException {
        String url = server.url("/api").toString();
        server.close();
        RemoteRuntime runtime = runtime(config(), remote().build());
        assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeUnavailableException.class)
                .hasMessageContaining("Cannot reach the Remote runtime API at " + url);
        runtime.close();
    }

    // ---------------------------------------------------------------------------------- action failures ---

    @Test
    void actionErrorsMapAsOpenHandsMapsThem() throws Exception {
        RemoteRuntime runtime = connectedNew(config(), remote().build());
        answer(404, "{\"detail\": \"no such runtime\"}");
        assertThatThrownBy(() -> runtime.run("echo hi")).isInstanceOf(RuntimeDisconnectedException.class)
                .hasMessageStartingWith(RemoteRuntime.NOT_RESPONDING + " Original error: HTTP 404")
                .hasMessageContaining("no such runtime");
        action("POST", "/execute_action");
        for (int code : new int[] {502, 504, 503}) {
            answer(code, "{}");
            assertThatThrownBy(() -> runtime.listFiles("/tmp")).isInstanceOf(RuntimeDisconnectedException.class)
                    .hasMessageStartingWith(RemoteRuntime.TEMPORARILY_UNAVAILABLE + " Original error: HTTP " + code);
            action("POST", "/list_files");
        }
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.ERROR_RUNTIME_DISCONNECTED);
        answer(200, "{}");
        runtime.close();
        assertControl("stop");
    }

    @Test
    void a503WithKeepAliveResumesOnceAndSendsTheActionAgain() throws Exception {
        RemoteRuntime runtime = connectedNew(config().keepAlive(true), remote().build());
        answer(503, "{\"detail\": \"paused\"}");
        answer(200, "{}"); // resume
        answerReady();
        answer(200, RUN_OBSERVATION);
        assertThat(runtime.run("echo hi").content()).isEqualTo("hi");
        action("POST", "/execute_action");
        assertControl("resume");
        api("GET", "/api/runtime/rt-1");
        take("GET", "/rt-1/alive");
        action("POST", "/execute_action");
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.READY);

        answer(503, "{}");
        answer(500, "{\"detail\": \"cannot resume\"}");
        assertThatThrownBy(() -> runtime.run("echo hi")).isInstanceOf(RuntimeDisconnectedException.class)
                .hasMessageStartingWith("Runtime is paused and could not be resumed. Original error: HTTP 503")
                .hasMessageContaining("Resume error: ").hasMessageContaining("cannot resume");
        action("POST", "/execute_action");
        assertControl("resume");

        answer(200, "{}");
        runtime.close();
        assertControl("pause"); // keep-alive + pause-on-close
    }

    @Test
    void aRateLimitedActionIsSentAgain() throws Exception {
        RemoteRuntime runtime = connectedNew(config(), remote().build());
        server.enqueue(new MockResponse.Builder().code(429).setHeader("Retry-After", "0").body("{}").build());
        answer(200, RUN_OBSERVATION);
        assertThat(runtime.run("echo hi").content()).isEqualTo("hi");
        action("POST", "/execute_action");
        action("POST", "/execute_action");
        answer(200, "{}");
        runtime.close();
    }

    @Test
    void transfersCarryTheKeysAndGoThroughTheRuntimeUrl(@TempDir Path dir) throws Exception {
        RemoteRuntime runtime = connectedNew(config(), remote().build());
        Path file = Files.writeString(dir.resolve("data.txt"), "payload");
        answer(200, "{\"filename\": \"data.txt\"}");
        runtime.copyTo(file, "/workspace", false);
        RecordedRequest upload = action("POST", "/upload_file");
        assertThat(upload.getUrl().queryParameter("destination")).isEqualTo("/workspace");
        assertThat(upload.getUrl().queryParameter("recursive")).isEqualTo("false");
        MultipartReader parts = new MultipartReader(new Buffer().write(upload.getBody()),
                MediaType.get(upload.getHeaders().get("Content-Type")).parameter("boundary"));
        MultipartReader.Part part = parts.nextPart();
        assertThat(part.headers().get("Content-Disposition")).contains("name=\"file\"").contains("data.txt");
        assertThat(part.body().readUtf8()).isEqualTo("payload");

        server.enqueue(new MockResponse.Builder().code(200).setHeader("Content-Type", "application/zip")
                .body(new Buffer().write(new byte[] {'P', 'K', 5, 6})).build());
        Path zip = runtime.copyFrom("/workspace/data.txt");
        RecordedRequest download = action("GET", "/download_files");
        assertThat(download.getUrl().queryParameter("path")).isEqualTo("/workspace/data.txt");
        Files.deleteIfExists(zip);
        answer(200, "{}");
        runtime.close();
    }

    // ------------------------------------------------------------------------------ close, pause, resume ---

    @Test
    void keepAliveClosesPauseOrLeaveAndPauseResumeUseTheApi() throws Exception {
        RemoteRuntime runtime = connectedNew(config().keepAlive(true), remote().build());
        answer(200, "{}");
        runtime.pause();
        assertControl("pause");
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.PAUSED);
        answer(200, "{}");
        answerReady();
        runtime.resume();
        assertControl("resume");
        api("GET", "/api/runtime/rt-1");
        take("GET", "/rt-1/alive");
        answer(200, "{}");
        runtime.close();
        assertControl("pause");

        RemoteRuntime left = connectedNew(config().keepAlive(true), remote().pauseOnClose(false).build());
        int before = server.getRequestCount();
        left.close();
        assertThat(server.getRequestCount()).as("left running: no call").isEqualTo(before);
    }

    // ------------------------------------------------------------------------------------- housekeeping ---

    @Test
    void housekeepingListsTheKeysRuntimesAndStopsBySession() throws Exception {
        String list = "{\"runtimes\": [{\"session_id\": \"sess-1\", \"status\": \"running\", \"runtime_id\": \"rt-1\","
                + " \"url\": \"" + runtimeUrl() + "\", \"created_at\": \"2025-01-02T03:04:05Z\"},"
                + " {\"session_id\": \"sess-2\", \"status\": \"paused\", \"runtime_id\": \"rt-2\"}]}";
        try (RemoteSandboxes sandboxes = new RemoteSandboxes(remote().build())) {
            answer(200, list);
            List<SandboxInfo> all = sandboxes.list();
            api("GET", "/api/list");
            assertThat(all).extracting(SandboxInfo::sessionId, SandboxInfo::sandboxId, SandboxInfo::state)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("sess-1", "rt-1", "running"),
                            org.assertj.core.groups.Tuple.tuple("sess-2", "rt-2", "paused"));
            assertThat(all.get(0).createdAt()).hasValueSatisfying(at -> assertThat(at).hasToString(
                    "2025-01-02T03:04:05Z"));
            assertThat(all.get(0).type()).isEqualTo("remote");

            answer(200, list);
            answer(200, "{}");
            assertThat(sandboxes.delete("sess-2")).isTrue();
            api("GET", "/api/list");
            RecordedRequest stop = api("POST", "/api/stop");
            assertThat(body(stop)).isEqualTo(JSON.readTree("{\"runtime_id\": \"rt-2\"}"));

            answer(200, list);
            assertThat(sandboxes.delete("sess-9")).isFalse();
            answer(200, list);
            assertThat(sandboxes.reap()).as("owners are the server's business").isEmpty();
        }
    }

    // ----------------------------------------------------------------------------------- images, builds ---

    @Test
    void aBuildContextIsBuiltThroughTheApiOnceThenStarted(@TempDir Path context) throws Exception {
        Files.writeString(context.resolve("Dockerfile"), "FROM debian:bookworm\nRUN echo built\n");
        answer(404, "{}");
        answer(200, "{\"registry_prefix\": \"registry.example.com/agents/\"}");
        answer(200, "{\"exists\": false}");
        answer(200, "{\"build_id\": \"b-1\"}");
        answer(200, "{\"status\": \"WORKING\"}");
        answer(200, "{\"status\": \"SUCCESS\", \"image\": \"registry.example.com/agents/runtime:built\"}");
        answer(200, "{\"exists\": true, \"image\": {\"upload_time\": \"2025-01-01T00:00:00Z\","
                + " \"image_size_bytes\": 1234}}");
        answer(200, started());
        answerReady();
        List<RuntimeStatus> statuses = new ArrayList<>();
        RemoteRuntime runtime = runtime(config().statusListener(e -> statuses.add(e.status())),
                remote().buildContext(context).build());
        runtime.connect();

        api("GET", "/api/sessions/" + SID);
        api("GET", "/api/registry_prefix");
        RecordedRequest exists = api("GET", "/api/image_exists");
        String target = exists.getUrl().queryParameter("image");
        assertThat(target).matches("registry\\.example\\.com/agents/runtime:ar-[0-9a-f]{16}");
        RecordedRequest build = api("POST", "/api/build");
        MultipartReader parts = new MultipartReader(new Buffer().write(build.getBody()),
                MediaType.get(build.getHeaders().get("Content-Type")).parameter("boundary"));
        MultipartReader.Part contextPart = parts.nextPart();
        assertThat(contextPart.headers().get("Content-Disposition")).contains("name=\"context\"")
                .contains("filename=\"context.tar.gz\"");
        byte[] tarGz = Base64.getDecoder().decode(contextPart.body().readUtf8());
        String tar = new String(new GZIPInputStream(new ByteArrayInputStream(tarGz)).readAllBytes(),
                StandardCharsets.ISO_8859_1);
        assertThat(tar).contains("./Dockerfile").contains("RUN echo built");
        MultipartReader.Part targetPart = parts.nextPart();
        assertThat(targetPart.headers().get("Content-Disposition")).contains("name=\"target_image\"");
        assertThat(targetPart.body().readUtf8()).isEqualTo(target);
        assertThat(parts.nextPart()).as("no extra tags").isNull();
        assertThat(api("GET", "/api/build_status").getUrl().queryParameter("build_id")).isEqualTo("b-1");
        api("GET", "/api/build_status");
        assertThat(api("GET", "/api/image_exists").getUrl().queryParameter("image"))
                .isEqualTo("registry.example.com/agents/runtime:built");
        assertThat(body(api("POST", "/api/start")).get("image").asText())
                .isEqualTo("registry.example.com/agents/runtime:built");
        assertThat(statuses).contains(RuntimeStatus.BUILDING_RUNTIME);
        answer(200, "{}");
        runtime.close();
    }

    @Test
    void anExistingImageOfTheContextIsNotBuiltAgainAndAFailedBuildSaysWhy(@TempDir Path context) throws Exception {
        Files.writeString(context.resolve("Dockerfile"), "FROM debian:bookworm\n");
        answer(404, "{}");
        answer(200, "{\"exists\": true}");
        answer(200, started());
        answerReady();
        RemoteRuntime cached = runtime(config(), remote().image("mine:1").buildContext(context).build());
        cached.connect();
        api("GET", "/api/sessions/" + SID);
        assertThat(api("GET", "/api/image_exists").getUrl().queryParameter("image")).isEqualTo("mine:1");
        assertThat(body(api("POST", "/api/start")).get("image").asText()).isEqualTo("mine:1");
        api("GET", "/api/runtime/rt-1");
        take("GET", "/rt-1/alive");
        answer(200, "{}");
        cached.close();
        api("POST", "/api/stop");

        answer(404, "{}");
        answer(200, "{\"exists\": false}");
        answer(200, "{\"build_id\": \"b-2\"}");
        answer(200, "{\"status\": \"FAILURE\", \"error\": \"RUN apt-get failed\"}");
        RemoteRuntime failing = runtime(config(), remote().image("mine:2").buildContext(context).build());
        assertThatThrownBy(failing::connect).isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining("Build b-2 of image mine:2 for session sess-1 ended FAILURE: RUN apt-get failed");
        failing.close();
    }

    @Test
    void theImageCallsReadEveryFieldAndBuildTagsAreRepeatedFields() throws Exception {
        try (RemoteApi api = new RemoteApi(remote().build(), Duration.ofMillis(10))) {
            answer(200, "{\"exists\": true, \"image\": {\"upload_time\": \"2025-01-01T00:00:00Z\","
                    + " \"image_size_bytes\": 1234}}");
            RemoteApi.ImageInfo info = api.imageExists("a/b:c");
            assertThat(info.exists()).isTrue();
            assertThat(info.uploadTime()).contains("2025-01-01T00:00:00Z");
            assertThat(info.sizeBytes()).hasValue(1234);
            assertThat(api("GET", "/api/image_exists").getUrl().encodedQuery()).isEqualTo("image=a%2Fb%3Ac");

            answer(200, "{\"build_id\": \"b-3\"}");
            assertThat(api.build(new byte[] {1, 2, 3}, "repo/runtime:t0", List.of("repo/runtime:t1",
                    "repo/runtime:t2"))).isEqualTo("b-3");
            RecordedRequest build = api("POST", "/api/build");
            MultipartReader parts = new MultipartReader(new Buffer().write(build.getBody()),
                    MediaType.get(build.getHeaders().get("Content-Type")).parameter("boundary"));
            assertThat(Base64.getDecoder().decode(parts.nextPart().body().readUtf8())).containsExactly(1, 2, 3);
            assertThat(parts.nextPart().body().readUtf8()).isEqualTo("repo/runtime:t0");
            MultipartReader.Part tag1 = parts.nextPart();
            assertThat(tag1.headers().get("Content-Disposition")).contains("name=\"tags\"");
            assertThat(tag1.body().readUtf8()).isEqualTo("repo/runtime:t1");
            assertThat(parts.nextPart().body().readUtf8()).isEqualTo("repo/runtime:t2");

            answer(200, "{\"status\": \"TIMEOUT\", \"error\": \"took too long\"}");
            RemoteApi.BuildStatus status = api.buildStatus("b-3");
            assertThat(status.failed()).isTrue();
            assertThat(status.error()).contains("took too long");

            answer(200, "{\"registry_prefix\": \"r.example/p\"}");
            assertThat(api.registryPrefix()).isEqualTo("r.example/p");
            answer(200, "{\"no\": \"prefix\"}");
            assertThatThrownBy(api::registryPrefix).isInstanceOf(BackendException.class)
                    .hasMessageContaining("without 'registry_prefix'");
            answer(200, "<html>not json</html>");
            assertThatThrownBy(() -> api.imageExists("x")).isInstanceOf(BackendException.class)
                    .hasMessageContaining("not JSON");
        }
    }
}
