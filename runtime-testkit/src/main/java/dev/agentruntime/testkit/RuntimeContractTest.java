package dev.agentruntime.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.agentruntime.ActionFailedException;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.Capability;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.ErrorObservation;
import dev.agentruntime.FileEditAction;
import dev.agentruntime.FileEditObservation;
import dev.agentruntime.FileReadAction;
import dev.agentruntime.FileReadObservation;
import dev.agentruntime.FileWriteAction;
import dev.agentruntime.FileWriteObservation;
import dev.agentruntime.IPythonRunCellAction;
import dev.agentruntime.IPythonRunCellObservation;
import dev.agentruntime.Observation;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.RuntimePausedException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.StatusEvent;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract every backend passes. Extend it, point {@link #configure(RuntimeConfig.Builder)} at your backend,
 * and the same scenarios run against it: commands, exit codes, cwd/env persistence, timeouts, interactive input,
 * Ctrl-C, long and unicode output, files and transfers, a failed start's diagnostics, pause/resume, attach by session
 * id, an HTTP server reached through {@code webHosts()}, and nothing left after {@code close()} (asked of the
 * backend's {@link SandboxHousekeeping}). A scenario a backend cannot support is skipped through the
 * {@link Capability} the backend does not declare — never silently.
 *
 * <pre>{@code
 * class DockerContractIT extends RuntimeContractTest {
 *     protected RuntimeConfig.Builder configure(RuntimeConfig.Builder builder) {
 *         return builder.type("docker").option("image", "debian:bookworm");
 *     }
 * }
 * }</pre>
 *
 * One sandbox serves the whole class (sandboxes are slow to start); each scenario leaves the shell idle.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class RuntimeContractTest {

    /** The "no new output" timeout the suite configures, short so timeout scenarios stay quick. */
    protected static final Duration NO_CHANGE_TIMEOUT = Duration.ofSeconds(2);
    /** The environment variable the suite sets through the config. */
    protected static final String CONFIGURED_VARIABLE = "AGENT_RUNTIME_CONTRACT";

    protected Runtime runtime;
    protected final List<StatusEvent> events = new CopyOnWriteArrayList<>();

    /** Configures the backend under test; the suite has already set the environment, timeouts and listener. */
    protected abstract RuntimeConfig.Builder configure(RuntimeConfig.Builder builder);

    /** The JVM option {@link #failingStartup} makes the server's JVM refuse, so its start fails with a known line. */
    protected static final String FAILING_JVM_OPTION = "AgentRuntimeContractUnknownOption";

    /**
     * A configuration whose action server fails to start with output that names {@link #FAILING_JVM_OPTION}: by
     * default an unknown JVM option through {@code JAVA_TOOL_OPTIONS}, which every server JVM reads at start.
     * Override when the backend starts its server some other way.
     */
    protected RuntimeConfig.Builder failingStartup(RuntimeConfig.Builder builder) {
        return builder.env("JAVA_TOOL_OPTIONS", "-XX:+" + FAILING_JVM_OPTION);
    }

    /**
     * Asserts that nothing labelled with the session of {@code config} is left, asking the backend's
     * {@link dev.agentruntime.SandboxHousekeeping} (with a deadline: some backends remove asynchronously).
     */
    protected void assertNothingLeft(RuntimeConfig config) {
        awaitCondition("nothing is left of session " + config.sessionId(), () -> housekept(config).isEmpty());
    }

    /** What the backend's housekeeping lists for the session of {@code config}. */
    protected java.util.Optional<SandboxInfo> housekept(RuntimeConfig config) {
        try (SandboxHousekeeping housekeeping = RuntimeFactory.housekeeping(config)) {
            return housekeeping.find(config.sessionId());
        }
    }

    /** Waits for {@code condition} with a deadline of {@link #CONDITION_TIMEOUT}, polling every 50 ms. */
    protected static void awaitCondition(String what, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + CONDITION_TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Timed out after " + CONDITION_TIMEOUT + " waiting until " + what);
            }
            try {
                Thread.sleep(50); // polling a condition with a deadline, not standing in for one
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("Interrupted while waiting until " + what, e);
            }
        }
    }

    /** How long {@link #awaitCondition} waits. */
    protected static final Duration CONDITION_TIMEOUT = Duration.ofSeconds(30);

    private long lineCount(String file) {
        String out = runtime.run("wc -l < " + file + " 2>/dev/null || echo 0").content().strip();
        return Long.parseLong(out.isEmpty() ? "0" : out);
    }

    /** A fresh configuration for the backend under test (for scenarios that need their own sandbox). */
    protected RuntimeConfig config() {
        return configure(RuntimeConfig.builder()
                .env(CONFIGURED_VARIABLE, "configured value")
                .noChangeTimeout(NO_CHANGE_TIMEOUT)
                .actionTimeout(Duration.ofSeconds(60))
                .startupTimeout(Duration.ofSeconds(120))
                .statusListener(events::add)).build();
    }

    @BeforeAll
    void startSandbox() {
        runtime = RuntimeFactory.create(config());
        runtime.connect();
    }

    @AfterAll
    void closeSandbox() {
        if (runtime != null) {
            runtime.close();
        }
    }

    /** Leaves the shell idle for the next scenario, whatever the last one did. */
    @BeforeEach
    void settleShell() {
        CmdOutputObservation probe = runtime.run(CmdRunAction.of("true").withHardTimeout(Duration.ofSeconds(10)));
        if (probe.stillRunning()) {
            runtime.run(CmdRunAction.of("C-c"));
        }
        runtime.run("cd ~ 2>/dev/null; cd - >/dev/null 2>&1; true");
    }

    // ------------------------------------------------------------------ lifecycle

    @Test
    void connectedRuntimeIsReadyAndReportedItsProgress() {
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.READY);
        assertThat(events).extracting(StatusEvent::status)
                .containsSubsequence(RuntimeStatus.STARTING_RUNTIME, RuntimeStatus.READY);
        assertThat(runtime.supports(Capability.SHELL)).isTrue();
        assertThat(runtime.id()).isNotBlank();
    }

    @Test
    void closeIsIdempotentAndEndsTheSandbox() {
        RuntimeConfig otherConfig = config();
        Runtime other = RuntimeFactory.create(otherConfig);
        other.connect();
        assertThat(other.run("echo second").content()).isEqualTo("second");
        assertThat(housekept(otherConfig)).as("housekeeping lists the open sandbox").isPresent();
        other.close();
        other.close();
        assertThat(other.status()).isEqualTo(RuntimeStatus.CLOSED);
        assertThatThrownBy(() -> other.run("echo again")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not connected");
        assertNothingLeft(otherConfig);
    }

    @Test
    void aStartupFailureCarriesTheServersLastLogLines() {
        RuntimeConfig failing = failingStartup(config().toBuilder()).startupTimeout(Duration.ofSeconds(60)).build();
        Runtime broken = RuntimeFactory.create(failing);
        try {
            assertThatThrownBy(broken::connect).isInstanceOf(AgentRuntimeException.class)
                    .hasMessageContaining(failing.sessionId())
                    .hasMessageContaining("Last server log lines:")
                    .hasMessageContaining(FAILING_JVM_OPTION);
            assertThat(broken.status()).isEqualTo(RuntimeStatus.ERROR);
        } finally {
            broken.close();
        }
        assertNothingLeft(failing);
    }

    // ------------------------------------------------------------- pause, attach, ports

    @Test
    void pauseAndResumeKeepABackgroundProcessAndFiles() {
        assumeTrue(runtime.supports(Capability.PAUSE_RESUME), "backend declares no PAUSE_RESUME capability");
        String dir = sandboxDir("pause");
        runtime.run("echo kept > " + dir + "/file.txt");
        runtime.run("(while true; do date +%s%N >> " + dir + "/ticks; sleep 0.1; done) >/dev/null 2>&1 & echo $! > "
                + dir + "/pid");
        String pid = runtime.run("cat " + dir + "/pid").content().strip();
        awaitCondition("the background process ticks", () -> lineCount(dir + "/ticks") >= 2);

        runtime.pause();
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.PAUSED);
        long before = System.nanoTime();
        assertThatThrownBy(() -> runtime.run("echo while paused")).isInstanceOf(RuntimePausedException.class)
                .hasMessageContaining("paused").hasMessageContaining(runtime.id()).hasMessageContaining("resume()");
        assertThatThrownBy(() -> runtime.listFiles(dir)).isInstanceOf(RuntimePausedException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - before)).as("rejected at once, not after the action timeout")
                .isLessThan(Duration.ofSeconds(2));
        runtime.resume();
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.READY);

        assertThat(runtime.run("cat " + dir + "/file.txt").content()).isEqualTo("kept");
        assertThat(runtime.run("kill -0 " + pid + " && echo alive").content()).as("background process " + pid)
                .isEqualTo("alive");
        long afterResume = lineCount(dir + "/ticks");
        awaitCondition("the background process ticks on after resume", () -> lineCount(dir + "/ticks") > afterResume);
        runtime.run("kill " + pid);
    }

    @Test
    void aSecondRuntimeAttachesToAKeptAliveSandboxBySessionId() {
        assumeTrue(runtime.supports(Capability.ATTACH), "backend declares no ATTACH capability");
        RuntimeConfig kept = config().toBuilder().keepAlive(true).sessionApiKey(RuntimeConfig.randomKey()).build();
        try (Runtime first = RuntimeFactory.connect(kept)) {
            first.run("export ATTACH_CONTRACT=still-here && echo attached > /tmp/contract-attach.txt");
        }
        RuntimeConfig attaching = kept.toBuilder().keepAlive(false).attachToExisting(true).build();
        try (Runtime second = RuntimeFactory.connect(attaching)) {
            assertThat(second.id()).isEqualTo(kept.sessionId());
            assertThat(second.run("cat /tmp/contract-attach.txt").content()).isEqualTo("attached");
            assertThat(second.run("echo $ATTACH_CONTRACT").content()).as("the same shell").isEqualTo("still-here");
        }
        assertNothingLeft(attaching);
    }

    @Test
    void anHttpServerInsideTheSandboxAnswersThroughItsWebHostsUrl() throws Exception {
        assumeTrue(runtime.supports(Capability.WEB_HOSTS), "backend declares no WEB_HOSTS capability");
        Map.Entry<String, Integer> host = runtime.webHosts().entrySet().iterator().next();
        assumeTrue(runtime.run("command -v python3 >/dev/null").exitCode() == 0,
                "the sandbox image has no python3 to serve HTTP with");
        String dir = sandboxDir("web");
        runtime.run("echo 'served from the sandbox' > " + dir + "/index.html");
        String pid = runtime.run("cd " + dir + " && (python3 -m http.server " + host.getValue()
                + " --bind 0.0.0.0 >/dev/null 2>&1 &) ; sleep 0; pgrep -n -f 'http.server " + host.getValue() + "'"
                + " || true").content().strip();
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            URI url = URI.create(host.getKey().endsWith("/") ? host.getKey() + "index.html"
                    : host.getKey() + "/index.html");
            String[] body = new String[1];
            awaitCondition("GET " + url + " answers 200", () -> {
                try {
                    HttpResponse<String> response = http.send(HttpRequest.newBuilder(url)
                            .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
                    body[0] = response.body();
                    return response.statusCode() == 200;
                } catch (IOException e) {
                    return false;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            });
            assertThat(body[0]).isEqualTo("served from the sandbox\n");
        } finally {
            runtime.run("pkill -f 'http.server " + host.getValue() + "' || true" + (pid.isEmpty() ? "" : "; true"));
        }
    }

    // ------------------------------------------------------------------- commands

    @Test
    void echoReturnsItsOutputAndExitCodeZero() {
        CmdOutputObservation out = runtime.run("echo hello");
        assertThat(out.content()).isEqualTo("hello");
        assertThat(out.exitCode()).isZero();
        assertThat(out.success()).isTrue();
        assertThat(out.metadata().suffix()).isEqualTo("\n[The command completed with exit code 0.]");
    }

    @Test
    void failingCommandReportsItsExitCode() {
        CmdOutputObservation out = runtime.run("sh -c 'exit 3'");
        assertThat(out.exitCode()).isEqualTo(3);
        assertThat(out.success()).isFalse();
        CmdOutputObservation missing = runtime.run("definitely-not-a-command-xyz");
        assertThat(missing.exitCode()).isEqualTo(127);
        assertThat(missing.content()).contains("definitely-not-a-command-xyz").contains("not found");
    }

    @Test
    void workingDirectoryPersistsAcrossActions() {
        runtime.run("mkdir -p /tmp/contract-cwd && cd /tmp/contract-cwd");
        CmdOutputObservation out = runtime.run("pwd");
        assertThat(out.content()).isEqualTo("/tmp/contract-cwd");
        assertThat(out.metadata().workingDir()).isEqualTo("/tmp/contract-cwd");
    }

    @Test
    void environmentPersistsAcrossActionsAndConfiguredVariablesAreSet() {
        runtime.run("export CONTRACT_VAR='persisted value'");
        assertThat(runtime.run("echo \"$CONTRACT_VAR\"").content()).isEqualTo("persisted value");
        assertThat(runtime.run("echo \"$" + CONFIGURED_VARIABLE + "\"").content()).isEqualTo("configured value");
    }

    @Test
    void severalTopLevelCommandsAreRefusedAsOneAction() {
        Observation obs = runtime.execute(CmdRunAction.of("echo one\necho two"));
        assertThat(obs).isInstanceOf(ErrorObservation.class);
        assertThat(obs.content()).startsWith("ERROR: Cannot execute multiple commands at once.")
                .contains("(1) echo one").contains("(2) echo two");
        assertThatThrownBy(() -> runtime.run("echo one\necho two")).isInstanceOf(ActionFailedException.class);
        assertThat(runtime.run("echo one && echo two").content()).isEqualTo("one\ntwo");
    }

    @Test
    void heredocAndMultiLineCommandsRunAsOne() {
        CmdOutputObservation out = runtime.run("cat <<'EOF' > /tmp/contract-heredoc.txt\nline one\n$NOT_EXPANDED\nEOF");
        assertThat(out.exitCode()).isZero();
        assertThat(runtime.run("cat /tmp/contract-heredoc.txt").content()).isEqualTo("line one\n$NOT_EXPANDED");
        assertThat(runtime.run("for i in 1 2 3; do\n  echo \"n$i\"\ndone").content()).isEqualTo("n1\nn2\nn3");
    }

    // ------------------------------------------------------------------- timeouts

    @Test
    void quietCommandHitsTheSoftTimeoutAndCanBeContinued() {
        CmdOutputObservation first = runtime.run("echo started; sleep 3; echo finished");
        assertThat(first.exitCode()).isEqualTo(-1);
        assertThat(first.content()).isEqualTo("started");
        assertThat(first.metadata().suffix()).startsWith("\n[The command has no new output after 2 seconds.");
        CmdOutputObservation rest = runtime.run(CmdRunAction.of("").withBlocking(true)
                .withHardTimeout(Duration.ofSeconds(20)));
        CmdOutputObservation done = rest.stillRunning() ? runtime.run(CmdRunAction.of("")) : rest;
        assertThat(done.exitCode()).isZero();
        assertThat(done.content()).contains("finished").doesNotContain("started");
        assertThat(done.metadata().prefix()).isEqualTo("[Below is the output of the previous command.]\n");
    }

    @Test
    void hardTimeoutLeavesTheProcessRunning() {
        CmdOutputObservation out = runtime.run(CmdRunAction.of("sleep 30").withTimeout(Duration.ofSeconds(1)));
        assertThat(out.exitCode()).isEqualTo(-1);
        assertThat(out.metadata().suffix()).startsWith("\n[The command timed out after 1.0 seconds.");
        CmdOutputObservation refused = runtime.run("echo not now");
        assertThat(refused.metadata().suffix()).contains("is NOT executed");
        CmdOutputObservation interrupted = runtime.run(CmdRunAction.of("C-c"));
        assertThat(interrupted.exitCode()).isEqualTo(130);
        assertThat(interrupted.metadata().suffix()).endsWith("CTRL+C was sent.]");
    }

    @Test
    void blockingCommandIgnoresTheSoftTimeout() {
        CmdOutputObservation out = runtime.run(CmdRunAction.of("sleep 3; echo late").withTimeout(Duration.ofSeconds(20)));
        assertThat(out.exitCode()).isZero();
        assertThat(out.content()).isEqualTo("late");
    }

    // ---------------------------------------------------------------- interaction

    @Test
    void interactivePromptIsAnsweredWithInput() {
        CmdOutputObservation prompt = runtime.run("read -p 'Your name: ' name && echo \"Hello $name\"");
        assertThat(prompt.exitCode()).isEqualTo(-1);
        assertThat(prompt.content()).contains("Your name:");
        CmdOutputObservation answer = runtime.run(CmdRunAction.input("Ada"));
        assertThat(answer.exitCode()).isZero();
        assertThat(answer.content()).contains("Hello Ada");
    }

    @Test
    void ctrlCInterruptsARunningLoop() {
        CmdOutputObservation loop = runtime.run("while true; do sleep 0.2; done");
        assertThat(loop.stillRunning()).isTrue();
        CmdOutputObservation stopped = runtime.run(CmdRunAction.of("C-c"));
        assertThat(stopped.exitCode()).isIn(1, 130);
        assertThat(runtime.run("echo after").content()).isEqualTo("after");
    }

    @Test
    void inputWithNothingRunningIsAnError() {
        assertThat(runtime.run(CmdRunAction.input("hello")).content())
                .isEqualTo("ERROR: No previous running command to interact with.");
        assertThat(runtime.run(CmdRunAction.of("")).content())
                .isEqualTo("ERROR: No previous running command to retrieve logs from.");
    }

    // --------------------------------------------------------------------- output

    @Test
    void longOutputKeepsItsEnd() {
        CmdOutputObservation out = runtime.run(CmdRunAction.of("seq 1 50000").withTimeout(Duration.ofSeconds(60)));
        assertThat(out.exitCode()).isZero();
        assertThat(out.content()).startsWith("1\n2\n3\n").endsWith("49999\n50000")
                .contains("[... Observation truncated due to length ...]");
        assertThat(out.content().length()).isLessThanOrEqualTo(30_000 + 60);
    }

    @Test
    void unicodeOutputSurvivesTheRoundTrip() {
        String text = "héllo wörld — 你好 🚀";
        assertThat(runtime.run("echo '" + text + "'").content()).isEqualTo(text);
    }

    // ---------------------------------------------------------------------- files

    /** A fresh absolute directory inside the sandbox for one scenario. */
    protected String sandboxDir(String name) {
        String dir = "/tmp/contract-files/" + name;
        runtime.run("rm -rf " + dir + " && mkdir -p " + dir);
        return dir;
    }

    @Test
    void writeThenReadAFile() {
        assumeTrue(runtime.supports(Capability.FILES), "backend declares no FILES capability");
        String dir = sandboxDir("write-read");
        Observation written = runtime.write(FileWriteAction.of(dir + "/notes.txt", "first line\nsecond line"));
        assertThat(written).isInstanceOf(FileWriteObservation.class);
        assertThat(((FileWriteObservation) written).path()).isEqualTo(dir + "/notes.txt");
        assertThat(runtime.run("cat " + dir + "/notes.txt").content()).isEqualTo("first line\nsecond line");
        Observation read = runtime.read(FileReadAction.of(dir + "/notes.txt"));
        assertThat(read).isInstanceOf(FileReadObservation.class);
        assertThat(read.content()).isEqualTo("first line\nsecond line\n");
    }

    @Test
    void relativePathsResolveAgainstTheShellsDirectory() {
        assumeTrue(runtime.supports(Capability.FILES), "backend declares no FILES capability");
        String dir = sandboxDir("relative");
        runtime.run("cd " + dir);
        runtime.write(FileWriteAction.of("relative.txt", "here"));
        assertThat(runtime.run("cat " + dir + "/relative.txt").content()).isEqualTo("here");
        assertThat(runtime.read(FileReadAction.of("relative.txt")).content()).isEqualTo("here\n");
    }

    @Test
    void readingAMissingFileIsAnErrorObservation() {
        assumeTrue(runtime.supports(Capability.FILES), "backend declares no FILES capability");
        String dir = sandboxDir("missing");
        runtime.run("cd " + dir);
        Observation obs = runtime.read(FileReadAction.of(dir + "/nope.txt"));
        assertThat(obs).isInstanceOf(ErrorObservation.class);
        assertThat(obs.content()).isEqualTo("File not found: " + dir + "/nope.txt. Your current working directory is "
                + dir + ".");
    }

    @Test
    void editorCreatesReplacesInsertsAndUndoes() {
        assumeTrue(runtime.supports(Capability.FILES), "backend declares no FILES capability");
        String file = sandboxDir("editor") + "/code.py";
        Observation created = runtime.edit(FileEditAction.create(file, "def f():\n    return 1\n"));
        assertThat(created.content()).isEqualTo("File created successfully at: " + file);
        FileEditObservation replaced = (FileEditObservation) runtime.edit(
                FileEditAction.strReplace(file, "return 1", "return 2"));
        assertThat(replaced.content()).startsWith("The file " + file + " has been edited.");
        assertThat(replaced.diff()).contains("-    return 1").contains("+    return 2");
        Observation missing = runtime.edit(FileEditAction.strReplace(file, "return 9", "return 3"));
        assertThat(missing.content()).isEqualTo("ERROR:\nNo replacement was performed, old_str `return 9` did not"
                + " appear verbatim in " + file + ".");
        runtime.edit(FileEditAction.insert(file, 0, "# header"));
        assertThat(runtime.run("cat " + file).content()).isEqualTo("# header\ndef f():\n    return 2");
        Observation undone = runtime.edit(FileEditAction.undoEdit(file));
        assertThat(undone.content()).startsWith("Last edit to " + file + " undone successfully.");
        assertThat(runtime.run("cat " + file).content()).isEqualTo("def f():\n    return 2");
        Observation view = runtime.edit(FileEditAction.view(file));
        assertThat(view.content()).isEqualTo("Here's the result of running `cat -n` on " + file + ":\n"
                + "     1\tdef f():\n     2\t    return 2\n     3\t\n");
    }

    @Test
    void copyToAndCopyFromRoundTripAFileAndATree(@TempDir Path host) throws IOException {
        assumeTrue(runtime.supports(Capability.FILE_TRANSFER), "backend declares no FILE_TRANSFER capability");
        String dest = sandboxDir("transfer");
        Path file = Files.writeString(host.resolve("single.txt"), "single file ✓");
        Path tree = Files.createDirectories(host.resolve("tree/sub"));
        Files.writeString(host.resolve("tree/top.txt"), "top");
        Files.writeString(tree.resolve("deep.txt"), "deep");

        runtime.copyTo(file, dest, false);
        runtime.copyTo(host.resolve("tree"), dest, true);
        assertThat(runtime.run("cat " + dest + "/single.txt").content()).isEqualTo("single file ✓");
        assertThat(runtime.run("cat " + dest + "/tree/sub/deep.txt").content()).isEqualTo("deep");
        assertThat(runtime.listFiles(dest)).containsExactly("tree/", "single.txt");
        assertThat(runtime.listFiles(dest + "/tree")).containsExactly("sub/", "top.txt");

        Map<String, String> entries = unzip(runtime.copyFrom(dest + "/tree"));
        assertThat(entries).containsEntry("top.txt", "top").containsEntry("sub/deep.txt", "deep");
    }

    @Test
    void copyFromOfASingleFileIsAZipOfThatOneFile() throws IOException {
        assumeTrue(runtime.supports(Capability.FILE_TRANSFER), "backend declares no FILE_TRANSFER capability");
        String dir = sandboxDir("single");
        runtime.run("printf 'one file' > " + dir + "/only.txt");
        assertThat(unzip(runtime.copyFrom(dir + "/only.txt"))).containsExactly(Map.entry("only.txt", "one file"));
    }

    @Test
    void writeBytesAndReadBytesRoundTripAnyBytesWithoutCopyTo() {
        assumeTrue(runtime.supports(Capability.FILE_TRANSFER), "backend declares no FILE_TRANSFER capability");
        String dir = sandboxDir("bytes");
        byte[] all = new byte[256 * 3];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) i; // NUL, invalid UTF-8, CR/LF: nothing a text write would keep
        }
        runtime.writeBytes(dir + "/new/sub/blob.bin", all);
        assertThat(runtime.run("wc -c < " + dir + "/new/sub/blob.bin").content().strip()).isEqualTo("768");
        assertThat(runtime.run("od -An -tx1 -j255 -N2 " + dir + "/new/sub/blob.bin").content().strip())
                .isEqualTo("ff 00");
        assertThat(runtime.readBytes(dir + "/new/sub/blob.bin")).isEqualTo(all);

        // replaces an existing file; a .zip name is stored as it is, not unpacked
        runtime.writeBytes(dir + "/new/sub/blob.bin", new byte[] {1, 2});
        assertThat(runtime.readBytes(dir + "/new/sub/blob.bin")).containsExactly(1, 2);
        runtime.writeBytes(dir + "/archive.zip", "PK not really".getBytes(StandardCharsets.UTF_8));
        assertThat(runtime.run("cat " + dir + "/archive.zip").content()).isEqualTo("PK not really");

        assertThatThrownBy(() -> runtime.readBytes(dir + "/new")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is a directory");
        runtime.run("mkdir -p " + dir + "/twin && echo x > " + dir + "/twin/twin");
        assertThatThrownBy(() -> runtime.readBytes(dir + "/twin")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is a directory");
        assertThatThrownBy(() -> runtime.writeBytes("relative.bin", all)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("absolute");
    }

    /**
     * Every sandbox exports its session under one name. (A backend that creates its sandbox under its own session id
     * also checks that the value is {@code runtime.id()}; a remote one names the sandbox by the server's runtime id.)
     */
    @Test
    void theShellKnowsItsSessionUnderTheCommonName() {
        assertThat(sessionVariable()).isNotBlank().doesNotContainAnyWhitespaces();
    }

    /** {@code $AGENT_RUNTIME_SESSION_ID} as the sandbox's shell sees it. */
    protected String sessionVariable() {
        return runtime.run("echo $" + dev.agentruntime.spi.ServerLaunch.ENV_SESSION_ID).content().strip();
    }

    @Test
    void copyToOfAMissingHostPathFailsBeforeSendingAnything(@TempDir Path host) {
        assumeTrue(runtime.supports(Capability.FILE_TRANSFER), "backend declares no FILE_TRANSFER capability");
        Path missing = host.resolve("does-not-exist.txt");
        assertThatThrownBy(() -> runtime.copyTo(missing, "/tmp", false))
                .isInstanceOf(UncheckedIOException.class)
                .hasCauseInstanceOf(NoSuchFileException.class)
                .hasMessageContaining("does-not-exist.txt");
    }

    @Test
    void listingAMissingDirectoryIsEmpty() {
        assumeTrue(runtime.supports(Capability.FILE_TRANSFER), "backend declares no FILE_TRANSFER capability");
        assertThat(runtime.listFiles("/definitely/not/here")).isEmpty();
    }

    // -------------------------------------------------------------------- python

    @Test
    void pythonCellsShareStateAndFollowTheShellsDirectory() {
        assumeTrue(runtime.supports(Capability.IPYTHON), "backend declares no IPYTHON capability");
        boolean hasPython = runtime.run("command -v python3 >/dev/null").exitCode() == 0;
        Observation first = runtime.execute(IPythonRunCellAction.of("x = 20\nx + 22"));
        if (!hasPython) {
            assertThat(first).isInstanceOf(ErrorObservation.class);
            assertThat(first.content()).contains("python3");
            return;
        }
        assertThat(first).isInstanceOf(IPythonRunCellObservation.class);
        assertThat(first.content()).startsWith("42\n[Jupyter current working directory: ");
        String dir = sandboxDir("python");
        runtime.run("cd " + dir);
        Observation second = runtime.execute(IPythonRunCellAction.of("import os; print(x, os.getcwd())"));
        assertThat(second.content()).startsWith("20 " + dir + "\n[Jupyter current working directory: " + dir + "]");
    }

    private static Map<String, String> unzip(Path zip) throws IOException {
        Map<String, String> entries = new HashMap<>();
        try (InputStream in = Files.newInputStream(zip); ZipInputStream entriesIn = new ZipInputStream(in)) {
            ZipEntry entry;
            while ((entry = entriesIn.getNextEntry()) != null) {
                if (!entry.isDirectory()) {
                    entries.put(entry.getName(), new String(entriesIn.readAllBytes(), StandardCharsets.UTF_8));
                }
            }
        } finally {
            Files.deleteIfExists(zip);
        }
        return entries;
    }
}
