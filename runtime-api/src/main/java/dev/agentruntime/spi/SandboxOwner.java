package dev.agentruntime.spi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The process that created a sandbox: host name, pid, start time and (on Linux) boot id — enough to tell, on that
 * host, whether it is certainly gone, even after the pid was reused or the host rebooted.
 *
 * @param startedMillis the process start time in epoch milliseconds, 0 when the OS does not tell
 */
public record SandboxOwner(String host, long pid, long startedMillis, Optional<String> bootId) {

    public SandboxOwner {
        Objects.requireNonNull(host, "host");
        bootId = Objects.requireNonNullElse(bootId, Optional.empty());
    }

    /** This process. */
    public static SandboxOwner current() {
        ProcessHandle self = ProcessHandle.current();
        return new SandboxOwner(hostName(), self.pid(), startedMillis(self), readBootId());
    }

    /**
     * Whether this owner, recorded on this host, is certainly gone: another boot, no such pid, or a pid reused by a
     * process that started at another time. Owners on other hosts are never judged gone.
     */
    public boolean isGoneOn(SandboxOwner here) {
        if (!host.equals(here.host)) {
            return false;
        }
        if (bootId.isPresent() && here.bootId.isPresent() && !bootId.get().equals(here.bootId.get())) {
            return true;
        }
        Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive()) {
            return true;
        }
        long actualStart = startedMillis(process.get());
        // start times are only precise to the clock tick: allow a second of slack
        return startedMillis != 0 && actualStart != 0 && Math.abs(actualStart - startedMillis) > 1000;
    }

    private static long startedMillis(ProcessHandle process) {
        return process.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
    }

    private static String hostName() {
        try {
            Path proc = Path.of("/proc/sys/kernel/hostname");
            if (Files.isReadable(proc)) {
                return Files.readString(proc).trim();
            }
        } catch (IOException | UncheckedIOException e) {
            // fall through
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    private static Optional<String> readBootId() {
        try {
            Path proc = Path.of("/proc/sys/kernel/random/boot_id");
            return Files.isReadable(proc) ? Optional.of(Files.readString(proc).trim()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
