package dev.agentruntime.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.agentruntime.ActionFailedException;
import dev.agentruntime.Capability;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.Secret;
import dev.agentruntime.StatusEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import mockwebserver3.SocketEffect;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ActionServerRuntimeTest {

    private static final String KEY = "runtime-key";
    private static final String RUN_OBSERVATION = """
            {"observation": "run", "content": "hi", "extras": {"command": "echo hi",
             "metadata": {"exit_code": 0, "pid": -1, "username": null, "hostname": null, "working_dir": "/workspace",
                          "py_interpreter_path": null, "prefix": "", "suffix": ""}, "hidden": false}, "success": true}
            """;

    @TempDir
    Path tmp;

    private MockWebServer server;
    private final List<StatusEvent> events = new CopyOnWriteArrayList<>();
    /** What the fake server answers to /execute_action; /alive answers {@link #alive}. */
    private volatile MockResponse executeResponse = json(200, RUN_OBSERVATION);
    private volatile int alive = 200;

    @BeforeEach
    void start() throws IOException {
        server = new MockWebServer();
        server.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                String path = request.getUrl().encodedPath().replaceFirst("^/moved/", "/"); // a resumed server moved
                return switch (path) {
                    case "/alive" -> json(alive, "{\"status\": \"ok\"}");
                    case "/execute_action" -> executeResponse;
                    case "/upload_file" -> json(200, "{}");
                    case "/download_files" -> new MockResponse.Builder().body("PK-zip-bytes").build();
                    case "/list_files" -> json(200, "[\"a/\", \"b.txt\"]");
                    default -> json(404, "{\"detail\": \"Not Found\"}");
                };
            }
        });
        server.start();
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
    }

    private static MockResponse json(int code, String body) {
        return new MockResponse.Builder().code(code).setHeader("Content-Type", "application/json").body(body).build();
    }

    private RuntimeConfig.Builder config() {
        return RuntimeConfig.builder().type("test").sessionId("sess-rt").statusListener(events::add);
    }

    private List<RuntimeStatus> statuses() {
        return events.stream().map(StatusEvent::status).toList();
    }

    /** A backend whose "sandbox" is the MockWebServer; it counts starts and stops. */
    private final class TestRuntime extends ActionServerRuntime {
        final AtomicInteger starts = new AtomicInteger();
        final AtomicInteger stops = new AtomicInteger();
        volatile RuntimeException startFailure;
        volatile boolean running = true;

        TestRuntime(RuntimeConfig config) {
            super(config);
        }

        @Override
        protected ServerEndpoint startSandbox(Instant deadline) {
            starts.incrementAndGet();
            if (startFailure != null) {
                throw startFailure;
            }
            return ServerEndpoint.of(server.url("/").uri(), Secret.of(KEY));
        }

        @Override
        protected void stopSandbox() {
            stops.incrementAndGet();
        }

        @Override
        protected boolean sandboxRunning() {
            return running;
        }

        @Override
        protected String failureContext() {
            return "Last server log lines:\n  java.net.BindException: Address already in use";
        }

        @Override
        public Set<Capability> capabilities() {
            return serverCapabilities();
        }
    }

    private TestRuntime runtime() {
        return new TestRuntime(config().build());
    }

    // ---------------------------------------------------------------------------------------- lifecycle

    @Test
    void statusGoesStartingRuntimeStartedReadyThenClosed() {
        TestRuntime runtime = runtime();
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.STOPPED);
        runtime.connect();
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.READY);
        runtime.close();
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.CLOSED);
        assertThat(statuses()).containsExactly(RuntimeStatus.STARTING_RUNTIME, RuntimeStatus.RUNTIME_STARTED,
                RuntimeStatus.READY, RuntimeStatus.CLOSED);
        assertThat(events).allSatisfy(e -> {
            assertThat(e.runtimeId()).isEqualTo("sess-rt");
            assertThat(e.message()).isNotBlank();
            assertThat(e.at()).isNotNull();
        });
    }

    @Test
    void theServerEndpointIsKnownOnlyWhileConnected() {
        TestRuntime runtime = runtime();
        assertThat(runtime.serverEndpoint()).isEmpty();
        runtime.connect();
        assertThat(runtime.serverEndpoint()).hasValueSatisfying(endpoint -> {
            assertThat(endpoint.baseUrl()).isEqualTo(server.url("/").uri());
            assertThat(endpoint.sessionApiKey()).contains(Secret.of(KEY));
        });
        runtime.close();
        assertThat(runtime.serverEndpoint()).isEmpty();
    }

    @Test
    void connectTwiceStartsOnce() {
        try (TestRuntime runtime = runtime()) {
            runtime.connect();
            runtime.connect();
            assertThat(runtime.starts).hasValue(1);
        }
    }

    @Test
    void closeIsIdempotentAndStopsTheSandboxOnce() {
        TestRuntime runtime = runtime();
        runtime.connect();
        runtime.close();
        runtime.close();
        assertThat(runtime.stops).hasValue(1);
        assertThat(statuses()).containsOnlyOnce(RuntimeStatus.CLOSED);
    }

    @Test
    void concurrentClosesStopTheSandboxOnce() throws Exception {
        TestRuntime runtime = runtime();
        runtime.connect();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Thread thread = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                runtime.close();
            });
            thread.start();
            threads.add(thread);
        }
        go.countDown();
        for (Thread thread : threads) {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        }
        assertThat(runtime.stops).hasValue(1);
        assertThat(statuses()).containsOnlyOnce(RuntimeStatus.CLOSED);
    }

    @Test
    void closeWithoutConnectStopsNothing() {
        TestRuntime runtime = runtime();
        runtime.close();
        assertThat(runtime.stops).hasValue(0);
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.CLOSED);
    }

    @Test
    void connectAfterCloseIsRefused() {
        TestRuntime runtime = runtime();
        runtime.close();
        assertThatThrownBy(runtime::connect)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("Runtime sess-rt is closed");
        assertThat(runtime.starts).hasValue(0);
    }

    @Test
    void failedStartupStopsTheSandboxAndReportsError() {
        TestRuntime runtime = runtime();
        runtime.startFailure = new IllegalStateException("docker daemon not reachable");
        assertThatThrownBy(runtime::connect)
                .isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining("Sandbox sess-rt failed to start")
                .hasMessageContaining("docker daemon not reachable")
                .hasMessageContaining("Address already in use")
                .hasCauseInstanceOf(IllegalStateException.class);
        assertThat(runtime.stops).hasValue(1);
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.ERROR);
        assertThat(statuses()).containsExactly(RuntimeStatus.STARTING_RUNTIME, RuntimeStatus.ERROR);
        assertThat(events.get(1).message()).contains("docker daemon not reachable");
    }

    @Test
    void failedStartupThenCloseStopsTheSandboxOnlyOnce() {
        TestRuntime runtime = runtime();
        runtime.startFailure = new IllegalStateException("boom");
        assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeStartupException.class);
        runtime.close();
        assertThat(runtime.starts).hasValue(1);
        assertThat(runtime.stops).as("stopSandbox once per start").hasValue(1);
    }

    @Test
    void connectCanBeRetriedAfterAFailedStartup() {
        try (TestRuntime runtime = runtime()) {
            runtime.startFailure = new IllegalStateException("flaky");
            assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeStartupException.class);
            runtime.startFailure = null;
            runtime.connect();
            assertThat(runtime.status()).isEqualTo(RuntimeStatus.READY);
            runtime.close();
            assertThat(runtime.starts).hasValue(2);
            assertThat(runtime.stops).hasValue(2);
        }
    }

    @Test
    void aSandboxThatDiesWhileStartingFailsFastWithItsLogs() {
        alive = 503;
        TestRuntime runtime = runtime();
        runtime.running = false;
        long started = System.nanoTime();
        assertThatThrownBy(runtime::connect)
                .isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining("stopped before it became ready")
                .hasMessageContaining("Address already in use");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        assertThat(runtime.stops).hasValue(1);
        assertThat(statuses()).containsExactly(RuntimeStatus.STARTING_RUNTIME, RuntimeStatus.RUNTIME_STARTED,
                RuntimeStatus.ERROR);
    }

    @Test
    void aThrowingStatusListenerDoesNotBreakTheLifecycle() {
        TestRuntime runtime = new TestRuntime(config().statusListener(e -> {
            throw new IllegalStateException("listener bug");
        }).build());
        runtime.connect();
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.READY);
        runtime.close();
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.CLOSED);
    }

    // ------------------------------------------------------------------------------------------ actions

    @Test
    void executeBeforeConnectSaysToConnectFirst() {
        TestRuntime runtime = runtime();
        assertThatThrownBy(() -> runtime.execute(CmdRunAction.of("ls")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("Runtime sess-rt is not connected: call connect() first");
        assertThat(server.getRequestCount()).isZero();
    }

    @Test
    void executeAfterCloseSaysItIsClosed() {
        TestRuntime runtime = runtime();
        runtime.connect();
        runtime.close();
        assertThatThrownBy(() -> runtime.execute(CmdRunAction.of("ls")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is not connected")
                .hasMessageContaining("(it is closed)");
    }

    @Test
    void executeSendsTheKeyAndTheConfiguredDefaultTimeout() throws Exception {
        try (TestRuntime runtime = new TestRuntime(config().actionTimeout(Duration.ofSeconds(7)).build())) {
            runtime.connect();
            CmdOutputObservation output = runtime.run("echo hi");
            assertThat(output.content()).isEqualTo("hi");
            assertThat(output.exitCode()).isZero();
            RecordedRequest execute = null;
            for (int i = server.getRequestCount(); i > 0 && execute == null; i--) {
                RecordedRequest request = server.takeRequest(1, TimeUnit.SECONDS);
                if (request != null && "/execute_action".equals(request.getTarget())) {
                    execute = request;
                }
            }
            assertThat(execute).isNotNull();
            assertThat(execute.getHeaders().get("X-Session-API-Key")).isEqualTo(KEY);
            assertThat(new ObjectMapper().readTree(execute.getBody().utf8()).at("/action/timeout").asDouble())
                    .isEqualTo(7.0);
        }
    }

    @Test
    void runTurnsAnErrorObservationIntoActionFailed() {
        executeResponse = json(200, """
                {"observation": "error", "content": "ERROR: Cannot execute multiple commands at once.",
                 "extras": {"error_id": ""}}
                """);
        try (TestRuntime runtime = runtime()) {
            runtime.connect();
            assertThatThrownBy(() -> runtime.run("ls; pwd"))
                    .isInstanceOfSatisfying(ActionFailedException.class,
                            e -> assertThat(e.observation()).isPresent())
                    .hasMessageContaining("'ls; pwd' was not run on sandbox sess-rt")
                    .hasMessageContaining("Cannot execute multiple commands at once");
        }
    }

    @Test
    void aDroppedConnectionMarksTheRuntimeDisconnected() {
        executeResponse = new MockResponse.Builder().onResponseStart(new SocketEffect.CloseSocket(true, false, false)).build();
        try (TestRuntime runtime = runtime()) {
            runtime.connect();
            assertThatThrownBy(() -> runtime.run("ls")).isInstanceOf(RuntimeDisconnectedException.class);
            assertThat(runtime.status()).isEqualTo(RuntimeStatus.ERROR_RUNTIME_DISCONNECTED);
            assertThat(statuses()).endsWith(RuntimeStatus.ERROR_RUNTIME_DISCONNECTED);
        }
    }

    // ------------------------------------------------------------------------------------------- files

    @Test
    void copyToOfAMissingHostPathThrowsBeforeAnyRequest() {
        try (TestRuntime runtime = runtime()) {
            runtime.connect();
            int before = server.getRequestCount();
            Path missing = tmp.resolve("does-not-exist.txt");
            assertThatThrownBy(() -> runtime.copyTo(missing, "/workspace", false))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasCauseInstanceOf(NoSuchFileException.class)
                    .hasMessageContaining("Source file " + missing + " does not exist")
                    .hasMessageContaining("sess-rt");
            assertThat(server.getRequestCount()).isEqualTo(before);
        }
    }

    @Test
    void copyToARelativeSandboxPathThrowsBeforeAnyRequest() throws IOException {
        Path file = Files.writeString(tmp.resolve("a.txt"), "a");
        try (TestRuntime runtime = runtime()) {
            runtime.connect();
            int before = server.getRequestCount();
            assertThatThrownBy(() -> runtime.copyTo(file, "workspace", false))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'workspace'");
            assertThat(server.getRequestCount()).isEqualTo(before);
        }
    }

    @Test
    void copyToOfADirectoryWithoutRecursiveThrowsBeforeAnyRequest() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("project"));
        try (TestRuntime runtime = runtime()) {
            runtime.connect();
            int before = server.getRequestCount();
            assertThatThrownBy(() -> runtime.copyTo(dir, "/workspace", false))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(dir.toString())
                    .hasMessageContaining("recursive");
            assertThat(server.getRequestCount()).isEqualTo(before);
        }
    }

    @Test
    void copyToUploadsAnExistingFile() throws IOException {
        Path file = Files.writeString(tmp.resolve("a.txt"), "a");
        try (TestRuntime runtime = runtime()) {
            runtime.connect();
            int before = server.getRequestCount();
            runtime.copyTo(file, "/workspace", false);
            assertThat(server.getRequestCount()).isEqualTo(before + 1);
        }
    }

    @Test
    void copyFromDownloadsIntoATemporaryZip() throws IOException {
        try (TestRuntime runtime = runtime()) {
            runtime.connect();
            Path zip = runtime.copyFrom("/workspace");
            try {
                assertThat(zip.getFileName().toString()).startsWith("agent-runtime-sess-rt-").endsWith(".zip");
                assertThat(Files.readString(zip)).isEqualTo("PK-zip-bytes");
            } finally {
                Files.deleteIfExists(zip);
            }
        }
    }

    @Test
    void listFilesGoesThroughTheClient() {
        try (TestRuntime runtime = runtime()) {
            runtime.connect();
            assertThat(runtime.listFiles("/workspace")).containsExactly("a/", "b.txt");
        }
    }

    // ---------------------------------------------------------------------------- kit: lifecycle template

    /** A backend that can pause, beats a heartbeat and leases ports; it records what the base class asks of it. */
    private final class PausableRuntime extends ActionServerRuntime {
        final List<String> calls = new CopyOnWriteArrayList<>();
        final AtomicInteger beats = new AtomicInteger();
        volatile java.net.URI resumedAt;
        volatile List<PortLease> leased = List.of();

        PausableRuntime(RuntimeConfig config) {
            super(config);
        }

        @Override
        protected ServerEndpoint startSandbox(Instant deadline) {
            calls.add("start");
            leased = leasePorts(PortRange.APP_1);
            return ServerEndpoint.of(server.url("/").uri(), Secret.of(KEY));
        }

        @Override
        protected void onReady(ActionServerClient client) {
            calls.add("ready " + client.baseUrl().getPath());
        }

        @Override
        protected void stopSandbox() {
            calls.add("stop");
        }

        @Override
        protected Duration heartbeatInterval() {
            return Duration.ofMillis(100);
        }

        @Override
        protected void heartbeat(ActionServerClient client) {
            beats.incrementAndGet();
            super.heartbeat(client);
        }

        @Override
        protected void pauseSandbox() {
            calls.add("pause");
        }

        @Override
        protected java.util.Optional<ServerEndpoint> resumeSandbox(Instant deadline) {
            calls.add("resume");
            return resumedAt == null ? java.util.Optional.empty()
                    : java.util.Optional.of(ServerEndpoint.of(resumedAt, Secret.of(KEY)));
        }

        @Override
        public Set<Capability> capabilities() {
            java.util.EnumSet<Capability> caps = serverCapabilities();
            caps.add(Capability.PAUSE_RESUME);
            return caps;
        }
    }

    @Test
    void pauseAndResumeGoThroughTheHooksAndAPausedRuntimeRefusesActionsAtOnce() throws Exception {
        try (PausableRuntime runtime = new PausableRuntime(config().build())) {
            runtime.connect();
            runtime.pause();
            runtime.pause(); // already paused: nothing more
            assertThat(runtime.status()).isEqualTo(RuntimeStatus.PAUSED);
            int requestsBefore = server.getRequestCount();
            assertThatThrownBy(() -> runtime.run("echo hi")).isInstanceOf(dev.agentruntime.RuntimePausedException.class)
                    .hasMessageContaining("Sandbox sess-rt is paused").hasMessageContaining("resume()");
            assertThatThrownBy(() -> runtime.listFiles("/")).isInstanceOf(dev.agentruntime.RuntimePausedException.class);
            assertThat(server.getRequestCount()).as("nothing was sent while paused").isEqualTo(requestsBefore);
            runtime.resume();
            runtime.resume(); // not paused: nothing more
            assertThat(runtime.status()).isEqualTo(RuntimeStatus.READY);
            assertThat(runtime.run("echo hi").content()).isEqualTo("hi");
            assertThat(runtime.calls).containsExactly("start", "ready /", "pause", "resume", "ready /");
            assertThat(statuses()).containsSubsequence(RuntimeStatus.READY, RuntimeStatus.PAUSED,
                    RuntimeStatus.STARTING_RUNTIME, RuntimeStatus.READY);
        }
    }

    @Test
    void aResumeThatMovesTheServerSwitchesTheClientToTheNewEndpoint() {
        try (PausableRuntime runtime = new PausableRuntime(config().build())) {
            runtime.connect();
            runtime.pause();
            runtime.resumedAt = server.url("/moved/").uri();
            runtime.resume();
            assertThat(runtime.calls).endsWith("ready /moved/");
            assertThat(runtime.client().baseUrl().getPath()).isEqualTo("/moved/");
        }
    }

    @Test
    void aResumeWhoseServerNeverAnswersMarksTheRuntimeDisconnected() {
        try (PausableRuntime runtime = new PausableRuntime(config().startupTimeout(Duration.ofMillis(300)).build())) {
            runtime.connect();
            runtime.pause();
            alive = 503;
            assertThatThrownBy(runtime::resume).isInstanceOf(RuntimeDisconnectedException.class)
                    .hasMessageContaining("did not come back after resume");
            assertThat(runtime.status()).isEqualTo(RuntimeStatus.ERROR_RUNTIME_DISCONNECTED);
        }
    }

    @Test
    void pauseIsRefusedWithoutTheCapability() {
        try (TestRuntime runtime = runtime()) {
            runtime.connect();
            assertThatThrownBy(runtime::pause).isInstanceOf(dev.agentruntime.UnsupportedCapabilityException.class)
                    .hasMessageContaining("no PAUSE_RESUME");
        }
    }

    @Test
    void theHeartbeatBeatsWhileReadyAndStopsWhilePausedAndAfterClose() throws Exception {
        PausableRuntime runtime = new PausableRuntime(config().build());
        runtime.connect();
        awaitBeats(runtime, 2);
        runtime.pause();
        awaitNoHeartbeatThread();
        int atPause = runtime.beats.get();
        runtime.resume();
        awaitBeats(runtime, atPause + 2);
        runtime.close();
        awaitNoHeartbeatThread();
    }

    private static void awaitNoHeartbeatThread() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals("agent-runtime-heartbeat-sess-rt") && t.isAlive())) {
            assertThat(System.nanoTime()).as("the heartbeat thread ends within 10 s").isLessThan(deadline);
            Thread.sleep(20); // polling a condition with a deadline
        }
    }

    private static void awaitBeats(PausableRuntime runtime, int atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (runtime.beats.get() < atLeast) {
            assertThat(System.nanoTime()).as("heartbeats within 10 s").isLessThan(deadline);
            Thread.sleep(20); // polling a counter with a deadline
        }
    }

    @Test
    void leasedPortsAreReleasedAfterTheSandboxStops() throws Exception {
        PausableRuntime runtime = new PausableRuntime(config().build());
        runtime.connect();
        int port = runtime.leased.get(0).port();
        assertThat(runtime.leased.get(0).toString()).contains(Integer.toString(port));
        runtime.close();
        assertThat(runtime.leased.get(0).toString()).contains("released");
        assertThat(runtime.calls).endsWith("stop");
    }
}
