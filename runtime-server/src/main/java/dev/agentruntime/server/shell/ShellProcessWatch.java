package dev.agentruntime.server.shell;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether the session's bash was replaced by {@code exec} ({@code exec bash}, {@code exec python3}), read from
 * {@code /proc}: the pid stays the same, but the auxiliary vector the kernel builds at every {@code execve} (the
 * {@code AT_RANDOM} and {@code AT_EXECFN} addresses, randomised with the stack) does not, so the prompt machinery is
 * known to be gone without waiting for a timeout. Without {@code /proc} (or with address randomisation off and the
 * very same program and arguments) it answers "not replaced", and the command's timeouts still end the wait.
 */
final class ShellProcessWatch {

    private static final int AT_RANDOM = 25;
    private static final int AT_EXECFN = 31;

    private final long pid;
    private final long[] image;

    private ShellProcessWatch(long pid, long[] image) {
        this.pid = pid;
        this.image = image;
    }

    static ShellProcessWatch of(long pid) {
        return new ShellProcessWatch(pid, auxv(pid));
    }

    /** Whether bash's process image is no longer the one that started (it ran exec). */
    boolean replaced() {
        if (image == null) {
            return false;
        }
        long[] now = auxv(pid);
        return now != null && (now[0] != image[0] || now[1] != image[1]);
    }

    private static long[] auxv(long pid) {
        try {
            byte[] bytes = Files.readAllBytes(Path.of("/proc/" + pid + "/auxv"));
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
            long random = 0;
            long execfn = 0;
            while (b.remaining() >= 16) {
                long type = b.getLong();
                long value = b.getLong();
                if (type == AT_RANDOM) {
                    random = value;
                } else if (type == AT_EXECFN) {
                    execfn = value;
                } else if (type == 0) {
                    break;
                }
            }
            return random == 0 && execfn == 0 ? null : new long[] {random, execfn};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
