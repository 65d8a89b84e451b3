package dev.agentruntime.spi;

import dev.agentruntime.PortAllocationException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands out TCP ports that are unique across all processes on this host that use the same lock directory.
 *
 * <h2>How a port is reserved</h2>
 * Candidates are visited in a random order (random start, random stride coprime to the range size, so no port is
 * tried twice) for at most {@code min(maxAttempts, range.size())} attempts. For each candidate {@code N}:
 * <ol>
 *   <li>Create the in-JVM marker {@code port-N.jvm-<pid>-<start>} with {@code O_CREAT|O_EXCL}; if it exists, another
 *       allocator in this JVM holds (or is trying) the port → skip. See "Why an in-JVM marker" below.</li>
 *   <li>Create {@code port-N.lock} if missing, remember its file key (device+inode), open it and call
 *       {@link FileChannel#tryLock()}. {@code null} → another process holds it → skip.
 *       {@link OverlappingFileLockException} → some channel in this JVM holds it → skip.</li>
 *   <li>Check that {@code port-N.lock} still names the file we locked (same file key); otherwise skip.</li>
 *   <li>Probe-bind a {@link ServerSocket} on {@code bindAddress:N}; if that fails some unrelated program uses the
 *       port → skip. The probe socket is closed before returning.</li>
 *   <li>Return a {@link PortLease} that keeps the channel (and so the OS lock) open until it is closed.</li>
 * </ol>
 * The OS releases the lock when the holding process dies, so crashed processes never leak ports.
 *
 * <h2>Why lock files are never deleted (the unlink race)</h2>
 * If a releasing process unlinked {@code port-N.lock}, a second process that had already opened the old file could
 * lock the now-anonymous inode while a third process creates and locks a fresh file under the same name: two owners.
 * We avoid that by never deleting lock files: they are empty and there is at most one per port (65535 worst case,
 * normally a few thousand), so the cost is negligible, and the lock — not the file's existence — is the only
 * ownership signal. As defence in depth against <em>external</em> deletion (a tmp cleaner, a user's {@code rm -rf}),
 * step 3 re-reads the path's file key after locking and gives up the candidate if the path no longer names the
 * inode that was there before we opened it. (An unlinked inode cannot reappear under the name, and an inode number
 * cannot be reused while we hold the file open, so equal keys before/after mean we locked the file the name refers
 * to; on file systems without file keys, e.g. Windows, the check degrades to a no-op.) A deletion <em>while</em> a
 * lease is held cannot be detected by anybody; do not clean the lock directory while allocations are live. Even
 * then the bind probe still protects ports that the earlier owner has already bound.
 *
 * <h2>Why an in-JVM marker (and no static state)</h2>
 * Java's file locks are POSIX {@code fcntl} record locks on Linux/macOS. Those belong to the <em>process</em>, and
 * the kernel drops all of a process's locks on a file as soon as the process closes <em>any</em> descriptor of that
 * file (see the {@link FileLock} javadoc: "closing a channel releases all locks held by the Java virtual machine on
 * the underlying file"). The JDK detects a second lock attempt from the same JVM and throws
 * {@link OverlappingFileLockException}, but the second allocator must then close its channel — which silently frees
 * the first allocator's OS lock, so another process can take the port while the first lease is still "held" (this
 * was reproduced on JDK 17/Linux and is covered by a test). Therefore each JVM must never have more than one open
 * channel per lock file. Instead of a static registry (which would break with several class loaders and which this
 * library avoids) the coordination lives in the file system: before opening {@code port-N.lock} an allocator
 * atomically creates {@code port-N.jvm-<pid>-<process start millis>}; only the creator opens the lock file and it
 * deletes the marker after closing the channel. Markers of dead processes are harmless (their names include the
 * process identity) and can be deleted at any time when no process using the directory is alive; they are not
 * cleaned up automatically.
 *
 * <p>Instances are immutable and thread-safe; any number of allocators, in any number of JVMs, may share a lock
 * directory.
 */
public final class PortAllocator {

    private static final Logger LOG = LoggerFactory.getLogger(PortAllocator.class);

    /** Name of the default lock directory, created under {@code java.io.tmpdir}. */
    public static final String DEFAULT_LOCK_DIRECTORY_NAME = "agent-runtime-port-locks";
    /** Default number of candidates tried per {@link #allocate(PortRange)} call. */
    public static final int DEFAULT_MAX_ATTEMPTS = 64;

    /*
     * SO_REUSEADDR on the bind probe — deliberately ON except on Windows.
     *
     * The probe must answer "could the real server bind this port right now?". On Linux, the BSDs and macOS,
     * SO_REUSEADDR only relaxes the check for sockets in TIME_WAIT (connections left over from a previous server
     * on the port); bind still fails with EADDRINUSE while any socket is LISTENING on an overlapping address
     * (the wildcard overlaps everything) or is bound without SO_REUSEADDR, and SO_REUSEPORT listeners are not
     * joinable because the probe does not set SO_REUSEPORT. So the probe still rejects every port that is really in
     * use. Without SO_REUSEADDR it would additionally reject ports for ~60 s after each sandbox teardown — exactly
     * the ports this allocator recycles — although the servers that will use them can bind fine: the JDK's
     * ServerSocket and ServerSocketChannel enable SO_REUSEADDR by default on these platforms, and so do virtually
     * all server frameworks. (A consumer that explicitly disables it could still hit EADDRINUSE on a TIME_WAIT
     * port; that is the accepted residual risk.) It also matters for the probe itself: it never accepts a
     * connection, but if a client races in before close(), the probe's own connection would go to TIME_WAIT.
     *
     * On Windows SO_REUSEADDR has different semantics: it lets a socket bind a port that another socket is actively
     * using, which would make the probe report busy ports as free. There we keep the JDK default (off).
     */
    private static final boolean PROBE_REUSE_ADDRESS =
            !System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");

    private final Path lockDirectory;
    private final InetAddress bindAddress;
    private final int maxAttempts;
    /** Identifies this JVM in marker file names: pid plus process start time, so pid reuse cannot collide. */
    private final String jvmId;

    private PortAllocator(Builder builder) {
        this.lockDirectory = builder.lockDirectory;
        this.bindAddress = builder.bindAddress;
        this.maxAttempts = builder.maxAttempts;
        this.jvmId = currentJvmId();
    }

    /** A builder preset with the {@linkplain #defaults() default} settings. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * An allocator with lock directory {@code <java.io.tmpdir>/agent-runtime-port-locks}, bind address
     * {@code 0.0.0.0} (wildcard) and {@value #DEFAULT_MAX_ATTEMPTS} attempts.
     */
    public static PortAllocator defaults() {
        return builder().build();
    }

    public Path lockDirectory() {
        return lockDirectory;
    }

    public InetAddress bindAddress() {
        return bindAddress;
    }

    public int maxAttempts() {
        return maxAttempts;
    }

    /**
     * Reserves one port from {@code range}.
     *
     * @throws PortAllocationException if no candidate could be reserved within the attempt budget, or the lock
     *                                 directory cannot be created
     */
    public PortLease allocate(PortRange range) {
        Objects.requireNonNull(range, "range");
        ensureLockDirectory(range);

        int[] candidates = candidateOrder(range, maxAttempts, ThreadLocalRandom.current());
        Tally tally = new Tally();
        for (int port : candidates) {
            PortLease lease = tryReserve(port, tally);
            if (lease != null) {
                LOG.debug("Allocated port {} from {} after {} attempt(s) (lock directory {})",
                        port, range, tally.attempts(), lockDirectory);
                return lease;
            }
        }
        String message = "No free port in " + range + " after " + candidates.length + " attempt(s)"
                + (candidates.length < range.size()
                        ? " (maxAttempts=" + maxAttempts + " covers only part of the " + range.size() + " ports)"
                        : " (every port in the range was tried)")
                + ": " + tally.describe()
                + ". Lock directory: " + lockDirectory
                + " (a port is reserved while its port-<N>.lock file is locked by a live process)";
        LOG.debug(message);
        throw tally.firstError == null
                ? new PortAllocationException(message)
                : new PortAllocationException(message, tally.firstError);
    }

    /**
     * Reserves one port from each of {@code ranges}, in order. All or nothing: if any range fails, the ports already
     * reserved by this call are released before the exception propagates. Ranges may overlap or repeat; the
     * returned ports are always distinct.
     *
     * @return an unmodifiable list with one lease per range, in the order of {@code ranges}
     * @throws PortAllocationException if any range cannot be satisfied
     */
    public List<PortLease> allocate(PortRange... ranges) {
        Objects.requireNonNull(ranges, "ranges");
        for (int i = 0; i < ranges.length; i++) {
            Objects.requireNonNull(ranges[i], "ranges[" + i + "]");
        }
        List<PortLease> leases = new ArrayList<>(ranges.length);
        boolean success = false;
        try {
            for (PortRange range : ranges) {
                leases.add(allocate(range));
            }
            success = true;
            return List.copyOf(leases);
        } finally {
            if (!success) {
                LOG.debug("Allocation of {} range(s) failed; releasing {} port(s) already taken",
                        ranges.length, leases.size());
                leases.forEach(PortLease::close);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------

    /** Tries to reserve {@code port}; returns null (and records why in {@code tally}) if it is not available. */
    private PortLease tryReserve(int port, Tally tally) {
        tally.attempt();
        Path lockFile = lockDirectory.resolve("port-" + port + ".lock");
        Path marker = lockDirectory.resolve("port-" + port + ".jvm-" + jvmId);

        // Step 1: in-JVM exclusion (see class javadoc). Only the creator of the marker may open the lock file.
        try {
            Files.createFile(marker);
        } catch (FileAlreadyExistsException e) {
            LOG.trace("Port {}: reserved by another allocator in this JVM", port);
            tally.heldInJvm++;
            return null;
        } catch (IOException | RuntimeException e) {
            LOG.debug("Port {}: cannot create marker {}: {}", port, marker, e.toString());
            tally.error(e);
            return null;
        }

        FileChannel channel = null;
        boolean reserved = false;
        try {
            // Step 2: cross-process exclusion with an OS file lock.
            try {
                Files.createFile(lockFile); // never deleted again, see class javadoc
            } catch (FileAlreadyExistsException ignored) {
                // the usual case
            }
            Object keyBefore = regularFileKey(lockFile);
            channel = FileChannel.open(lockFile, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                // Cannot happen between PortAllocators (the marker prevents it); it means other code in this JVM
                // locked our lock file. Closing our channel below will drop that holder's OS lock — nothing we
                // can do about it, but make it visible.
                LOG.warn("Port {}: lock file {} is locked by a channel in this JVM that is not a PortAllocator "
                        + "lease; do not open files in the port lock directory from other code", port, lockFile);
                tally.heldInJvm++;
                return null;
            }
            if (lock == null) {
                LOG.trace("Port {}: locked by another process", port);
                tally.lockedElsewhere++;
                return null;
            }

            // Step 3: the path must still name the file we locked (guards against external deletion).
            Object keyAfter;
            try {
                keyAfter = regularFileKey(lockFile);
            } catch (NoSuchFileException e) {
                keyAfter = null;
            }
            if (keyAfter == null ? keyBefore != null : !keyAfter.equals(keyBefore)) {
                LOG.debug("Port {}: lock file {} was replaced while locking (file key {} -> {}); skipping",
                        port, lockFile, keyBefore, keyAfter);
                tally.replaced++;
                return null;
            }

            // Step 4: is the port actually free for binding right now?
            if (!canBind(port)) {
                LOG.trace("Port {}: locked by us but bound by another program", port);
                tally.inUse++;
                return null;
            }

            reserved = true;
            return new PortLease(port, channel, lockFile, marker);
        } catch (NoSuchFileException e) {
            // lock file deleted between createFile and stat/open: treat like a concurrent replacement
            LOG.debug("Port {}: lock file {} vanished while locking; skipping", port, lockFile);
            tally.replaced++;
            return null;
        } catch (IOException | RuntimeException e) {
            LOG.debug("Port {}: I/O error on lock file {}: {}", port, lockFile, e.toString());
            tally.error(e);
            return null;
        } finally {
            if (!reserved) {
                closeQuietly(channel, lockFile); // releases our lock, if any; we are this JVM's only opener
                deleteQuietly(marker);
            }
        }
    }

    private boolean canBind(int port) {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(PROBE_REUSE_ADDRESS); // see PROBE_REUSE_ADDRESS for why
            probe.bind(new InetSocketAddress(bindAddress, port), 1);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void ensureLockDirectory(PortRange range) {
        try {
            // Default permissions (the process umask): deliberately not world-writable/sticky like /tmp.
            Files.createDirectories(lockDirectory);
        } catch (IOException e) {
            throw new PortAllocationException("Cannot allocate a port from " + range
                    + ": cannot create lock directory " + lockDirectory + " (" + e + ")", e);
        }
    }

    private static Object regularFileKey(Path file) throws IOException {
        BasicFileAttributes attributes =
                Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!attributes.isRegularFile()) {
            throw new IOException(file + " is not a regular file");
        }
        return attributes.fileKey();
    }

    private static void closeQuietly(FileChannel channel, Path lockFile) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException | RuntimeException e) {
            LOG.debug("Failed to close {}: {}", lockFile, e.toString());
        }
    }

    private static void deleteQuietly(Path marker) {
        try {
            Files.deleteIfExists(marker);
        } catch (IOException | RuntimeException e) {
            LOG.warn("Failed to delete in-JVM marker {}; this JVM will skip that port", marker, e);
        }
    }

    private static String currentJvmId() {
        ProcessHandle self = ProcessHandle.current();
        return self.info().startInstant()
                .map(start -> self.pid() + "-" + start.toEpochMilli())
                .orElseGet(() -> Long.toString(self.pid()));
    }

    /**
     * The ports to try, in order: a random start and a random stride coprime to the range size, so the first
     * {@code min(maxAttempts, size)} entries are distinct ports of the range.
     */
    static int[] candidateOrder(PortRange range, int maxAttempts, RandomGenerator random) {
        int size = range.size();
        int count = Math.min(maxAttempts, size);
        int start = random.nextInt(size);
        int stride = 1;
        if (size > 2) {
            for (int i = 0; i < 100; i++) { // a coprime stride is found within a few draws; 1 is the fallback
                int s = 1 + random.nextInt(size - 1);
                if (gcd(s, size) == 1) {
                    stride = s;
                    break;
                }
            }
        }
        int[] ports = new int[count];
        for (int i = 0; i < count; i++) {
            ports[i] = range.first() + (int) ((start + (long) i * stride) % size);
        }
        return ports;
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    @Override
    public String toString() {
        return "PortAllocator[lockDirectory=" + lockDirectory + ", bindAddress=" + bindAddress.getHostAddress()
                + ", maxAttempts=" + maxAttempts + "]";
    }

    /** Why candidates were rejected during one {@link #allocate(PortRange)} call. */
    private static final class Tally {
        private int attempts;
        int heldInJvm;
        int lockedElsewhere;
        int inUse;
        int replaced;
        int errors;
        Exception firstError;

        void attempt() {
            attempts++;
        }

        int attempts() {
            return attempts;
        }

        void error(Exception e) {
            errors++;
            if (firstError == null) {
                firstError = e;
            }
        }

        String describe() {
            List<String> parts = new ArrayList<>();
            if (lockedElsewhere > 0) {
                parts.add(lockedElsewhere + " locked by another process");
            }
            if (heldInJvm > 0) {
                parts.add(heldInJvm + " reserved within this JVM");
            }
            if (inUse > 0) {
                parts.add(inUse + " bound by another program");
            }
            if (replaced > 0) {
                parts.add(replaced + " lock file replaced concurrently");
            }
            if (errors > 0) {
                parts.add(errors + " I/O error(s), first: " + firstError);
            }
            return parts.isEmpty() ? "nothing tried" : String.join(", ", parts);
        }
    }

    /** Builder for {@link PortAllocator}; starts with the {@linkplain #defaults() default} settings. */
    public static final class Builder {
        private Path lockDirectory =
                Path.of(System.getProperty("java.io.tmpdir"), DEFAULT_LOCK_DIRECTORY_NAME).toAbsolutePath();
        private InetAddress bindAddress = wildcard();
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;

        private Builder() {
        }

        /** Directory holding the lock files; created (with default permissions) on first use. */
        public Builder lockDirectory(Path lockDirectory) {
            this.lockDirectory = Objects.requireNonNull(lockDirectory, "lockDirectory").toAbsolutePath();
            return this;
        }

        /** Address the bind probe uses; the wildcard (default) checks the port on all interfaces. */
        public Builder bindAddress(InetAddress bindAddress) {
            this.bindAddress = Objects.requireNonNull(bindAddress, "bindAddress");
            return this;
        }

        /** Maximum number of candidate ports tried per range (at least 1). */
        public Builder maxAttempts(int maxAttempts) {
            if (maxAttempts < 1) {
                throw new IllegalArgumentException("maxAttempts must be >= 1 but was " + maxAttempts);
            }
            this.maxAttempts = maxAttempts;
            return this;
        }

        public PortAllocator build() {
            PortAllocator allocator = new PortAllocator(this);
            LOG.debug("Created {}", allocator);
            return allocator;
        }

        private static InetAddress wildcard() {
            try {
                return InetAddress.getByAddress(new byte[4]); // 0.0.0.0
            } catch (UnknownHostException e) {
                throw new AssertionError("a 4-byte address is always valid", e);
            }
        }
    }
}
