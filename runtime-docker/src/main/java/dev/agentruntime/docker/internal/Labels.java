package dev.agentruntime.docker.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * The labels on every container, image and volume the Docker backend creates; the reaper and
 * {@code DockerSandboxes} select by them, never by name alone.
 */
public final class Labels {

    public static final String PREFIX = "dev.agentruntime.";
    public static final String MANAGED_BY = PREFIX + "managed-by";
    public static final String MANAGED_BY_VALUE = "agent-runtime";
    public static final String ROLE = PREFIX + "role";
    public static final String SESSION_ID = PREFIX + "session-id";
    public static final String OWNER_HOST = PREFIX + "owner-host";
    public static final String OWNER_PID = PREFIX + "owner-pid";
    /** The owner process's start time in epoch milliseconds: tells a reused pid from the original owner. */
    public static final String OWNER_STARTED = PREFIX + "owner-started";
    /** The owner host's boot id: after a reboot no pid from before is alive. */
    public static final String OWNER_BOOT_ID = PREFIX + "owner-boot-id";
    public static final String CREATED_AT = PREFIX + "created-at";
    public static final String VERSION = PREFIX + "version";
    public static final String KEEP_ALIVE = PREFIX + "keep-alive";
    public static final String BASE_IMAGE = PREFIX + "base-image";
    public static final String BASE_IMAGE_ID = PREFIX + "base-image-id";
    public static final String SERVER_SHA256 = PREFIX + "server-sha256";
    public static final String JAVA = PREFIX + "java";
    public static final String JRE_BUNDLED = PREFIX + "jre-bundled";
    public static final String PYTHON3 = PREFIX + "python3";

    public static final String ROLE_SANDBOX = "sandbox";
    public static final String ROLE_IMAGE = "image";
    public static final String ROLE_PROBE = "probe";
    public static final String ROLE_VOLUME = "volume";

    private static final String LIBRARY_VERSION = readVersion();

    private Labels() {
    }

    /** The library version, from the build. */
    public static String libraryVersion() {
        return LIBRARY_VERSION;
    }

    /** managed-by, role, version, created-at and the owner's identity. */
    public static Map<String, String> owned(String role) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(MANAGED_BY, MANAGED_BY_VALUE);
        labels.put(ROLE, role);
        labels.put(VERSION, LIBRARY_VERSION);
        labels.put(CREATED_AT, Instant.now().toString());
        Owner self = Owner.current();
        labels.put(OWNER_HOST, self.host());
        labels.put(OWNER_PID, Long.toString(self.pid()));
        labels.put(OWNER_STARTED, Long.toString(self.startedMillis()));
        self.bootId().ifPresent(id -> labels.put(OWNER_BOOT_ID, id));
        return labels;
    }

    /** The label filter {@code managed-by=agent-runtime}. */
    public static Map<String, String> managedFilter() {
        return Map.of(MANAGED_BY, MANAGED_BY_VALUE);
    }

    private static String readVersion() {
        try (InputStream in = Labels.class.getResourceAsStream("/dev/agentruntime/docker/version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    /**
     * A process that owns sandboxes: host name, pid, start time and (on Linux) boot id.
     *
     * @param startedMillis the process start time, 0 when the OS does not tell
     */
    public record Owner(String host, long pid, long startedMillis, Optional<String> bootId) {

        public static Owner current() {
            ProcessHandle self = ProcessHandle.current();
            return new Owner(hostName(), self.pid(), startedMillis(self), readBootId());
        }

        /** Reads the owner recorded in labels; empty when a label is missing or malformed. */
        public static Optional<Owner> fromLabels(Map<String, String> labels) {
            try {
                String host = labels.get(OWNER_HOST);
                String pid = labels.get(OWNER_PID);
                if (host == null || pid == null) {
                    return Optional.empty();
                }
                String started = labels.getOrDefault(OWNER_STARTED, "0");
                return Optional.of(new Owner(host, Long.parseLong(pid), Long.parseLong(started),
                        Optional.ofNullable(labels.get(OWNER_BOOT_ID))));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }

        /**
         * Whether this owner, recorded on this host, is certainly gone: another boot, no such pid, or a pid reused by a
         * process that started at another time. Owners on other hosts are never judged gone.
         */
        public boolean isGoneOn(Owner here) {
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
}
