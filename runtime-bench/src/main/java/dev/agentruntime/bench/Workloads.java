package dev.agentruntime.bench;

import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.FileReadAction;
import dev.agentruntime.FileWriteAction;
import dev.agentruntime.Observation;
import dev.agentruntime.Runtime;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/** The commands and action mixes every backend and baseline runs, so their numbers compare. */
final class Workloads {

    /** A shell builtin: no fork in the sandbox, so the round trip is all transport. */
    static final String ECHO = "echo x";
    /** A fork/exec of a small program. */
    static final String LS = "ls /";

    private Workloads() {
    }

    /**
     * One step of the agent-step workload (issue 14): the command an agent sends to its persistent shell, the same
     * work as one self-contained {@code bash -c} (which has no state from earlier steps), and what a right answer is.
     *
     * @param name      short name for the report
     * @param command   what runs in the persistent shell (may rely on earlier steps: cwd, variables)
     * @param stateless the same for a fresh {@code bash -c}: it sets up what the persistent shell would remember
     * @param exitCode  the expected exit code (one step fails on purpose)
     * @param expected  a string the output must contain
     */
    record Step(String name, String command, String stateless, int exitCode, String expected) {
        boolean ok(int exit, String output) {
            return exit == exitCode && output.contains(expected);
        }
    }

    /** The typical commands of an agent's step, in order; the order matters (cd, variables, the file). */
    static final java.util.List<Step> AGENT_STEPS = java.util.List.of(
            new Step("cd+ls", "cd /usr/share && ls -la", "cd /usr/share && ls -la", 0, "total "),
            new Step("cat", "cat /etc/os-release", "cat /etc/os-release", 0, "ID="),
            new Step("grep", "grep -n root /etc/passwd", "grep -n root /etc/passwd", 0, "1:root:"),
            new Step("env", "export BENCH_STEP=alpha", "export BENCH_STEP=alpha", 0, ""),
            new Step("env+", "export BENCH_STEP=\"$BENCH_STEP-beta\" && echo \"$BENCH_STEP\"",
                    "export BENCH_STEP=alpha; export BENCH_STEP=\"$BENCH_STEP-beta\" && echo \"$BENCH_STEP\"", 0,
                    "alpha-beta"),
            new Step("write+wc", "printf 'one\\ntwo\\nthree\\n' > /tmp/bench-step.txt && wc -l < /tmp/bench-step.txt",
                    "printf 'one\\ntwo\\nthree\\n' > /tmp/bench-step.txt && wc -l < /tmp/bench-step.txt", 0, "3"),
            new Step("find|head", "find /etc -type f | head -5", "find /etc -type f | head -5", 0, "/etc/"),
            new Step("pwd+ls", "pwd && ls | head -3", "cd /usr/share && pwd && ls | head -3", 0, "/usr/share"),
            new Step("fail", "ls /no-such-dir-bench", "ls /no-such-dir-bench", 2, "No such file"));

    /** Whether an output of {@code command} is what it should be. */
    static boolean expected(String command, String output) {
        return command.equals(ECHO) ? output.strip().equals("x") : output.contains("bin") && output.contains("usr");
    }

    static boolean run(Runtime sandbox, String command) {
        CmdOutputObservation out = sandbox.run(command);
        return out.exitCode() == 0 && expected(command, out.content());
    }

    /**
     * The mix behind the memory reading "after N actions": echo, ls, write a file, read it back, in turn; so the
     * shell, the process launcher and the file service (and the JSON paths of each) have all been used.
     */
    static boolean mixed(Runtime sandbox, int i) {
        switch (i % 4) {
            case 0:
                return run(sandbox, ECHO);
            case 1:
                return run(sandbox, LS);
            case 2: {
                Observation written = sandbox.write(FileWriteAction.of("/tmp/bench-mix.txt", "line " + i + "\n"));
                return !(written instanceof dev.agentruntime.ErrorObservation);
            }
            default: {
                Observation read = sandbox.read(FileReadAction.of("/tmp/bench-mix.txt"));
                return read.content().contains("line ");
            }
        }
    }

    /** A file of incompressible bytes (so no transport wins by compressing). */
    static Path randomFile(Path dir, int mib) {
        Path file = dir.resolve("bench-" + mib + "MiB.bin");
        byte[] block = new byte[1 << 20];
        SplittableRandom random = new SplittableRandom(42);
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < mib; i++) {
                for (int j = 0; j < block.length; j += 8) {
                    long value = random.nextLong();
                    for (int k = 0; k < 8; k++) {
                        block[j + k] = (byte) (value >>> (8 * k));
                    }
                }
                out.write(block);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the benchmark file " + file, e);
        }
        return file;
    }

    /** The size of the one file in a downloaded zip (copyFrom answers with a zip). */
    static long zippedFileSize(Path zip) {
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            long total = 0;
            ZipEntry entry;
            while ((entry = in.getNextEntry()) != null) {
                if (!entry.isDirectory()) {
                    total += in.transferTo(OutputStream.nullOutputStream());
                }
            }
            return total;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the downloaded zip " + zip, e);
        }
    }
}
