package dev.agentruntime.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Process lifecycle of the local backend: workspaces, process trees, parents that die, startup failures. */
class LocalRuntimeLifecycleIT {

    @Test
    void closeKillsTheServerAndEveryProcessItsShellStarted() {
        Runtime runtime = RuntimeFactory.connect(RuntimeConfig.builder().type("local").build());
        CmdOutputObservation bg = runtime.run("sleep 600 &");
        long sleeper = bg.metadata().pid(); // $! of the background job
        assertThat(bg.content()).isEqualTo("[1] " + sleeper);
        long server = Long.parseLong(runtime.run("echo $PPID").content().strip()); // the shell's parent is the server
        assertThat(ProcessHandle.of(sleeper)).isPresent();
        runtime.close();
        awaitExit(sleeper, Duration.ofSeconds(10));
        assertThat(ProcessHandle.of(sleeper).filter(ProcessHandle::isAlive)).as("background sleep after close").isEmpty();
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.CLOSED);
        assertThat(server).isPositive();
    }

    @Test
    void temporaryWorkspaceIsCreatedAndRemovedButAGivenOneIsKept(@TempDir Path given) throws IOException {
        Path temporary;
        try (LocalRuntime runtime = (LocalRuntime) RuntimeFactory.connect(RuntimeConfig.builder().type("local").build())) {
            temporary = runtime.workspace();
            assertThat(runtime.run("pwd").content()).isEqualTo(temporary.toRealPath().toString());
            runtime.run("echo data > made-here.txt");
            assertThat(temporary.resolve("made-here.txt")).exists();
        }
        assertThat(temporary).doesNotExist();

        try (Runtime runtime = RuntimeFactory.connect(RuntimeConfig.builder().type("local").workspace(given).build())) {
            runtime.run("echo kept > kept.txt");
        }
        assertThat(Files.readString(given.resolve("kept.txt"))).isEqualTo("kept\n");
    }

    @Test
    void serverDiesWithItsParentEvenAfterKillDashNine() throws Exception {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LocalRuntimeOwner.class.getName());
        Process owner = new ProcessBuilder(command).redirectErrorStream(false).start();
        try {
            killOwnerAndCheckItsSandboxDies(owner);
        } finally {
            owner.destroyForcibly(); // never leave the owner JVM (and its sandbox) behind when an assertion fails
        }
    }

    private static void killOwnerAndCheckItsSandboxDies(Process owner) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(owner.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertThat(line).as("owner JVM reported its sandbox (stderr: %s)", owner.isAlive() ? "" : new String(
                owner.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)).startsWith("pids ");
        String[] pids = line.substring("pids ".length()).split(" ");
        long server = Long.parseLong(pids[0]);
        long sleeper = Long.parseLong(pids[1]);
        assertThat(ProcessHandle.of(server)).isPresent();

        ProcessHandle.of(owner.pid()).orElseThrow().destroyForcibly(); // SIGKILL: no shutdown hooks run
        assertThat(owner.waitFor(10, TimeUnit.SECONDS)).isTrue();

        awaitExit(server, Duration.ofSeconds(15));
        awaitExit(sleeper, Duration.ofSeconds(15));
        assertThat(alive(server)).as("server %d after its parent was killed", server).isFalse();
        assertThat(alive(sleeper)).as("shell child %d after its parent was killed", sleeper).isFalse();
    }

    @Test
    void startupFailureReportsTheServersLastLogLines(@TempDir Path dir) throws IOException {
        Path notAJar = Files.writeString(dir.resolve("broken.jar"), "this is not a jar");
        RuntimeConfig config = RuntimeConfig.builder().type("local").startupTimeout(Duration.ofSeconds(20))
                .backendConfig(LocalRuntimeConfig.defaults().withServerJar(notAJar)).build();
        Runtime runtime = RuntimeFactory.create(config);
        assertThatThrownBy(runtime::connect)
                .isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining(config.sessionId())
                .hasMessageContaining("exited with code")
                .hasMessageContaining("Last server log lines:")
                .hasMessageContaining("Invalid or corrupt jarfile");
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.ERROR);
        runtime.close();
    }

    @Test
    void unknownOptionIsRejectedWithTheValidOnes() {
        RuntimeConfig config = RuntimeConfig.builder().type("local").option("jav", "/usr/bin/java").build();
        assertThatThrownBy(() -> RuntimeFactory.create(config))
                .hasMessageContaining("Unknown option(s) [jav]")
                .hasMessageContaining("java").hasMessageContaining("server.jar");
    }

    private static boolean alive(long pid) {
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        return handle.isPresent() && handle.get().isAlive();
    }

    /** Waits for a (not necessarily child) process to exit, up to the timeout. */
    static void awaitExit(long pid, Duration timeout) {
        ProcessHandle.of(pid).ifPresent(handle -> handle.onExit()
                .completeOnTimeout(handle, timeout.toMillis(), TimeUnit.MILLISECONDS).join());
    }

    /** Main class of the owner JVM that the kill -9 test kills. */
    public static final class LocalRuntimeOwner {
        public static void main(String[] args) throws Exception {
            Runtime runtime = RuntimeFactory.connect(RuntimeConfig.builder().type("local").build());
            String sleeper = Integer.toString(runtime.run("sleep 600 &").metadata().pid());
            String server = runtime.run("echo $PPID").content().strip();
            System.out.println("pids " + server + " " + sleeper);
            System.out.flush();
            Thread.currentThread().join(); // hold the sandbox until killed
        }
    }
}
