package dev.agentruntime.server;

import static dev.agentruntime.server.OpenHandsText.TRUNCATION_NOTE;
import static dev.agentruntime.server.OpenHandsText.completed;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.server.ServerProcess.Obs;
import dev.agentruntime.server.ServerProcess.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Commands that complete: output, exit codes, metadata, persistence, one-command-per-action, long and unusual
 * output. One server for the class; tests that change the shell's state (cwd, jobs) put it back.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShellCommandsIT {

    private ServerProcess server;

    @BeforeAll
    void start() {
        server = ServerProcess.start(Map.of());
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void echoReturnsOutputAndExitCodeZero() {
        Obs obs = server.execute("echo hello");

        assertThat(obs.type()).isEqualTo("run");
        assertThat(obs.content()).isEqualTo("hello");
        assertThat(obs.exitCode()).isZero();
        assertThat(obs.json().path("success").asBoolean(false)).isTrue();
        assertThat(obs.json().path("message").asText()).isEqualTo("Command `echo hello` executed with exit code 0.");
        assertThat(obs.extras().path("command").asText()).isEqualTo("echo hello");
        assertThat(obs.extras().path("hidden").isBoolean()).isTrue();
        assertThat(obs.extras().path("hidden").asBoolean()).isFalse();
        assertThat(obs.prefix()).isEmpty();
        assertThat(obs.suffix()).isEqualTo("\n[The command completed with exit code 0.]");
        // the server never sets id/timestamp/source/cause (reference §2.4)
        assertThat(fieldNames(obs.json())).containsExactlyInAnyOrder("message", "observation", "content", "extras",
                "success");
        assertThat(fieldNames(obs.extras())).containsExactlyInAnyOrder("command", "metadata", "hidden");
    }

    @Test
    void exitCodeOfFailingCommand() {
        Obs obs = server.execute("bash -c 'exit 7'");

        assertThat(obs.exitCode()).isEqualTo(7);
        assertThat(obs.json().path("success").asBoolean(true)).isFalse();
        assertThat(obs.suffix()).isEqualTo(completed(7));
        assertThat(obs.json().path("message").asText()).isEqualTo("Command `bash -c 'exit 7'` executed with exit code 7.");

        Obs notFound = server.execute("no-such-command-xyz");
        assertThat(notFound.exitCode()).isEqualTo(127);
        assertThat(notFound.content()).contains("no-such-command-xyz").contains("command not found");
    }

    @Test
    void metadataHasWorkingDirUsernameHostnamePid() throws IOException {
        Obs obs = server.execute("true");

        assertThat(fieldNames(obs.metadata())).containsExactlyInAnyOrder("exit_code", "pid", "username", "hostname",
                "working_dir", "py_interpreter_path", "prefix", "suffix");
        assertThat(obs.workingDir()).isEqualTo(server.workingDir().toString());
        assertThat(obs.metadata().path("username").asText()).isEqualTo(System.getProperty("user.name"));
        assertThat(obs.metadata().path("hostname").asText())
                .isEqualTo(Files.readString(Path.of("/proc/sys/kernel/hostname")).strip());
        assertThat(obs.metadata().path("pid").isInt()).as("pid: $! of the last background job, -1 when none").isTrue();
        JsonNode python = obs.metadata().path("py_interpreter_path");
        assertThat(python.isNull() || python.isTextual()).as("py_interpreter_path is a string or null").isTrue();
    }

    @Test
    void pythonInterpreterPathFollowsPathWithAndWithoutHashing() throws IOException {
        Path bin = Files.createDirectories(server.workingDir().resolve("py-path-test"));
        Path fake = bin.resolve("python");
        Files.writeString(fake, "#!/bin/sh\necho fake\n");
        fake.toFile().setExecutable(true);
        try {
            Obs before = server.execute("true");
            assertThat(server.execute("export __AR_OLD_PATH=\"$PATH\"; export PATH=" + bin + ":$PATH").exitCode()).isZero();
            Obs first = server.execute("true");
            assertThat(first.metadata().path("py_interpreter_path").asText()).isEqualTo(fake.toString());

            // hashing off (`set +h`): the path is still found, by the slower way
            assertThat(server.execute("set +h").exitCode()).isZero();
            Obs unhashed = server.execute("true");
            assertThat(unhashed.metadata().path("py_interpreter_path").asText()).isEqualTo(fake.toString());
            assertThat(unhashed.content()).isEmpty();
            assertThat(server.execute("set -h").exitCode()).isZero();

            // removed from PATH again: the next prompt reports what the shell would run now
            assertThat(server.execute("export PATH=\"$__AR_OLD_PATH\"; unset __AR_OLD_PATH").exitCode()).isZero();
            Obs after = server.execute("true");
            assertThat(after.metadata().path("py_interpreter_path")).isEqualTo(before.metadata().path("py_interpreter_path"));
            Obs run = server.execute("command -v python || command -v python3 || echo none");
            String expected = run.content().equals("none") ? "" : run.content();
            assertThat(after.metadata().path("py_interpreter_path").asText("")).isEqualTo(expected);
        } finally {
            server.execute("set -h");
            Files.deleteIfExists(fake);
            Files.deleteIfExists(bin);
        }
    }

    @Test
    void cwdPersistsAcrossActions() throws IOException {
        Path sub = Files.createDirectories(server.workingDir().resolve("cwd-test/inner"));
        try {
            Obs cd = server.execute("cd cwd-test/inner");
            assertThat(cd.exitCode()).isZero();
            assertThat(cd.workingDir()).isEqualTo(sub.toString());

            Obs pwd = server.execute("pwd");
            assertThat(pwd.content()).isEqualTo(sub.toString());
            assertThat(pwd.workingDir()).isEqualTo(sub.toString());
        } finally {
            assertThat(server.execute("cd " + server.workingDir()).exitCode()).isZero();
        }
    }

    @Test
    void envPersistsAcrossActions() {
        assertThat(server.execute("export AR_IT_VALUE='two words'").exitCode()).isZero();
        try {
            assertThat(server.execute("echo \"[$AR_IT_VALUE]\"").content()).isEqualTo("[two words]");
            assertThat(server.execute("ar_it_fn() { echo \"fn:$1\"; }").exitCode()).isZero();
            assertThat(server.execute("ar_it_fn ok").content()).isEqualTo("fn:ok");
        } finally {
            server.execute("unset AR_IT_VALUE; unset -f ar_it_fn");
        }
    }

    @Test
    void multipleCommandsAreRejectedWithOpenHandsError() throws IOException {
        Obs obs = server.execute("echo one > multi-1.txt\necho two");

        assertThat(obs.type()).isEqualTo("error");
        assertThat(obs.content()).isEqualTo("ERROR: Cannot execute multiple commands at once.\n"
                + "Please run each command separately OR chain them into a single command via && or ;\n"
                + "Provided commands:\n"
                + "(1) echo one > multi-1.txt\n"
                + "(2) echo two");
        assertThat(obs.extras().path("error_id").isTextual()).isTrue();
        assertThat(obs.json().has("success")).as("error observations carry no success flag").isFalse();
        assertThat(server.workingDir().resolve("multi-1.txt")).as("nothing was run").doesNotExist();
    }

    @Test
    void chainedCommandsAreOneCommand() {
        Obs obs = server.execute("echo a && echo b; echo c | tr c C || echo never");

        assertThat(obs.content()).isEqualTo("a\nb\nC");
        assertThat(obs.exitCode()).isZero();
    }

    @Test
    void multiLineCommandWithBackslashContinuation() {
        Obs obs = server.execute("echo one \\\n  two \\\n  three");

        assertThat(obs.content()).isEqualTo("one two three");
        assertThat(obs.exitCode()).isZero();
    }

    @Test
    void multiLineLoopIsOneCommand() {
        Obs obs = server.execute("for i in 1 2 3\ndo\n  echo \"n$i\"\ndone");

        assertThat(obs.type()).isEqualTo("run");
        assertThat(obs.content()).isEqualTo("n1\nn2\nn3");
    }

    @Test
    void heredocIsOneCommand() throws IOException {
        Obs obs = server.execute("cat > heredoc.txt <<'EOF'\nline one\n  $HOME stays literal\n\\backslash; & | > kept\nEOF");

        assertThat(obs.type()).isEqualTo("run");
        assertThat(obs.exitCode()).isZero();
        assertThat(obs.content()).isEmpty();
        assertThat(Files.readString(server.workingDir().resolve("heredoc.txt")))
                .isEqualTo("line one\n  $HOME stays literal\n\\backslash; & | > kept\n");

        Obs expanded = server.execute("X=42; cat <<EOF\nvalue=$X\nEOF");
        assertThat(expanded.content()).isEqualTo("value=42");
    }

    @Test
    void echoedCommandIsStripped() {
        Obs obs = server.execute("printf 'x%sy\\n' 1");

        assertThat(obs.content()).isEqualTo("x1y");
        assertThat(obs.content()).doesNotContain("printf");

        Obs silent = server.execute("true --unique-marker-7f3a");
        assertThat(silent.content()).isEmpty();
    }

    @Test
    void fiftyThousandLinesKeepTheEnd() {
        Obs obs = server.execute("seq 1 50000");

        assertThat(obs.exitCode()).isZero();
        assertThat(obs.content()).startsWith("1\n2\n3\n").endsWith("49999\n50000");
        assertThat(obs.content()).contains(TRUNCATION_NOTE);
        assertThat(obs.content()).hasSize(30_000 + TRUNCATION_NOTE.length());
        String full = fullSeq(50000);
        assertThat(obs.content()).isEqualTo(full.substring(0, 15_000) + TRUNCATION_NOTE
                + full.substring(full.length() - 15_000));
    }

    @Test
    void thirtyThousandCharTruncation() {
        Obs obs = server.execute("head -c 20000 /dev/zero | tr '\\0' H; head -c 20000 /dev/zero | tr '\\0' T");

        assertThat(obs.exitCode()).isZero();
        assertThat(obs.content()).isEqualTo("H".repeat(15_000) + TRUNCATION_NOTE + "T".repeat(15_000));
    }

    @Test
    void exactlyThirtyThousandCharsAreNotTruncated() {
        Obs obs = server.execute("head -c 30000 /dev/zero | tr '\\0' b");

        assertThat(obs.content()).isEqualTo("b".repeat(30_000));
    }

    @Test
    void hiddenActionIsNotTruncated() {
        Obs obs = server.execute(Run.of("head -c 20000 /dev/zero | tr '\\0' H; head -c 20000 /dev/zero | tr '\\0' T")
                .hidden(true));

        assertThat(obs.extras().path("hidden").asBoolean()).isTrue();
        assertThat(obs.content()).isEqualTo("H".repeat(20_000) + "T".repeat(20_000));
    }

    @Test
    void unicodeOutputRoundTrips() {
        String text = "héllo wörld — naïve façade · 你好，世界 · こんにちは · 🚀🎉👩‍💻 · Ω≈ç√";
        Obs obs = server.execute("echo '" + text + "'");

        assertThat(obs.content()).isEqualTo(text);
        assertThat(obs.extras().path("command").asText()).isEqualTo("echo '" + text + "'");

        // many multi-byte characters, so some straddle the reader's buffer boundaries
        Obs many = server.execute("for i in $(seq 1 3000); do printf '你好🚀é'; done; echo");
        assertThat(many.content()).isEqualTo("你好🚀é".repeat(3000));
    }

    @Test
    void ansiColorsAreStripped() {
        Obs obs = server.execute("printf '\\033[31mred\\033[0m \\033[1;32mbold green\\033[0m \\033]0;title\\007done\\n'");

        assertThat(obs.content()).isEqualTo("red bold green done");
    }

    @Test
    void controlCharactersATerminalShowsNothingForAreNotInTheOutput() {
        // ETX is what the terminal echoes for a C-c that reaches bash at its prompt
        Obs obs = server.execute("printf 'a\\003b\\007c\\000d\\177e\\tf\\n'");

        assertThat(obs.content()).isEqualTo("abcde\tf");
    }

    @Test
    void carriageReturnProgressShowsTheLastState() {
        Obs obs = server.execute("printf 'progress 10%%\\rprogress 50%%\\rprogress 100%%\\nnext\\n'");

        assertThat(obs.content()).isEqualTo("progress 100%\nnext");
    }

    @Test
    void backgroundJobCompletesImmediately() {
        Obs obs = server.execute("sleep 30 &");
        try {
            assertThat(obs.exitCode()).isZero();
            assertThat(obs.suffix()).isEqualTo(completed(0));
            assertThat(obs.pid()).as("pid is $! of the background job").isPositive();
            assertThat(obs.content()).isEqualTo("[1] " + obs.pid());
            ProcessHandle job = ProcessHandle.of(obs.pid()).orElseThrow(() -> new AssertionError("no process " + obs.pid()));
            assertThat(job.isAlive()).isTrue();
            // the forked job execs sleep a moment after bash reported its pid
            ServerProcess.awaitCondition(java.time.Duration.ofSeconds(10), "job " + obs.pid() + " to be sleep",
                    () -> job.info().command().orElse("").endsWith("sleep"));
            assertThat(server.execute("echo still-here").pid()).as("$! stays set").isEqualTo(obs.pid());
        } finally {
            // consume the job's notice here instead of in another test's output
            server.execute("kill %1; wait %1");
        }
    }

    @Test
    void commandStartingWithSpaceOrQuotes() {
        Obs space = server.execute("   echo leading-space");
        assertThat(space.content()).isEqualTo("leading-space");
        assertThat(space.extras().path("command").asText()).isEqualTo("echo leading-space");

        assertThat(server.execute("\"echo\" \"double quoted\"").content()).isEqualTo("double quoted");
        assertThat(server.execute("'printf' '%s\\n' 'single quoted'").content()).isEqualTo("single quoted");
        assertThat(server.execute("echo \"it's\" 'a \"mix\"'").content()).isEqualTo("it's a \"mix\"");
    }

    @Test
    void commandWithTrailingNewlineAndCommentIsOneCommand() {
        Obs obs = server.execute("echo visible # a comment\n");

        assertThat(obs.type()).isEqualTo("run");
        assertThat(obs.content()).isEqualTo("visible");
    }

    @Test
    void stderrIsInTheOutput() {
        Obs obs = server.execute("echo out; echo err >&2");

        assertThat(obs.content()).isEqualTo("out\nerr");
    }

    @Test
    void staticCommandRunsInGivenCwd() throws IOException {
        Path dir = Files.createDirectories(server.workingDir().resolve("static-dir"));

        Obs obs = server.execute(Run.of("pwd && echo static-ok").staticIn(dir));

        assertThat(obs.type()).isEqualTo("run");
        assertThat(obs.content()).isEqualTo(dir + "\nstatic-ok");
        assertThat(obs.exitCode()).isZero();
        assertThat(obs.suffix()).isEqualTo(completed(0));
        assertThat(server.execute("pwd").content()).as("the persistent shell did not move")
                .isEqualTo(server.workingDir().toString());
    }

    @Test
    void staticCommandReportsItsExitCode() throws IOException {
        Path dir = Files.createDirectories(server.workingDir().resolve("static-exit"));

        Obs obs = server.execute(Run.of("echo failing; exit 4").staticIn(dir));

        assertThat(obs.content()).isEqualTo("failing");
        assertThat(obs.exitCode()).isEqualTo(4);
        assertThat(obs.suffix()).isEqualTo(completed(4));
    }

    @Test
    void staticCommandHardTimeoutKillsIt() throws IOException {
        Path dir = Files.createDirectories(server.workingDir().resolve("static-timeout"));

        Obs obs = server.execute(Run.of("echo started; sleep 1000").staticIn(dir).hardTimeout(1.0));

        assertThat(obs.content()).isEqualTo("started");
        assertThat(obs.exitCode()).isEqualTo(-1);
        assertThat(obs.suffix()).isEqualTo(OpenHandsText.hardTimeout("1.0"));
        assertThat(server.descendants()).as("the static shell and its sleep are gone")
                .noneMatch(p -> p.info().commandLine().orElse("").contains("sleep 1000"));
    }

    @Test
    void staticCommandInMissingDirectoryIsAnError() {
        Obs obs = server.execute(Run.of("pwd").staticIn(server.workingDir().resolve("no-such-dir")));

        assertThat(obs.type()).isEqualTo("error");
        assertThat(obs.content()).contains("no-such-dir");
    }

    @Test
    void outputWithoutTrailingNewline() {
        assertThat(server.execute("printf 'no newline'").content()).isEqualTo("no newline");
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static String fullSeq(int n) {
        StringBuilder text = new StringBuilder();
        for (int i = 1; i <= n; i++) {
            text.append(i).append(i < n ? "\n" : "");
        }
        return text.toString();
    }
}
