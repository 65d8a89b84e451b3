package dev.agentruntime.fake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.testkit.RequiresDocker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Processes in a real sandbox: streaming, stdin, signals, exit codes, replay from an offset, PTYs. */
@RequiresDocker(images = SandboxHost.DEFAULT_IMAGE)
class SandboxExecIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static SandboxHost host;
    private static FakeSandbox sandbox;

    @BeforeAll
    static void start() {
        host = SandboxHost.builder().name("exec-it").build();
        sandbox = host.create(SandboxSpec.builder().user("user").env("SANDBOX_WIDE", "yes").build());
    }

    @AfterAll
    static void stop() {
        if (host != null) {
            String id = host.id();
            host.close();
            assertThat(Leaks.containersOf(id)).as("containers left by host " + id).isEmpty();
        }
    }

    /** Records output and exit events in arrival order. */
    static final class Recorder implements ProcessListener {
        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public synchronized void onOutput(StdStream stream, long offset, byte[] bytes) {
            events.add(stream + "@" + offset + ":" + new String(bytes, StandardCharsets.UTF_8));
            notifyAll();
        }

        @Override
        public synchronized void onExit(ExitStatus status) {
            events.add("exit:" + status.code());
            notifyAll();
        }

        /** Waits (with a deadline) until at least {@code n} events arrived. */
        synchronized void awaitEvents(int n) throws InterruptedException {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (events.size() < n) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                assertThat(left).as("waiting for " + n + " events, have " + events).isPositive();
                wait(left);
            }
        }
    }

    static String text(OutputLog log) {
        return new String(log.snapshot(), StandardCharsets.UTF_8);
    }

    /** Waits until the log holds {@code expected} (on the condition, with a deadline). */
    static void awaitOutput(OutputLog log, String expected) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        long offset = 0;
        while (!text(log).contains(expected)) {
            assertThat(System.nanoTime()).as("waiting for '" + expected + "', have '" + text(log) + "'")
                    .isLessThan(deadline);
            OutputLog.Chunk chunk = log.await(offset, 65536, Duration.ofMillis(500));
            offset = chunk.nextOffset();
            assertThat(chunk.endOfStream() && !text(log).contains(expected)).as("stream ended without '" + expected
                    + "': '" + text(log) + "'").isFalse();
        }
    }

    @Test
    void outputStreamsWhileTheProcessRuns() throws Exception {
        Recorder recorder = new Recorder();
        SandboxProcess process = sandbox.exec(ExecSpec.shell("echo first; read line; echo \"got $line\"; echo err >&2")
                .stdin(true).listener(recorder).build());
        assertThat(process.pid()).isPositive();
        recorder.awaitEvents(1);
        // The process is blocked on read: what we saw so far cannot have come from a buffered whole output.
        assertThat(process.isRunning()).isTrue();
        assertThat(recorder.events).containsExactly("STDOUT@0:first\n");
        process.writeStdin("hello\n");
        ExitStatus status = process.waitFor(WAIT);
        assertThat(status.code()).isZero();
        assertThat(status.exited()).isTrue();
        assertThat(text(process.stdout())).isEqualTo("first\ngot hello\n");
        assertThat(text(process.stderr())).isEqualTo("err\n");
        assertThat(recorder.events.get(0)).isEqualTo("STDOUT@0:first\n");
        assertThat(recorder.events).contains("STDOUT@6:got hello\n", "STDERR@0:err\n");
        assertThat(recorder.events.get(recorder.events.size() - 1)).isEqualTo("exit:0");
    }

    @Test
    void stdinRoundTripsAndEndOfInputReachesTheProcess() throws Exception {
        SandboxProcess cat = sandbox.exec(ExecSpec.argv("sha256sum").stdin(true).build());
        byte[] block = new byte[1 << 20];
        for (int i = 0; i < block.length; i++) {
            block[i] = (byte) (i * 31);
        }
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        for (int i = 0; i < 8; i++) {
            cat.writeStdin(block);
            sha.update(block);
        }
        cat.closeStdin();
        assertThat(cat.waitFor(WAIT).code()).isZero();
        assertThat(text(cat.stdout())).startsWith(java.util.HexFormat.of().formatHex(sha.digest()) + "  -");
        assertThatThrownBy(() -> cat.writeStdin("late")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is gone: the process has ended");
    }

    @Test
    void exitCodesEnvironmentUserAndWorkingDirectory() throws Exception {
        SandboxProcess p = sandbox.exec(ExecSpec.shell("id -un; pwd; echo $SANDBOX_WIDE $OWN; exit 3")
                .cwd("/tmp").env("OWN", "mine").build());
        assertThat(p.waitFor(WAIT).code()).isEqualTo(3);
        assertThat(text(p.stdout())).isEqualTo("user\n/tmp\nyes mine\n");
        SandboxProcess root = sandbox.exec(ExecSpec.argv("id", "-u").user("root").build());
        root.waitFor(WAIT);
        assertThat(text(root.stdout())).isEqualTo("0\n");
    }

    @Test
    void signalsEndProcessesAndSayWhich() throws Exception {
        SandboxProcess sleeper = sandbox.exec(ExecSpec.argv("sleep", "600").tag("sleeper").build());
        assertThat(sandbox.processByTag("sleeper")).containsSame(sleeper);
        assertThat(sandbox.runningProcesses()).contains(sleeper);
        assertThat(sleeper.signal(Signal.TERM)).isTrue();
        ExitStatus status = sleeper.waitFor(WAIT);
        assertThat(status.code()).isEqualTo(143);
        assertThat(status.signal()).contains(Signal.TERM);
        assertThat(sandbox.runningProcesses()).doesNotContain(sleeper);
        assertThat(sandbox.process(sleeper.pid())).containsSame(sleeper);
        assertThat(sleeper.signal(Signal.KILL)).isFalse();

        SandboxProcess trapped = sandbox.exec(ExecSpec.shell("trap 'echo interrupted; exit 7' INT; echo ready; "
                + "while true; do sleep 0.1; done").build());
        awaitOutput(trapped.stdout(), "ready");
        trapped.signal(Signal.INT);
        assertThat(trapped.waitFor(WAIT).code()).isEqualTo(7);
        assertThat(text(trapped.stdout())).isEqualTo("ready\ninterrupted\n");
    }

    @Test
    void execTimeoutKillsTheProcess() throws Exception {
        SandboxProcess p = sandbox.exec(ExecSpec.argv("sleep", "600").timeout(Duration.ofMillis(300)).build());
        ExitStatus status = p.waitFor(WAIT);
        assertThat(status.timedOut()).isTrue();
        assertThat(status.signal()).contains(Signal.KILL);
    }

    @Test
    void aReaderReconnectsFromAnOffset() throws Exception {
        SandboxProcess p = sandbox.exec(ExecSpec.shell("for i in $(seq 1 2000); do echo line-$i; done").build());
        p.waitFor(WAIT);
        byte[] all = p.stdout().snapshot();
        assertThat(p.stdout().start()).isZero();
        assertThat(p.stdout().end()).isEqualTo(all.length);
        // A client read 1000 bytes, dropped, reconnects with offset 1000 and reads the rest in small pieces.
        OutputLog.Chunk first = p.stdout().read(0, 1000);
        assertThat(first.bytes()).hasSize(1000);
        StringBuilder rest = new StringBuilder();
        long offset = first.nextOffset();
        OutputLog.Chunk chunk;
        do {
            chunk = p.stdout().await(offset, 777, WAIT);
            rest.append(new String(chunk.bytes(), StandardCharsets.UTF_8));
            offset = chunk.nextOffset();
        } while (!chunk.endOfStream());
        assertThat(new String(first.bytes(), StandardCharsets.UTF_8) + rest)
                .isEqualTo(new String(all, StandardCharsets.UTF_8)).endsWith("line-2000\n");
    }

    @Test
    void aPtyEchoesInputAndHasTheRequestedSize() throws Exception {
        SandboxProcess shell = sandbox.exec(ExecSpec.argv("/bin/bash", "--norc", "-i").pty(100, 30).build());
        assertThat(shell.hasPty()).isTrue();
        shell.writeStdin("stty size; tty; exit 4\n");
        assertThat(shell.waitFor(WAIT).code()).isEqualTo(4);
        String out = text(shell.stdout());
        assertThat(out).contains("30 100").contains("/dev/pts/");
        assertThat(text(shell.stderr())).isEmpty();

        SandboxProcess resized = sandbox.exec(ExecSpec.argv("/bin/bash", "--norc", "-i").pty(80, 24).build());
        resized.resize(132, 40);
        resized.writeStdin("stty size; exit\n");
        resized.waitFor(WAIT);
        assertThat(text(resized.stdout())).contains("40 132");
    }

    @Test
    void missingProgramOrDirectoryIsATypedError() {
        assertThatThrownBy(() -> sandbox.exec(ExecSpec.argv("no-such-program").build()))
                .isInstanceOfSatisfying(SandboxFileException.class,
                        e -> assertThat(e.kind()).isEqualTo(SandboxFileException.Kind.NOT_FOUND))
                .hasMessageContaining("no-such-program: command not found");
        assertThatThrownBy(() -> sandbox.exec(ExecSpec.argv("ls").cwd("/no/such/dir").build()))
                .isInstanceOf(SandboxFileException.class)
                .hasMessageContaining("working directory /no/such/dir does not exist");
    }
}
