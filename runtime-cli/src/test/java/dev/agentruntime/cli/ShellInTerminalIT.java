package dev.agentruntime.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.pty4j.PtyProcess;
import com.pty4j.PtyProcessBuilder;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.SandboxHousekeeping;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built jar's {@code shell} in a real pseudo-terminal (pty4j), typed at like a person: output appears while the
 * command runs, Ctrl-C interrupts the sandbox's command (not the CLI), the up arrow recalls history (JLine, not bash
 * seeing {@code $'\E[A'}), and Ctrl-D leaves with the last command's exit code, removing the sandbox.
 */
class ShellInTerminalIT {

    private static final Path JAR = Path.of(System.getProperty("agent.runtime.cli.jar", "target/agent-runtime.jar"));
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path home;

    private PtyProcess process;
    private final StringBuffer screen = new StringBuffer();
    /** When each character of {@link #screen} arrived (nanos), index by index. */
    private final List<Long> arrivals = java.util.Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void stop() {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
        }
    }

    private void start(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", JAR.toString()));
        command.addAll(List.of(args));
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("TERM", "xterm-256color");
        env.put("HOME", home.toString());
        process = new PtyProcessBuilder(command.toArray(String[]::new)).setEnvironment(env)
                .setInitialColumns(160).setInitialRows(40).start();
        InputStream in = process.getInputStream();
        Thread reader = new Thread(() -> {
            byte[] buffer = new byte[8192];
            try {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    String text = new String(buffer, 0, n, StandardCharsets.UTF_8);
                    long now = System.nanoTime();
                    synchronized (screen) {
                        screen.append(text);
                        for (int i = 0; i < text.length(); i++) {
                            arrivals.add(now);
                        }
                    }
                }
            } catch (IOException e) {
                // the pty closed
            }
        }, "pty-reader");
        reader.setDaemon(true);
        reader.start();
    }

    private void type(String keys) throws IOException {
        OutputStream out = process.getOutputStream();
        out.write(keys.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Waits until {@code text} appears on the screen after {@code from}; returns its index. */
    private int await(String text, int from) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            int at = screen.indexOf(text, from);
            if (at >= 0) {
                return at;
            }
            if (System.nanoTime() > deadline || !process.isAlive() && screen.indexOf(text, from) < 0) {
                throw new AssertionError("'" + text + "' did not appear; the terminal shows:\n" + screen);
            }
            Thread.onSpinWait();
            try {
                Thread.sleep(10); // polling the screen buffer the reader thread fills
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    private int count(String text) {
        int n = 0;
        int at = -1;
        while ((at = screen.indexOf(text, at + 1)) >= 0) {
            n++;
        }
        return n;
    }

    @Test
    void aPersonAtATerminal() throws Exception {
        String session = "cli-pty-" + System.nanoTime();
        start("shell", "--session-id", session, "--history", home.resolve("history").toString());
        int ready = await("is ready", 0);
        int prompt = await("$ ", ready);

        // output appears while the command runs
        type("for i in 1 2 3; do echo tick$i; sleep 1; done\r");
        int tick1 = await("tick1", prompt);
        int tick3 = await("tick3", tick1);
        long spread = arrivals.get(tick3) - arrivals.get(tick1);
        assertThat(spread).as("tick1 is shown about two seconds before tick3, not with it")
                .isGreaterThan(Duration.ofMillis(1500).toNanos());
        prompt = await("$ ", tick3);

        // Ctrl-C interrupts the sandbox's command; the CLI stays
        type("sleep 30\r");
        int sleeping = await("\n", await("sleep 30", prompt)); // the line was accepted
        long sent = System.nanoTime();
        type("\u0003");
        int interrupted = await("^C", sleeping);
        await("[130]$ ", interrupted);
        assertThat(System.nanoTime() - sent).as("interrupted, not waited out").isLessThan(
                Duration.ofSeconds(10).toNanos());
        assertThat(process.isAlive()).isTrue();
        System.out.printf("Ctrl-C to the next prompt: %d ms%n", (System.nanoTime() - sent) / 1_000_000);

        int before;
        // line editing and history: the arrow keys reach JLine, not bash
        before = screen.length();
        type("echo history-$((6*7))\r");
        int first = await("history-42\r\n", await("\n", before));
        await("$ ", first);
        type("\u001bOA\r"); // the up arrow as a terminal in keypad mode sends it, then Enter
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (count("history-42\r\n") < 2 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(count("history-42\r\n")).as("the recalled line ran again:\n%s", screen).isEqualTo(2);
        assertThat(screen.toString()).doesNotContain("syntax error").doesNotContain("command not found");
        // editing: type, move left, insert
        before = screen.length();
        type("echo ac\u001b[Db\r");
        await("abc\r\n", await("\n", before));

        // Ctrl-D at the prompt leaves with the last command's exit code
        before = screen.length();
        type("(exit 3)\r");
        await("[3]$ ", before);
        type("\u0004");
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("the CLI exited:\n%s", screen).isTrue();
        assertThat(process.exitValue()).isEqualTo(3);
        assertThat(Files.readString(home.resolve("history"))).contains("echo history-$((6*7))");
        assertThat(screen.toString()).doesNotContain("timeout parameter").doesNotContain("execute_bash");
        try (SandboxHousekeeping sandboxes = RuntimeFactory.housekeeping(
                RuntimeConfig.builder().type("local").sessionId(session).build())) {
            assertThat(sandboxes.find(session)).as("the sandbox is gone").isEmpty();
        }
    }
}
