package dev.agentruntime.spi;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A port reserved by {@link PortAllocator}. While the lease is open, no other {@code PortAllocator} using the same
 * lock directory — in this JVM or in any other process on the host — will hand out the same port.
 *
 * <p>The lease only reserves the number; it does not keep the port bound. The caller is expected to bind it (or
 * hand it to the process that will) and to {@link #close()} the lease when the port is no longer needed.
 *
 * <p>{@link #close()} is idempotent, thread-safe and never throws. When any call to {@code close()} returns, the
 * reservation has been released. A lease that is dropped without being closed loses its OS file lock when the JDK
 * garbage-collects the underlying channel, but this JVM will then keep skipping the port (see
 * {@link PortAllocator}); always close leases, preferably with try-with-resources.
 */
public final class PortLease implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PortLease.class);

    private final int port;
    private final FileChannel channel;
    private final Path lockFile;
    private final Path jvmMarker;
    private final Object closeLock = new Object();
    private boolean closed; // guarded by closeLock

    PortLease(int port, FileChannel channel, Path lockFile, Path jvmMarker) {
        this.port = port;
        this.channel = channel;
        this.lockFile = lockFile;
        this.jvmMarker = jvmMarker;
    }

    /** The reserved port. Still returns the number after {@link #close()}. */
    public int port() {
        return port;
    }

    /**
     * Releases the reservation. Safe to call any number of times from any thread; never throws.
     */
    @Override
    public void close() {
        synchronized (closeLock) {
            if (closed) {
                return;
            }
            closed = true;
            // Order matters: close the channel first (this releases the OS lock), and only then remove the
            // in-JVM marker. Removing the marker first would let another allocator in this JVM open a second
            // channel on the lock file while ours is still open; see PortAllocator for why that is unsafe.
            try {
                channel.close();
            } catch (IOException | RuntimeException e) {
                LOG.warn("Failed to close lock file {} for port {}", lockFile, port, e);
            }
            try {
                Files.deleteIfExists(jvmMarker);
            } catch (IOException | RuntimeException e) {
                // Not fatal for correctness: a leftover marker only makes this JVM skip the port.
                LOG.warn("Failed to delete in-JVM marker {} for port {}; this JVM will skip that port",
                        jvmMarker, port, e);
            }
            LOG.debug("Released port {} (lock file {})", port, lockFile);
        }
    }

    @Override
    public String toString() {
        boolean isClosed;
        synchronized (closeLock) {
            isClosed = closed;
        }
        return "PortLease[port=" + port + (isClosed ? ", released" : "") + "]";
    }
}
