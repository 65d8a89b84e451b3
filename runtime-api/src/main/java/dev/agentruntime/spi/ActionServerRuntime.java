package dev.agentruntime.spi;

import dev.agentruntime.Action;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.Capability;
import dev.agentruntime.Observation;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.StatusEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Base class for backends whose sandbox runs the action server: a subclass starts the sandbox and says where its
 * server listens; this class waits for readiness, sends actions one at a time, transfers files, reports status and
 * makes {@link #close()} idempotent.
 *
 * <p>Subclasses implement {@link #startSandbox(Instant)} and {@link #stopSandbox()}, and may override
 * {@link #awaitReady(ActionServerClient, Instant)} when they have a better readiness signal than polling
 * {@code /alive}, and {@link #describeFailure()} to add log lines to startup errors.
 */
public abstract class ActionServerRuntime implements Runtime {

    private static final Logger log = LoggerFactory.getLogger(ActionServerRuntime.class);

    protected final RuntimeConfig config;
    private final ReentrantLock actionLock = new ReentrantLock(true);
    private final Object lifecycle = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile RuntimeStatus status = RuntimeStatus.STOPPED;
    private volatile ActionServerClient client;
    /** True from the moment startSandbox is called until stopSandbox ran for it; guarded by {@link #lifecycle}. */
    private boolean sandboxStarted;

    protected ActionServerRuntime(RuntimeConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /** Where a started sandbox's action server listens, and the key it demands. */
    public record ServerEndpoint(URI baseUrl, String sessionApiKey) {
    }

    /** Starts (or attaches to) the sandbox; returns once its server process runs, not necessarily ready. */
    protected abstract ServerEndpoint startSandbox(Instant deadline);

    /**
     * Stops or removes what {@link #startSandbox(Instant)} created: after a failed start (even when startSandbox threw)
     * or on {@link #close()}, once per start and never for a runtime that was not started. It should not throw.
     */
    protected abstract void stopSandbox();

    /** Waits until the server answers; the default polls {@code /alive}. */
    protected void awaitReady(ActionServerClient client, Instant deadline) {
        client.awaitAlive(deadline, this::sandboxRunning, this::describeFailure);
    }

    /** Whether the sandbox process/container still runs; used to fail fast while waiting for readiness. */
    protected boolean sandboxRunning() {
        return true;
    }

    /** Extra context for startup errors, e.g. the last log lines; empty by default. */
    protected String describeFailure() {
        return "";
    }

    @Override
    public String id() {
        return config.sessionId();
    }

    @Override
    public RuntimeStatus status() {
        return status;
    }

    @Override
    public void connect() {
        synchronized (lifecycle) {
            if (closed.get()) {
                throw new IllegalStateException("Runtime " + id() + " is closed");
            }
            if (client != null) {
                return;
            }
            Instant deadline = Instant.now().plus(config.startupTimeout());
            setStatus(RuntimeStatus.STARTING_RUNTIME, "Starting sandbox " + id());
            try {
                sandboxStarted = true; // a start that throws half-way may still have created something
                ServerEndpoint endpoint = startSandbox(deadline);
                setStatus(RuntimeStatus.RUNTIME_STARTED, "Waiting for the action server at " + endpoint.baseUrl());
                ActionServerClient candidate = new ActionServerClient(endpoint.baseUrl(), endpoint.sessionApiKey(), id());
                awaitReady(candidate, deadline);
                client = candidate;
                setStatus(RuntimeStatus.READY, "Sandbox " + id() + " is ready at " + endpoint.baseUrl());
            } catch (RuntimeException e) {
                setStatus(RuntimeStatus.ERROR, e.getMessage());
                stopQuietly();
                if (e instanceof AgentRuntimeException) {
                    throw e;
                }
                throw new RuntimeStartupException("Sandbox " + id() + " failed to start: " + e + ". "
                        + describeFailure(), e);
            }
        }
    }

    /** The connected client; for subclasses and tests. */
    protected ActionServerClient client() {
        ActionServerClient current = client;
        if (current == null) {
            throw new IllegalStateException("Runtime " + id() + " is not connected: call connect() first"
                    + (closed.get() ? " (it is closed)" : ""));
        }
        return current;
    }

    @Override
    public Observation execute(Action action) {
        Objects.requireNonNull(action, "action");
        ActionServerClient current = client();
        actionLock.lock();
        try {
            log.debug("sandbox {}: {} {}", id(), action.type(), action.message());
            return current.execute(action, config.actionTimeout());
        } catch (RuntimeDisconnectedException | RuntimeUnavailableException e) {
            if (!closed.get()) {
                setStatus(RuntimeStatus.ERROR_RUNTIME_DISCONNECTED, e.getMessage());
            }
            throw e;
        } finally {
            actionLock.unlock();
        }
    }

    @Override
    public void copyTo(Path hostSrc, String sandboxDest, boolean recursive) {
        Objects.requireNonNull(hostSrc, "hostSrc");
        Objects.requireNonNull(sandboxDest, "sandboxDest");
        if (!Files.exists(hostSrc)) {
            throw new UncheckedIOException(new NoSuchFileException(hostSrc.toString(), null,
                    "Source file " + hostSrc + " does not exist; nothing was sent to sandbox " + id()));
        }
        if (!sandboxDest.startsWith("/")) {
            throw new IllegalArgumentException("sandboxDest must be an absolute sandbox path, was '" + sandboxDest + "'");
        }
        if (!recursive && Files.isDirectory(hostSrc)) {
            throw new IllegalArgumentException(hostSrc + " is a directory: pass recursive=true to copy it into sandbox "
                    + id());
        }
        client().upload(hostSrc, sandboxDest, recursive);
    }

    @Override
    public Path copyFrom(String sandboxPath) {
        Objects.requireNonNull(sandboxPath, "sandboxPath");
        try {
            Path target = Files.createTempFile("agent-runtime-" + id() + "-", ".zip");
            try {
                client().download(sandboxPath, target);
                return target;
            } catch (RuntimeException e) {
                Files.deleteIfExists(target);
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create a local temporary file for copyFrom(" + sandboxPath + ")", e);
        }
    }

    @Override
    public List<String> listFiles(String sandboxPath) {
        return client().listFiles(sandboxPath);
    }

    /** Asks the server's {@code /alive}, which answers 200 only while its shell runs. */
    @Override
    public boolean isHealthy() {
        ActionServerClient current = client;
        return current != null && status() == RuntimeStatus.READY && current.isAlive();
    }

    @Override
    public Map<String, Integer> webHosts() {
        return Map.of();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        synchronized (lifecycle) {
            ActionServerClient current = client;
            client = null;
            if (current != null) {
                current.close();
            }
            stopQuietly();
            setStatus(RuntimeStatus.CLOSED, "Sandbox " + id() + " closed");
        }
    }

    protected boolean isClosed() {
        return closed.get();
    }

    /** Calls stopSandbox once per startSandbox: not for a runtime never started, not again after a failed start. */
    private void stopQuietly() {
        if (!sandboxStarted) {
            return;
        }
        sandboxStarted = false;
        try {
            stopSandbox();
        } catch (RuntimeException e) {
            log.warn("sandbox {}: cleanup failed: {}", id(), e.toString(), e);
        }
    }

    /** Records a status change and tells the configured listener. */
    protected void setStatus(RuntimeStatus next, String message) {
        status = next;
        log.info("sandbox {}: {} {}", id(), next, message == null ? "" : message);
        try {
            config.statusListener().onStatus(new StatusEvent(id(), next, message, Instant.now()));
        } catch (RuntimeException e) {
            log.warn("sandbox {}: status listener threw {}", id(), e.toString());
        }
    }

    /** Capabilities every action-server backend has; subclasses add theirs. */
    protected static java.util.EnumSet<Capability> serverCapabilities() {
        return java.util.EnumSet.of(Capability.SHELL, Capability.FILES, Capability.FILE_TRANSFER, Capability.IPYTHON);
    }
}
