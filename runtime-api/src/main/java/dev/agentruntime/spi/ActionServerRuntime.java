package dev.agentruntime.spi;

import dev.agentruntime.Action;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.Capability;
import dev.agentruntime.Observation;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.RuntimePausedException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.StatusEvent;
import dev.agentruntime.UnsupportedCapabilityException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Base class for backends whose sandbox runs our action server. A subclass says how to create, reach, freeze and
 * remove its sandbox; this class does the rest: one startup deadline, waiting for readiness, status events, actions
 * one at a time, file transfers, the keep-alive heartbeat, the pause/resume template, port leases, and an idempotent
 * {@link #close()}.
 *
 * <h2>Hooks</h2>
 * <ul>
 *   <li>{@link #startSandbox(Instant)} (required): create or attach to the sandbox, start the server (use
 *       {@link ServerLaunch}), return its {@link ServerEndpoint} once the server process runs;</li>
 *   <li>{@link #stopSandbox()} (required): remove what the start created (or leave it, for keep-alive);</li>
 *   <li>{@link #awaitReady(ActionServerClient, Instant)}: the default polls {@code /alive}; a backend that reads
 *       the server's output feeds a {@link StartupLog} and waits for its ready line with {@link #awaitReadyLine};</li>
 *   <li>{@link #onReady(ActionServerClient)}: after every (re)start, e.g. to stop following a log stream;</li>
 *   <li>{@link #heartbeatInterval()} and {@link #heartbeat(ActionServerClient)}: keep an open sandbox from being
 *       reaped by its own safety net (the server's idle timeout, a vendor's sandbox timeout);</li>
 *   <li>{@link #pauseSandbox()} and {@link #resumeSandbox(Instant)}: freeze and thaw, for backends that declare
 *       {@link Capability#PAUSE_RESUME}; the base checks the state, waits for the running action, reports the status
 *       and waits for readiness again;</li>
 *   <li>{@link #sandboxRunning()} and {@link #failureContext()}: fail fast while waiting, and explain failures
 *       (errors carry the context and the startup log's last lines).</li>
 * </ul>
 *
 * <h2>Locks</h2>
 * {@code lifecycle} (a monitor) guards connect, pause, resume and close and the fields they change; {@code actionLock}
 * (fair) orders actions. When both are needed (pause waits for the running action), {@code lifecycle} is taken first;
 * {@link #execute(Action)} takes only {@code actionLock}. The heartbeat takes neither: it reads the current client
 * and skips while the runtime is paused or closed. Subclass hooks are called with {@code lifecycle} held, so a
 * subclass may guard its own state with it too, but must not wait for an action from a hook.
 */
public abstract class ActionServerRuntime implements Runtime {

    private static final Logger log = LoggerFactory.getLogger(ActionServerRuntime.class);

    protected final RuntimeConfig config;
    private final ReentrantLock actionLock = new ReentrantLock(true);
    private final Object lifecycle = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile RuntimeStatus status = RuntimeStatus.STOPPED;
    private volatile ActionServerClient client;
    private volatile StartupLog startupLog;
    /** True from the moment startSandbox is called until stopSandbox ran for it; guarded by {@link #lifecycle}. */
    private boolean sandboxStarted;
    /** Guarded by {@link #lifecycle}. */
    private final List<PortLease> leases = new ArrayList<>();
    /** Guarded by {@link #lifecycle}. */
    private ScheduledExecutorService heartbeat;
    private final Object asyncLock = new Object();
    /** Runs {@link #executeAsync} actions in call order; guarded by {@code asyncLock}, made on first use. */
    private java.util.concurrent.ExecutorService async;

    protected ActionServerRuntime(RuntimeConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    // ---------------------------------------------------------------------------------------------- hooks ---

    /** Starts (or attaches to) the sandbox; returns once its server process runs, not necessarily ready. */
    protected abstract ServerEndpoint startSandbox(Instant deadline);

    /**
     * Stops or removes what {@link #startSandbox(Instant)} created: after a failed start (even when startSandbox threw)
     * or on {@link #close()}, once per start and never for a runtime that was not started. It should not throw.
     * {@link #isClosed()} tells a close (honour keep-alive) from a failed start (remove what this start created).
     */
    protected abstract void stopSandbox();

    /** Waits until the server answers; the default polls {@code /alive}. */
    protected void awaitReady(ActionServerClient client, Instant deadline) {
        client.awaitAlive(deadline, this::sandboxRunning, this::describeFailure);
    }

    /** Called with the ready client after every start and resume; nothing by default. */
    protected void onReady(ActionServerClient client) {
    }

    /**
     * The client for a (re)started sandbox's server; the default is a plain {@link ActionServerClient}. Override to
     * map the HTTP answers of whatever fronts the server ({@link ActionServerClient#withFailureMapper}).
     */
    protected ActionServerClient newClient(ServerEndpoint endpoint) {
        return new ActionServerClient(endpoint, id());
    }

    /** Whether the sandbox process/container still runs; used to fail fast while waiting for readiness. */
    protected boolean sandboxRunning() {
        return true;
    }

    /**
     * What the backend knows about a failed sandbox beyond its output — an exit code, the container's state, the
     * pod's events — as a sentence or two for error messages; empty by default.
     */
    protected String failureContext() {
        return "";
    }

    /**
     * The diagnostics startup errors carry: {@link #failureContext()}, then the last lines of the
     * {@link #useStartupLog startup log}, when there is one.
     */
    protected final String describeFailure() {
        String context = failureContext();
        StartupLog current = startupLog;
        String lines = current == null ? "" : current.describe();
        return context.isBlank() ? lines : lines.isEmpty() ? context.strip() : context.strip() + " " + lines;
    }

    /**
     * How often an open, ready runtime calls {@link #heartbeat(ActionServerClient)}; {@link Duration#ZERO} (the
     * default) for never. Backends with a server idle timeout or a vendor sandbox timeout beat at a third of it.
     */
    protected Duration heartbeatInterval() {
        return Duration.ZERO;
    }

    /**
     * Keeps the sandbox alive while this runtime is open and idle: the default asks {@code /alive}, which resets the
     * server's idle timer. Vendor backends also refresh their sandbox's timeout (and call this). Failures are logged
     * at DEBUG and otherwise ignored: the next action reports a dead sandbox properly.
     */
    protected void heartbeat(ActionServerClient client) {
        if (!client.isAlive()) {
            log.debug("sandbox {}: heartbeat got no answer", id());
        }
    }

    /** Freezes the sandbox; only for backends that declare {@link Capability#PAUSE_RESUME}. */
    protected void pauseSandbox() {
        throw new UnsupportedCapabilityException("Runtime " + id() + " cannot pause");
    }

    /**
     * Thaws (or restarts) the sandbox; the base then waits for readiness with {@link #awaitReady}.
     *
     * @return the new endpoint when the server is now reached elsewhere (new ports, a new URL), else empty
     */
    protected Optional<ServerEndpoint> resumeSandbox(Instant deadline) {
        throw new UnsupportedCapabilityException("Runtime " + id() + " cannot resume");
    }

    // -------------------------------------------------------------------------------------- kit services ---

    /**
     * Makes {@code log} the startup log of the current start: {@link #describeFailure()} reports its last lines, and
     * {@link #awaitReadyLine(Instant)} waits for its ready line.
     */
    protected final StartupLog useStartupLog(StartupLog log) {
        this.startupLog = log;
        return log;
    }

    /** The current start's log, when the backend gave one. */
    protected final Optional<StartupLog> startupLog() {
        return Optional.ofNullable(startupLog);
    }

    /**
     * Waits for the ready line of the {@link #useStartupLog startup log}; the errors carry {@link #describeFailure()}.
     *
     * @return the port the server reported
     */
    protected final int awaitReadyLine(Instant deadline) {
        StartupLog current = startupLog;
        if (current == null) {
            throw new IllegalStateException("awaitReadyLine without a startup log: call useStartupLog first");
        }
        return current.awaitReady(deadline, "Sandbox " + id(), this::failureContext);
    }

    /**
     * Reserves host ports (cross-process, see {@link PortAllocator}) for this start; they are released after
     * {@link #stopSandbox()}.
     */
    protected final List<PortLease> leasePorts(PortRange... ranges) {
        synchronized (lifecycle) {
            List<PortLease> fresh = PortAllocator.defaults().allocate(ranges);
            leases.addAll(fresh);
            return fresh;
        }
    }

    /** Releases the ports {@link #leasePorts} reserved, e.g. before retrying a start with other ports. */
    protected final void releasePorts() {
        synchronized (lifecycle) {
            leases.forEach(PortLease::close);
            leases.clear();
        }
    }

    // ------------------------------------------------------------------------------------------- runtime ---

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
                ActionServerClient candidate = newClient(endpoint);
                awaitReady(candidate, deadline);
                client = candidate;
                becameReady(candidate, "Sandbox " + id() + " is ready at " + endpoint.baseUrl());
            } catch (RuntimeException e) {
                client = null;
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

    private void becameReady(ActionServerClient ready, String message) {
        setStatus(RuntimeStatus.READY, message);
        onReady(ready);
        startHeartbeat();
    }

    /**
     * Where the connected sandbox's action server answers — base URL, session key, extra headers — for code that
     * talks to it directly, e.g. a gateway proxying to it; empty before {@link #connect()} and after {@link #close()}.
     */
    public final Optional<ServerEndpoint> serverEndpoint() {
        ActionServerClient current = client;
        return current == null ? Optional.empty() : Optional.of(current.endpoint());
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
        return execute(action, null);
    }

    /** Streams over the HTTP client: our server sends output chunks as they arrive (see docs/PROTOCOL.md). */
    @Override
    public Observation execute(Action action, dev.agentruntime.OutputListener listener) {
        Objects.requireNonNull(action, "action");
        client();
        actionLock.lock();
        try {
            ActionServerClient current = client(); // resume may have moved the server while we waited
            requireNotPaused(action.type());
            log.debug("sandbox {}: {} {}", id(), action.type(), action.message());
            return current.execute(action, config.actionTimeout(), listener);
        } catch (RuntimeDisconnectedException | RuntimeUnavailableException e) {
            if (!closed.get()) {
                setStatus(RuntimeStatus.ERROR_RUNTIME_DISCONNECTED, e.getMessage());
            }
            throw e;
        } finally {
            actionLock.unlock();
        }
    }

    /** One thread per runtime, started on demand and ended when idle: asynchronous actions run in call order. */
    @Override
    public java.util.concurrent.CompletableFuture<Observation> executeAsync(Action action,
            dev.agentruntime.OutputListener listener) {
        Objects.requireNonNull(action, "action");
        java.util.concurrent.CompletableFuture<Observation> result = new java.util.concurrent.CompletableFuture<>();
        try {
            asyncActions().execute(() -> {
                try {
                    result.complete(execute(action, listener));
                } catch (Throwable e) {
                    result.completeExceptionally(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            result.completeExceptionally(new IllegalStateException("Runtime " + id() + " is closed"));
        }
        return result;
    }

    private java.util.concurrent.ExecutorService asyncActions() {
        synchronized (asyncLock) {
            if (closed.get()) {
                throw new java.util.concurrent.RejectedExecutionException("closed");
            }
            if (async == null) {
                java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(1, 1,
                        30, java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(),
                        r -> {
                            Thread t = new Thread(r, "agent-runtime-actions-" + id());
                            t.setDaemon(true);
                            return t;
                        });
                pool.allowCoreThreadTimeOut(true);
                async = pool;
            }
            return async;
        }
    }

    private void requireNotPaused(String what) {
        if (status == RuntimeStatus.PAUSED) {
            throw new RuntimePausedException("Sandbox " + id() + " is paused: " + what + " was not sent. Call resume()"
                    + " first.");
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
        ActionServerClient current = client();
        requireNotPaused("copyTo");
        current.upload(hostSrc, sandboxDest, recursive);
    }

    @Override
    public Path copyFrom(String sandboxPath) {
        Objects.requireNonNull(sandboxPath, "sandboxPath");
        ActionServerClient current = client();
        requireNotPaused("copyFrom");
        try {
            Path target = Files.createTempFile("agent-runtime-" + id() + "-", ".zip");
            try {
                current.download(sandboxPath, target);
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
        ActionServerClient current = client();
        requireNotPaused("listFiles");
        return current.listFiles(sandboxPath);
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

    // ------------------------------------------------------------------------------------- pause / resume ---

    /**
     * Freezes the sandbox (how depends on the backend: see its {@link #pauseSandbox()}), after the running action,
     * if any, has finished. Pausing a paused sandbox does nothing. Actions on a paused sandbox fail at once with
     * {@link RuntimePausedException}.
     */
    @Override
    public final void pause() {
        requirePauseResume("pause");
        synchronized (lifecycle) {
            requireConnected("pause");
            if (status == RuntimeStatus.PAUSED) {
                return;
            }
            actionLock.lock();
            try {
                stopHeartbeat();
                pauseSandbox();
                setStatus(RuntimeStatus.PAUSED, "Sandbox " + id() + " paused");
            } catch (RuntimeException e) {
                startHeartbeat(); // still running as before
                throw e;
            } finally {
                actionLock.unlock();
            }
        }
    }

    /** Thaws a paused sandbox and waits, within the startup timeout, until its server answers again. */
    @Override
    public final void resume() {
        requirePauseResume("resume");
        synchronized (lifecycle) {
            requireConnected("resume");
            if (status != RuntimeStatus.PAUSED) {
                return;
            }
            Instant deadline = Instant.now().plus(config.startupTimeout());
            setStatus(RuntimeStatus.STARTING_RUNTIME, "Resuming sandbox " + id());
            try {
                Optional<ServerEndpoint> moved = resumeSandbox(deadline);
                ActionServerClient current = moved.map(this::newClient)
                        .orElse(client);
                awaitReady(current, deadline);
                client = current;
            } catch (AgentRuntimeException e) {
                setStatus(RuntimeStatus.ERROR_RUNTIME_DISCONNECTED, e.getMessage());
                throw new RuntimeDisconnectedException("Sandbox " + id() + " did not come back after resume: "
                        + e.getMessage(), e);
            }
            becameReady(client, "Sandbox " + id() + " resumed");
        }
    }

    private void requirePauseResume(String what) {
        if (!capabilities().contains(Capability.PAUSE_RESUME)) {
            throw new UnsupportedCapabilityException("Runtime " + id() + " cannot " + what + ": capabilities are "
                    + capabilities() + " (no " + Capability.PAUSE_RESUME + ")");
        }
    }

    private void requireConnected(String what) {
        if (closed.get()) {
            throw new IllegalStateException("Runtime " + id() + " is closed: cannot " + what);
        }
        if (client == null) {
            throw new IllegalStateException("Runtime " + id() + " is not connected: call connect() before " + what);
        }
    }

    // ----------------------------------------------------------------------------------------- heartbeat ---

    private void startHeartbeat() {
        Duration interval = heartbeatInterval();
        if (interval.isZero() || interval.isNegative() || heartbeat != null || closed.get()) {
            return;
        }
        ScheduledExecutorService beat = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "agent-runtime-heartbeat-" + id());
            thread.setDaemon(true);
            return thread;
        });
        long millis = Math.max(100, interval.toMillis());
        beat.scheduleWithFixedDelay(this::beat, millis, millis, TimeUnit.MILLISECONDS);
        heartbeat = beat;
    }

    private void beat() {
        ActionServerClient current = client;
        if (current == null || status != RuntimeStatus.READY || closed.get()) {
            return;
        }
        try {
            heartbeat(current);
        } catch (RuntimeException e) {
            log.debug("sandbox {}: heartbeat failed: {}", id(), e.toString());
        }
    }

    private void stopHeartbeat() {
        ScheduledExecutorService current = heartbeat;
        heartbeat = null;
        if (current != null) {
            current.shutdownNow();
        }
    }

    // ------------------------------------------------------------------------------------------- closing ---

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        synchronized (asyncLock) {
            if (async != null) {
                async.shutdown(); // queued actions still run and fail as closed: their futures complete
            }
        }
        synchronized (lifecycle) {
            stopHeartbeat();
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
        stopHeartbeat();
        if (!sandboxStarted) {
            return;
        }
        sandboxStarted = false;
        try {
            stopSandbox();
        } catch (RuntimeException e) {
            log.warn("sandbox {}: cleanup failed: {}", id(), e.toString(), e);
        } finally {
            releasePorts();
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
    protected static EnumSet<Capability> serverCapabilities() {
        return EnumSet.of(Capability.SHELL, Capability.FILES, Capability.FILE_TRANSFER, Capability.IPYTHON);
    }
}
