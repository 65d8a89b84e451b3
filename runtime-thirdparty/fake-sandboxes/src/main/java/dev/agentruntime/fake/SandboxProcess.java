package dev.agentruntime.fake;

import dev.agentruntime.fake.internal.ExecConnection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A process started in a sandbox with {@link FakeSandbox#exec}: its pid inside the sandbox, its output (pushed to
 * listeners as it arrives and kept in bounded {@link OutputLog}s for replay from an offset), its stdin, signals and
 * its exit. It stays findable by pid after it ended (a client may reconnect to read the rest of its output).
 */
public final class SandboxProcess {

    private static final Logger log = LoggerFactory.getLogger(SandboxProcess.class);

    private final FakeSandbox sandbox;
    private final ExecSpec spec;
    private final String execId;
    private final ExecConnection connection;
    private final OutputLog stdout;
    private final OutputLog stderr;
    private final List<ProcessListener> listeners = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Integer> pid = new CompletableFuture<>();
    private final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
    private final Instant startedAt = Instant.now();
    private volatile boolean stdinClosed;
    private volatile boolean timedOut;
    private volatile ScheduledFuture<?> timeoutTask;

    SandboxProcess(FakeSandbox sandbox, ExecSpec spec, String execId, ExecConnection connection, int logCapacity) {
        this.sandbox = sandbox;
        this.spec = spec;
        this.execId = execId;
        this.connection = connection;
        this.stdout = new OutputLog(logCapacity);
        this.stderr = new OutputLog(logCapacity);
        if (spec.listener() != null) {
            listeners.add(spec.listener());
        }
        this.stdinClosed = !spec.stdin();
    }

    // ------------------------------------------------------------------------------------------------ facts ---

    /** The process id inside the sandbox. */
    public int pid() {
        return pid.getNow(-1);
    }

    public ExecSpec spec() {
        return spec;
    }

    public Optional<String> tag() {
        return spec.tag();
    }

    public List<String> argv() {
        return spec.argv();
    }

    public Map<String, String> env() {
        return spec.env();
    }

    public FakeSandbox sandbox() {
        return sandbox;
    }

    public Instant startedAt() {
        return startedAt;
    }

    public boolean hasPty() {
        return spec.pty().isPresent();
    }

    public boolean isRunning() {
        return !exit.isDone();
    }

    /** The log of one stream (with a PTY everything is in {@link StdStream#STDOUT}). */
    public OutputLog output(StdStream stream) {
        return stream == StdStream.STDOUT ? stdout : stderr;
    }

    public OutputLog stdout() {
        return stdout;
    }

    public OutputLog stderr() {
        return stderr;
    }

    /** Completes when the process has ended and all its output has been delivered. The copy is the caller's. */
    public CompletableFuture<ExitStatus> onExit() {
        return exit.copy();
    }

    public Optional<ExitStatus> exitStatus() {
        return Optional.ofNullable(exit.getNow(null));
    }

    /** Waits for the end of the process. */
    public ExitStatus waitFor(Duration timeout) throws TimeoutException, InterruptedException {
        try {
            return exit.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    // ----------------------------------------------------------------------------------------------- control ---

    /**
     * Adds a listener for output from now on. To replay earlier output first, read the {@link OutputLog}s from an
     * offset; a listener added after the end is told the exit status at once.
     */
    public void addListener(ProcessListener listener) {
        listeners.add(listener);
        ExitStatus done = exit.getNow(null);
        if (done != null && listeners.remove(listener)) {
            listener.onExit(done);
        } else if (done == null) {
            // added while the end was being announced: tell it once the future completes
            exit.thenAccept(status -> {
                if (listeners.remove(listener)) {
                    listener.onExit(status);
                }
            });
        }
    }

    public void removeListener(ProcessListener listener) {
        listeners.remove(listener);
    }

    /** Writes to the process's stdin (or its terminal); blocks while the process does not read. */
    public void writeStdin(byte[] bytes) {
        if (!spec.stdin()) {
            throw new IllegalStateException("process " + pid() + " in sandbox " + sandbox.id()
                    + " was started without stdin (ExecSpec.stdin(true))");
        }
        if (stdinClosed || !isRunning()) {
            throw new IllegalStateException("stdin of process " + pid() + " in sandbox " + sandbox.id()
                    + (isRunning() ? " is closed" : " is gone: the process has ended"));
        }
        try {
            connection.write(bytes, 0, bytes.length);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write to stdin of process " + pid() + " in sandbox "
                    + sandbox.id() + ": " + e.getMessage(), e);
        }
    }

    public void writeStdin(String text) {
        writeStdin(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Ends the process's input: it reads end-of-file. Idempotent. */
    public void closeStdin() {
        if (stdinClosed) {
            return;
        }
        stdinClosed = true;
        try {
            connection.closeStdin();
        } catch (IOException e) {
            log.debug("closing stdin of {} in {}: {}", pid(), sandbox.id(), e.toString());
        }
    }

    /**
     * Sends a signal to the process.
     *
     * @return false when the process had already ended
     */
    public boolean signal(Signal signal) {
        if (!isRunning()) {
            return false;
        }
        return sandbox.signalPid(pid(), signal);
    }

    /** Resizes the process's terminal. */
    public void resize(int cols, int rows) {
        if (spec.pty().isEmpty()) {
            throw new IllegalStateException("process " + pid() + " in sandbox " + sandbox.id() + " has no PTY");
        }
        sandbox.resizeExec(execId, cols, rows);
    }

    // ------------------------------------------------------------------------------------------------- pump ---

    /** Reads the pid line the start wrapper prints, then the output, until the end. Runs on its own thread. */
    void pump() {
        byte[] head = new byte[64];
        int headLength = 0;
        // the engine reads stdout and stderr separately: the program's first stderr may overtake the pid line
        List<byte[]> earlyStderr = new java.util.ArrayList<>();
        Throwable failure = null;
        try {
            ExecConnection.Chunk chunk;
            while ((chunk = connection.next()) != null) {
                int offset = chunk.offset();
                int length = chunk.length();
                if (!pid.isDone()) {
                    if (chunk.stream() != ExecConnection.STDOUT) {
                        // the wrapper prints nothing on stderr before the pid: this is the program's, keep it
                        earlyStderr.add(java.util.Arrays.copyOfRange(chunk.bytes(), offset, offset + length));
                        continue;
                    }
                    int newline = -1;
                    for (int i = 0; i < length; i++) {
                        if (chunk.bytes()[offset + i] == '\n') {
                            newline = i;
                            break;
                        }
                    }
                    int take = newline < 0 ? length : newline + 1;
                    if (headLength + take > head.length) {
                        throw new IOException("unexpected start output");
                    }
                    System.arraycopy(chunk.bytes(), offset, head, headLength, take);
                    headLength += take;
                    if (newline < 0) {
                        continue;
                    }
                    String line = new String(head, 0, headLength, StandardCharsets.US_ASCII).strip();
                    if (!line.matches("\\d+")) {
                        pid.completeExceptionally(startFailure(line));
                        break;
                    }
                    pid.complete(Integer.parseInt(line));
                    for (byte[] early : earlyStderr) {
                        deliver(StdStream.STDERR, early, 0, early.length);
                    }
                    earlyStderr.clear();
                    offset += take;
                    length -= take;
                    if (length == 0) {
                        continue;
                    }
                }
                deliver(chunk.stream() == ExecConnection.STDERR ? StdStream.STDERR : StdStream.STDOUT,
                        chunk.bytes(), offset, length);
            }
        } catch (IOException | RuntimeException e) {
            failure = e;
        } finally {
            connection.close();
            finish(failure);
        }
    }

    private FakeSandboxException startFailure(String line) {
        return switch (line) {
            case "!cwd" -> new SandboxFileException(SandboxFileException.Kind.NOT_FOUND, spec.cwd().orElse(""),
                    "Cannot start " + spec.argv() + " in sandbox " + sandbox.id() + ": working directory "
                            + spec.cwd().orElse("") + " does not exist (or is not accessible)");
            case "!cmd" -> new SandboxFileException(SandboxFileException.Kind.NOT_FOUND, spec.argv().get(0),
                    "Cannot start " + spec.argv() + " in sandbox " + sandbox.id() + ": " + spec.argv().get(0)
                            + ": command not found");
            default -> new FakeSandboxException("Cannot start " + spec.argv() + " in sandbox " + sandbox.id()
                    + ": " + line);
        };
    }

    private void deliver(StdStream stream, byte[] bytes, int offset, int length) {
        OutputLog target = output(stream);
        long at = target.end();
        target.append(bytes, offset, length);
        if (listeners.isEmpty()) {
            return;
        }
        byte[] copy = java.util.Arrays.copyOfRange(bytes, offset, offset + length);
        for (ProcessListener listener : listeners) {
            try {
                listener.onOutput(stream, at, copy);
            } catch (RuntimeException e) {
                log.debug("removing output listener of {} in {} that failed: {}", pid(), sandbox.id(), e.toString());
                listeners.remove(listener);
            }
        }
    }

    private void finish(Throwable failure) {
        ScheduledFuture<?> timer = timeoutTask;
        if (timer != null) {
            timer.cancel(false);
        }
        stdout.close();
        stderr.close();
        if (!pid.isDone()) {
            pid.completeExceptionally(failure != null
                    ? new FakeSandboxException("Process " + spec.argv() + " in sandbox " + sandbox.id()
                            + " ended before it started: " + failure.getMessage(), failure)
                    : sandbox.startFailureReason(spec));
        }
        var code = sandbox.exitCodeOf(execId);
        boolean ended = !sandbox.state().isRunning();
        ExitStatus status = code.isPresent()
                ? ExitStatus.of(code.getAsInt())
                : new ExitStatus(137, Optional.of(Signal.KILL), false, true);
        status = new ExitStatus(status.code(), status.signal(), timedOut, ended || status.sandboxEnded());
        // listeners first: whoever waits on the exit future finds every listener told
        List<ProcessListener> told = List.copyOf(listeners);
        listeners.removeAll(told);
        for (ProcessListener listener : told) {
            try {
                listener.onExit(status);
            } catch (RuntimeException e) {
                log.debug("exit listener of {} in {} failed: {}", pid(), sandbox.id(), e.toString());
            }
        }
        exit.complete(status); // listeners added meanwhile are told by addListener's hook
        sandbox.processEnded(this);
    }

    /** Waits for the pid (or the start failure). */
    int awaitPid(Duration timeout) {
        try {
            return pid.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof FakeSandboxException f) {
                throw f;
            }
            throw new FakeSandboxException("Cannot start " + spec.argv() + " in sandbox " + sandbox.id() + ": "
                    + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            connection.close();
            throw new FakeSandboxException("Process " + spec.argv() + " in sandbox " + sandbox.id()
                    + " did not start within " + timeout + "; is the sandbox overloaded?");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            connection.close();
            throw new FakeSandboxException("Interrupted while starting " + spec.argv() + " in " + sandbox.id());
        }
    }

    void timeoutTask(ScheduledFuture<?> task) {
        this.timeoutTask = task;
    }

    /** Called by the host when {@link ExecSpec#timeout()} passes. */
    void timeOut() {
        if (isRunning()) {
            timedOut = true;
            signal(Signal.KILL);
        }
    }

    @Override
    public String toString() {
        return "SandboxProcess[pid=" + pid() + ", sandbox=" + sandbox.id() + ", argv=" + spec.argv()
                + (isRunning() ? ", running" : ", " + exit.getNow(null)) + "]";
    }
}
