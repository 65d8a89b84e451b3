package dev.agentruntime.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

/**
 * The raw limit of a persistent shell: one {@code bash} reading commands from a pipe (a host {@code bash}, or
 * {@code docker exec -i <container> bash}), each command followed by a sentinel line the caller reads up to. No
 * HTTP, no JSON, no terminal, no server threads: one write, bash's own work, one read on the calling thread. What our
 * server adds to a command is measured against this.
 */
final class RawShell implements AutoCloseable {

    private final Process process;
    private final OutputStream stdin;
    private final InputStream stdout;
    private final byte[] sentinel;
    private final String sentinelText;
    private final byte[] buffer = new byte[64 * 1024];

    private RawShell(List<String> command) {
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
        stdin = process.getOutputStream();
        stdout = process.getInputStream();
        sentinelText = "__bench_done_" + UUID.randomUUID().toString().replace("-", "") + "__";
        sentinel = ("\n" + sentinelText + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** A bash on this host, without rc files (what a bare persistent shell costs). */
    static RawShell host() {
        return started(List.of("bash", "--norc", "--noprofile"));
    }

    /**
     * An interactive host bash that sources {@code ~/.bashrc}, as the local backend's shell does by default: what
     * this machine's rc file costs a shell start.
     */
    static RawShell hostInteractive() {
        return started(List.of("bash", "-i"));
    }

    /** {@code docker exec -i <container> bash}: the same, inside a container. */
    static RawShell docker(String container) {
        return started(List.of("docker", "exec", "-i", container, "bash", "--norc", "--noprofile"));
    }

    private static RawShell started(List<String> command) {
        RawShell shell = new RawShell(command);
        try {
            String first = shell.run("echo ready");
            if (!first.contains("ready")) {
                throw new IllegalStateException(command + " answered " + first);
            }
        } catch (RuntimeException e) {
            shell.close();
            throw e;
        }
        return shell;
    }

    /** Runs {@code command} and returns its output (stdout and stderr), without the sentinel. */
    String run(String command) {
        try {
            // `printf` on a line of its own: the sentinel follows whatever the command printed, newline or not
            stdin.write((command + "\nprintf '\\n%s\\n' " + sentinelText + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
            int length = 0;
            byte[] out = buffer;
            while (true) {
                if (length == out.length) {
                    out = java.util.Arrays.copyOf(out, out.length * 2);
                }
                int n = stdout.read(out, length, out.length - length);
                if (n < 0) {
                    throw new IllegalStateException("the raw shell exited; it printed: "
                            + new String(out, 0, length, StandardCharsets.UTF_8));
                }
                length += n;
                if (endsWithSentinel(out, length)) {
                    return new String(out, 0, length - sentinel.length, StandardCharsets.UTF_8);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("raw shell: " + e.getMessage(), e);
        }
    }

    private boolean endsWithSentinel(byte[] out, int length) {
        if (length < sentinel.length) {
            return false;
        }
        for (int i = 0; i < sentinel.length; i++) {
            if (out[length - sentinel.length + i] != sentinel[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        try {
            stdin.close();
        } catch (IOException ignored) {
            // the process goes below
        }
        process.destroy();
        try {
            if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
