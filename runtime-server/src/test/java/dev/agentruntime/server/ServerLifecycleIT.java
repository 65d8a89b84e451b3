package dev.agentruntime.server;

import static dev.agentruntime.server.OpenHandsText.completed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.server.ServerProcess.Obs;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** How the server and its shell start, restart and end: one fresh server per test. */
class ServerLifecycleIT {

    @Test
    void exitInsideCommandRestartsShell() {
        try (ServerProcess server = ServerProcess.start(Map.of())) {
            long firstShell = shellPid(server);
            assertThat(server.execute("export BEFORE_EXIT=1 && cd /").exitCode()).isZero();

            Obs exit = server.execute("exit 3");
            assertThat(exit.type()).isEqualTo("run");
            assertThat(exit.exitCode()).isEqualTo(3);
            assertThat(exit.json().path("success").asBoolean(true)).isFalse();
            assertThat(exit.suffix()).startsWith(completed(3))
                    .contains("a new shell will be started in " + server.workingDir());

            Obs next = server.execute("echo \"alive ${BEFORE_EXIT:-unset}\"; pwd");
            assertThat(next.content()).isEqualTo("alive unset\n" + server.workingDir());
            assertThat(next.exitCode()).isZero();
            assertThat(next.workingDir()).isEqualTo(server.workingDir().toString());
            assertThat(shellPid(server)).as("a new bash").isNotEqualTo(firstShell);
            assertThat(ProcessHandle.of(firstShell).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        }
    }

    @Test
    void idleTimeoutExitsServer() throws InterruptedException {
        try (ServerProcess server = ServerProcess.start(Map.of("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS", "1"))) {
            List<ProcessHandle> children = server.descendants();
            assertThat(children).as("the shell runs").isNotEmpty();

            assertThat(server.process().waitFor(30, TimeUnit.SECONDS)).as("the server exits on its own").isTrue();
            assertThat(server.process().exitValue()).isZero();
            awaitGone(children);
        }
    }

    @Test
    void requestsKeepAnIdleServerAlive() {
        try (ServerProcess server = ServerProcess.start(Map.of("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS", "1"))) {
            // a command that lasts longer than the idle timeout: the request in flight must not count as idle
            Obs obs = server.execute(ServerProcess.Run.of("sleep 2 && echo survived").blocking(true));
            assertThat(obs.content()).isEqualTo("survived");
            assertThat(server.process().isAlive()).isTrue();
        }
    }

    @Test
    void stdinEofExitsServer() throws InterruptedException {
        try (ServerProcess server = ServerProcess.start(Map.of("AGENT_RUNTIME_EXIT_ON_STDIN_EOF", "1"))) {
            Obs background = server.execute("sleep 1000 &");
            assertThat(background.exitCode()).isZero();
            List<ProcessHandle> tree = server.descendants();
            ProcessHandle sleep = tree.stream().filter(p -> p.pid() == background.pid()).findFirst()
                    .orElseThrow(() -> new AssertionError("sleep " + background.pid() + " is not among " + tree));
            ServerProcess.awaitCondition(java.time.Duration.ofSeconds(10), "job " + sleep.pid() + " to be sleep",
                    () -> sleep.info().command().orElse("").endsWith("sleep"));

            server.closeStdin();

            assertThat(server.process().waitFor(30, TimeUnit.SECONDS)).as("the server exits when stdin closes").isTrue();
            awaitGone(tree);
            assertThat(sleep.isAlive()).as("the shell's background job is gone too").isFalse();
        }
    }

    @Test
    void withoutStdinWatchTheServerIgnoresEof() {
        try (ServerProcess server = ServerProcess.start(Map.of())) {
            server.closeStdin();
            // a full round trip after the close: the server had every chance to react to the EOF
            assertThat(server.execute("echo still-up").content()).isEqualTo("still-up");
            assertThat(server.process().isAlive()).isTrue();
        }
    }

    private static long shellPid(ServerProcess server) {
        return server.process().children().filter(p -> p.info().command().orElse("").endsWith("bash"))
                .findFirst().orElseThrow(() -> new AssertionError("no bash child")).pid();
    }

    private static void awaitGone(List<ProcessHandle> processes) {
        ServerProcess.awaitCondition(java.time.Duration.ofSeconds(20), "processes to exit: " + processes,
                () -> processes.stream().noneMatch(ProcessHandle::isAlive));
    }
}
