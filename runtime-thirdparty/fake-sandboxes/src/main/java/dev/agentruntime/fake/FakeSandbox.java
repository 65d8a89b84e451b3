package dev.agentruntime.fake;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.ContainerNetwork;
import dev.agentruntime.fake.SandboxState.Reason;
import dev.agentruntime.fake.SandboxState.Status;
import dev.agentruntime.fake.internal.ExecConnection;
import dev.agentruntime.fake.internal.Execs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One real sandbox: a Docker container from {@link SandboxHost#create}. Processes ({@link #exec}), files
 * ({@link #files()}), lifecycle (pause/resume keep memory and processes; stop/start lose memory and keep files;
 * kill removes), a hard timeout, and {@link #address(int)} for reaching a port inside.
 *
 * <p>Locking: {@code lock} guards {@link #state}, the deadline fields and the container's address; lifecycle calls to
 * the engine are made while holding it, so they are serialized per sandbox. Process and file operations do not take
 * it (a concurrent pause makes them fail with {@link SandboxStateException}). The process table has its own lock.
 */
public final class FakeSandbox {

    private static final Logger log = LoggerFactory.getLogger(FakeSandbox.class);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    /** Prints the pid, or why it cannot start, as the first stdout line, then becomes the process. */
    private static final String START_WRAPPER = """
            d="$1"; size="$2"; shift 2
            if [ -n "$d" ]; then cd "$d" 2>/dev/null || { echo '!cwd'; exit 126; }; fi
            if [ -n "$size" ]; then stty $size 2>/dev/null; fi
            command -v "$1" >/dev/null 2>&1 || { echo '!cmd'; exit 127; }
            echo $$
            exec "$@"
            """;

    private final SandboxHost host;
    private final String id;
    private final String containerId;
    private final SandboxSpec spec;
    private final Instant createdAt = Instant.now();
    private final Object lock = new Object();
    private final List<Consumer<SandboxState>> stateListeners = new CopyOnWriteArrayList<>();
    private final Map<Integer, SandboxProcess> processes = new LinkedHashMap<>();
    private final AtomicInteger oomKills = new AtomicInteger();

    private SandboxState state = SandboxState.of(Status.RUNNING, Reason.REQUESTED);
    private String ipAddress;
    /** While running with a timeout: when it passes. */
    private Instant deadline;
    /** While not running with a timeout: what is left of it. */
    private Duration remaining;
    private ScheduledFuture<?> timer;

    FakeSandbox(SandboxHost host, String id, String containerId, SandboxSpec spec) {
        this.host = host;
        this.id = id;
        this.containerId = containerId;
        this.spec = spec;
    }

    // ------------------------------------------------------------------------------------------------ facts ---

    public String id() {
        return id;
    }

    /** The Docker container behind the sandbox. */
    public String containerId() {
        return containerId;
    }

    public SandboxSpec spec() {
        return spec;
    }

    public Instant createdAt() {
        return createdAt;
    }

    public SandboxState state() {
        synchronized (lock) {
            return state;
        }
    }

    /** The user processes run as and files belong to by default ({@code root} unless the spec names one). */
    public String defaultUser() {
        return spec.user().orElse("root");
    }

    /** Processes the kernel killed for lack of memory so far (the sandbox itself may live on). */
    public int oomKills() {
        return oomKills.get();
    }

    /** Called on every state change, on the thread that made it (also the host's timer and event threads). */
    public void addStateListener(Consumer<SandboxState> listener) {
        stateListeners.add(listener);
    }

    /**
     * Where the host reaches {@code port} of the sandbox: the container's address on the Docker bridge (no ports are
     * published). Changes across {@link #stop()}/{@link #start()}.
     */
    public InetSocketAddress address(int port) {
        synchronized (lock) {
            requireStatus("reach a port of", Status.RUNNING, Status.PAUSED);
            return new InetSocketAddress(ipAddress, port);
        }
    }

    // ----------------------------------------------------------------------------------------------- process ---

    /**
     * Starts a process and returns once it runs (its pid is known).
     *
     * @throws SandboxFileException when its working directory or program does not exist
     * @throws SandboxStateException when the sandbox is not running
     */
    public SandboxProcess exec(ExecSpec exec) {
        requireRunning("exec in");
        Optional<String> user = exec.user().or(spec::user);
        String cwd = exec.cwd().map(FakeSandbox::shellPath).orElse("");
        String size = exec.pty().map(p -> "cols " + p.cols() + " rows " + p.rows()).orElse("");
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", START_WRAPPER, "sh", cwd, size));
        argv.addAll(exec.argv());
        Execs.Started started;
        try {
            started = host.execs().start(containerId, argv, exec.env(), user, Optional.empty(), exec.stdin(),
                    exec.pty().isPresent());
        } catch (IOException | DockerException e) {
            throw engineFailure("exec " + exec.argv() + " in", e);
        }
        SandboxProcess process = new SandboxProcess(this, exec, started.execId(), started.connection(),
                host.outputLogCapacity());
        host.startThread("exec-" + id, process::pump);
        int pid = process.awaitPid(START_TIMEOUT);
        synchronized (processes) {
            processes.put(pid, process);
            trimProcesses();
        }
        exec.timeout().ifPresent(t -> process.timeoutTask(
                host.scheduler().schedule(process::timeOut, t.toMillis(), TimeUnit.MILLISECONDS)));
        log.debug("sandbox {}: started pid {}: {}", id, pid, exec.argv());
        return process;
    }

    /** A process started through {@link #exec} by its pid, running or ended (the most recent one with that pid). */
    public Optional<SandboxProcess> process(int pid) {
        synchronized (processes) {
            return Optional.ofNullable(processes.get(pid));
        }
    }

    /** The running process with this tag. */
    public Optional<SandboxProcess> processByTag(String tag) {
        return runningProcesses().stream().filter(p -> p.tag().filter(tag::equals).isPresent()).findFirst();
    }

    /** Processes started through {@link #exec} that are still running (E2B's {@code Process.List}). */
    public List<SandboxProcess> runningProcesses() {
        synchronized (processes) {
            return processes.values().stream().filter(SandboxProcess::isRunning).toList();
        }
    }

    private void trimProcesses() {
        int ended = (int) processes.values().stream().filter(p -> !p.isRunning()).count();
        var it = processes.values().iterator();
        while (ended > host.endedProcessRetention() && it.hasNext()) {
            if (!it.next().isRunning()) {
                it.remove();
                ended--;
            }
        }
    }

    void processEnded(SandboxProcess process) {
        synchronized (processes) {
            trimProcesses();
        }
    }

    boolean signalPid(int pid, Signal signal) {
        try {
            Execs.Result result = host.execs().run(containerId, Optional.of("root"),
                    List.of("kill", "-s", signal.name(), Integer.toString(pid)), null, null, 4096);
            return result.code() == 0;
        } catch (IOException | DockerException e) {
            throw engineFailure("signal pid " + pid + " in", e);
        }
    }

    void resizeExec(String execId, int cols, int rows) {
        try {
            host.docker().resizeExecCmd(execId).withSize(rows, cols).exec();
        } catch (DockerException e) {
            throw engineFailure("resize the terminal of a process in", e);
        }
    }

    OptionalInt exitCodeOf(String execId) {
        return host.execs().exitCode(execId, Duration.ofSeconds(5));
    }

    FakeSandboxException startFailureReason(ExecSpec exec) {
        SandboxState now = state();
        if (!now.isRunning()) {
            return new SandboxStateException(id, "exec " + exec.argv() + " in", now);
        }
        return new FakeSandboxException("Cannot start " + exec.argv() + " in sandbox " + id + " as "
                + exec.user().or(spec::user).orElse("root") + ": the engine ended the exec at once (does the user "
                + "exist in the image?)");
    }

    // ------------------------------------------------------------------------------------------------- files ---

    /** Files as the sandbox's default user. */
    public SandboxFiles files() {
        return new SandboxFiles(this, spec.user());
    }

    /** Files as {@code user} (its permissions apply; what it writes belongs to it). */
    public SandboxFiles files(String user) {
        return new SandboxFiles(this, Optional.of(user));
    }

    /** Relative paths resolve against this directory; empty = the acting user's home. */
    String baseDir() {
        return spec.workingDir().orElse("");
    }

    Execs.Started startHelper(Optional<String> user, List<String> argv, boolean stdin) throws IOException {
        requireRunning("use files of");
        return host.execs().start(containerId, argv, Map.of("LC_ALL", "C"), user, Optional.empty(), stdin, false);
    }

    Execs.Result runHelper(Optional<String> user, List<String> argv, java.io.InputStream stdin,
            java.io.OutputStream stdout) throws IOException {
        requireRunning("use files of");
        return host.execs().run(containerId, user, argv, stdin, stdout, 16 * 1024 * 1024);
    }

    // -------------------------------------------------------------------------------------------- lifecycle ---

    /** Freezes every process (memory kept, the timeout stops counting). */
    public void pause() {
        SandboxState next;
        synchronized (lock) {
            requireStatus("pause", Status.RUNNING);
            try {
                host.docker().pauseContainerCmd(containerId).exec();
            } catch (DockerException e) {
                throw engineFailure("pause", e);
            }
            suspendTimer();
            next = setState(SandboxState.of(Status.PAUSED, Reason.REQUESTED));
        }
        fire(next);
    }

    /** Thaws a paused sandbox: its processes go on where they were. */
    public void resume() {
        SandboxState next;
        synchronized (lock) {
            requireStatus("resume", Status.PAUSED);
            try {
                host.docker().unpauseContainerCmd(containerId).exec();
            } catch (DockerException e) {
                throw engineFailure("resume", e);
            }
            next = setState(SandboxState.of(Status.RUNNING, Reason.REQUESTED));
            resumeTimer();
        }
        fire(next);
    }

    /** Stops the container: every process ends, memory is lost, files stay. Idempotent on a stopped sandbox. */
    public void stop() {
        SandboxState next;
        synchronized (lock) {
            if (state.status() == Status.STOPPED) {
                return;
            }
            requireStatus("stop", Status.RUNNING, Status.PAUSED);
            try {
                if (state.status() == Status.PAUSED) {
                    host.docker().unpauseContainerCmd(containerId).exec();
                }
                host.docker().stopContainerCmd(containerId).withTimeout(5).exec();
            } catch (DockerException e) {
                throw engineFailure("stop", e);
            }
            suspendTimer();
            next = setState(SandboxState.of(Status.STOPPED, Reason.REQUESTED));
        }
        fire(next);
    }

    /** Starts a stopped sandbox again (a fresh main process; files as they were). */
    public void start() {
        SandboxState next;
        synchronized (lock) {
            requireStatus("start", Status.STOPPED);
            try {
                host.docker().startContainerCmd(containerId).exec();
                ipAddress = inspectAddress();
            } catch (DockerException e) {
                throw engineFailure("start", e);
            }
            next = setState(SandboxState.of(Status.RUNNING, Reason.REQUESTED));
            resumeTimer();
        }
        fire(next);
    }

    /** Removes the sandbox and its container. Idempotent. */
    public void kill() {
        end(Reason.REQUESTED);
    }

    /**
     * Sets the hard timeout to {@code timeout} from now, replacing any earlier one (E2B {@code set-timeout}, Runloop
     * keep-alive); {@link Duration#ZERO} removes it. Counts only while the sandbox runs.
     */
    public void setTimeout(Duration timeout) {
        synchronized (lock) {
            requireStatus("set the timeout of", Status.RUNNING, Status.PAUSED, Status.STOPPED);
            cancelTimer();
            deadline = null;
            remaining = timeout.isZero() ? null : timeout;
            if (state.status() == Status.RUNNING) {
                resumeTimer();
            }
        }
    }

    /** When the timeout passes, while running with one. */
    public Optional<Instant> deadline() {
        synchronized (lock) {
            return Optional.ofNullable(deadline);
        }
    }

    /** What is left of the timeout (while running: until the deadline; otherwise: what was left when it stopped). */
    public Optional<Duration> remainingTimeout() {
        synchronized (lock) {
            if (deadline != null) {
                Duration left = Duration.between(Instant.now(), deadline);
                return Optional.of(left.isNegative() ? Duration.ZERO : left);
            }
            return Optional.ofNullable(remaining);
        }
    }

    // --------------------------------------------------------------------------------------------- internal ---

    /** After create: started, address known; make the user and arm the timeout. */
    void started(String address) {
        synchronized (lock) {
            ipAddress = address;
            remaining = spec.timeout().filter(t -> !t.isZero()).orElse(null);
            resumeTimer();
        }
    }

    void end(Reason reason) {
        SandboxState next;
        synchronized (lock) {
            if (state.status() == Status.DEAD && state.reason() != Reason.MAIN_PROCESS_EXITED
                    && state.reason() != Reason.OUT_OF_MEMORY) {
                return;
            }
            cancelTimer();
            deadline = null;
            remaining = null;
            try {
                host.docker().removeContainerCmd(containerId).withForce(true).withRemoveVolumes(true).exec();
            } catch (NotFoundException e) {
                // already gone
            } catch (DockerException e) {
                log.warn("sandbox {}: removing container {} failed: {}", id, containerId, e.getMessage());
            }
            if (state.status() == Status.DEAD) {
                return; // it had died on its own: keep that reason
            }
            next = setState(SandboxState.of(Status.DEAD, reason));
        }
        log.info("sandbox {}: removed ({})", id, reason);
        fire(next);
    }

    /** The container's main process died (an engine event). */
    void onDie() {
        SandboxState next;
        synchronized (lock) {
            if (state.status() != Status.RUNNING) {
                return; // we stopped or removed it ourselves
            }
            InspectContainerResponse inspect;
            try {
                inspect = host.docker().inspectContainerCmd(containerId).exec();
            } catch (DockerException e) {
                return;
            }
            var s = inspect.getState();
            if (s == null || Boolean.TRUE.equals(s.getRunning())) {
                return;
            }
            boolean oom = Boolean.TRUE.equals(s.getOOMKilled());
            Integer code = s.getExitCodeLong() == null ? null : s.getExitCodeLong().intValue();
            cancelTimer();
            deadline = null;
            remaining = null;
            next = setState(new SandboxState(Status.DEAD, oom ? Reason.OUT_OF_MEMORY : Reason.MAIN_PROCESS_EXITED,
                    Optional.ofNullable(code), Instant.now()));
        }
        log.info("sandbox {}: died on its own: {}", id, next);
        fire(next);
    }

    void onOom() {
        oomKills.incrementAndGet();
    }

    private void timedOut() {
        SandboxState next = null;
        synchronized (lock) {
            if (state.status() != Status.RUNNING || deadline == null) {
                return; // paused, stopped or removed meanwhile
            }
            Duration early = Duration.between(Instant.now(), deadline);
            if (!early.isNegative() && !early.isZero()) { // woke a little early (millisecond rounding): wait for the rest
                timer = host.scheduler().schedule(this::timedOut, early.toMillis() + 1, TimeUnit.MILLISECONDS);
                return;
            }
            timer = null;
            deadline = null;
            if (spec.onTimeout() == TimeoutAction.PAUSE) {
                try {
                    host.docker().pauseContainerCmd(containerId).exec();
                    next = setState(SandboxState.of(Status.PAUSED, Reason.TIMED_OUT));
                    remaining = null;
                } catch (DockerException e) {
                    log.warn("sandbox {}: pausing at timeout failed, removing it: {}", id, e.getMessage());
                }
            }
        }
        if (next != null) {
            log.info("sandbox {}: timeout passed, paused", id);
            fire(next);
        } else {
            log.info("sandbox {}: timeout passed, removing it", id);
            end(Reason.TIMED_OUT);
        }
    }

    private void suspendTimer() {
        if (deadline != null) {
            Duration left = Duration.between(Instant.now(), deadline);
            remaining = left.isNegative() ? Duration.ZERO : left;
            deadline = null;
        }
        cancelTimer();
    }

    private void resumeTimer() {
        cancelTimer();
        if (remaining != null) {
            deadline = Instant.now().plus(remaining);
            remaining = null;
            long delay = Math.max(0, Duration.between(Instant.now(), deadline).toMillis());
            timer = host.scheduler().schedule(this::timedOut, delay, TimeUnit.MILLISECONDS);
        }
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private SandboxState setState(SandboxState next) {
        state = next;
        return next;
    }

    private void fire(SandboxState next) {
        for (Consumer<SandboxState> listener : stateListeners) {
            try {
                listener.accept(next);
            } catch (RuntimeException e) {
                log.warn("sandbox {}: a state listener failed: {}", id, e.toString());
            }
        }
    }

    String inspectAddress() {
        InspectContainerResponse inspect = host.docker().inspectContainerCmd(containerId).exec();
        var settings = inspect.getNetworkSettings();
        if (settings != null && settings.getIpAddress() != null && !settings.getIpAddress().isEmpty()) {
            return settings.getIpAddress();
        }
        if (settings != null && settings.getNetworks() != null) {
            for (ContainerNetwork network : settings.getNetworks().values()) {
                if (network.getIpAddress() != null && !network.getIpAddress().isEmpty()) {
                    return network.getIpAddress();
                }
            }
        }
        throw new FakeSandboxException("Sandbox " + id + " (container " + containerId + ") has no IP address on a "
                + "Docker network; the fakes need the default bridge network");
    }

    private void requireRunning(String attempted) {
        SandboxState now = state();
        if (!now.isRunning()) {
            throw new SandboxStateException(id, attempted, now);
        }
    }

    private void requireStatus(String attempted, Status... allowed) {
        for (Status s : allowed) {
            if (state.status() == s) {
                return;
            }
        }
        throw new SandboxStateException(id, attempted, state);
    }

    /** Maps an engine failure: a paused or gone container is a state problem, anything else an engine problem. */
    FakeSandboxException engineFailure(String attempted, Exception e) {
        SandboxState now = state();
        if (e instanceof ConflictException || e instanceof NotFoundException || !now.isRunning()
                || e instanceof ExecConnection.ExecStartException start && (start.status() == 409
                        || start.status() == 404)) {
            return new SandboxStateException(id, attempted, now);
        }
        return new FakeSandboxException("Cannot " + attempted + " sandbox " + id + " (container " + containerId
                + "): " + e.getMessage() + "; is the Docker engine healthy?", e);
    }

    static String shellPath(String path) {
        return path.startsWith("/") || path.isEmpty() ? path : "./" + path;
    }

    @Override
    public String toString() {
        return "FakeSandbox[" + id + ", " + state() + "]";
    }
}
