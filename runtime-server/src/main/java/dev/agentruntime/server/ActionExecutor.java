package dev.agentruntime.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.Action;
import dev.agentruntime.BrowseUrlAction;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.ErrorObservation;
import dev.agentruntime.FileEditAction;
import dev.agentruntime.FileReadAction;
import dev.agentruntime.FileWriteAction;
import dev.agentruntime.IPythonRunCellAction;
import dev.agentruntime.Observation;
import dev.agentruntime.OutputListener;
import dev.agentruntime.server.files.FileService;
import dev.agentruntime.server.python.PythonKernel;
import dev.agentruntime.server.shell.BashSession;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs actions one at a time (like OpenHands' executor lock) against the shell and the file system, each within a
 * hard deadline.
 *
 * <p>The action lock is a fair one-permit semaphore, not a lock owned by a thread, so that a watchdog can take it
 * back: an action runs on its request's own thread (no hand-off), and a watchdog scheduled for its deadline answers
 * for it and releases the lock if it has not finished by then (a read that blocks in the kernel, a hung file system).
 * The shell honours the deadline in-band (a command still running is answered as timed out and keeps running), so the
 * watchdog is the backstop for what cannot be interrupted. Exactly one of the two answers: {@link Answer#claim()}.
 */
class ActionExecutor implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ActionExecutor.class);
    /** How long after an action's deadline the watchdog steps in (the in-band deadline answers first). */
    private static final Duration WATCHDOG_GRACE = Duration.ofSeconds(5);

    /** Where an action's observation goes: delivered once, by the action's thread or by the watchdog. */
    interface Answer {
        /** Claims the right to answer; true exactly once. */
        boolean claim();

        /** Sends the observation (after a successful claim). */
        void deliver(Observation observation);

        /** Where a command's output goes as it arrives (a streaming client); null when nobody asked for it. */
        default OutputListener output() {
            return null;
        }
    }

    private final BashSession shell;
    private final Supplier<PythonKernel> pythonFactory;
    private final FileService files;
    private final ServerLimits limits;
    private final Semaphore permit = new Semaphore(1, true);
    private final ActionWatchdog watchdog = new ActionWatchdog("agent-runtime-action-watchdog");
    private final Object pythonLock = new Object();
    private PythonKernel python; // made on the first cell (most sessions never run one); guarded by pythonLock
    private boolean closed;      // guarded by pythonLock

    /** @param python makes the Python kernel on the first {@code run_ipython} action, not before */
    ActionExecutor(BashSession shell, Supplier<PythonKernel> python, FileService files, ServerLimits limits) {
        this.shell = shell;
        this.pythonFactory = python;
        this.files = files;
        this.limits = limits;
    }

    /** Runs an action and returns its observation (tests and callers without a deadline to enforce). */
    Observation execute(Action action, JsonNode rawArgs) {
        Observation[] result = new Observation[1];
        AtomicBoolean claimed = new AtomicBoolean();
        execute(action, rawArgs, new Answer() {
            @Override
            public boolean claim() {
                return claimed.compareAndSet(false, true);
            }

            @Override
            public void deliver(Observation observation) {
                result[0] = observation;
            }
        });
        return result[0];
    }

    /**
     * Runs an action under the action lock and delivers its observation through {@code answer}, by its deadline at
     * the latest: the action's {@code timeout} (or, for file actions without one, the default file action time),
     * never more than the longest action time.
     */
    void execute(Action action, JsonNode rawArgs, Answer answer) {
        permit.acquireUninterruptibly();
        AtomicBoolean released = new AtomicBoolean();
        Runnable release = () -> {
            if (released.compareAndSet(false, true)) {
                permit.release();
            }
        };
        Duration deadline = deadline(action);
        ActionWatchdog.Entry dog = watchdog.arm(deadline.plus(WATCHDOG_GRACE).toNanos(), () -> {
            if (answer.claim()) {
                release.run();
                log.warn("{} did not finish within {} s: answered for it and released the action lock",
                        action.type(), deadline.toSeconds());
                answer.deliver(ErrorObservation.of("The " + action.type() + " action did not finish within "
                        + seconds(deadline) + " seconds and was abandoned (does it read from something that never"
                        + " answers, like a FIFO or a hung network file system?). The server keeps serving; the"
                        + " abandoned operation may still complete later."));
            }
        });
        try {
            OutputListener output = answer.output();
            Observation observation = output != null && action instanceof CmdRunAction command
                    ? shell.execute(command, deadline, output) : run(action, rawArgs, deadline);
            if (answer.claim()) {
                answer.deliver(observation); // under the lock: one large observation in memory at a time
            } else {
                log.info("{} finished after the watchdog answered for it; its observation is dropped", action.type());
            }
        } catch (RuntimeException | Error e) {
            if (answer.claim()) {
                throw e;
            }
            log.info("{} failed after the watchdog answered for it: {}", action.type(), e.toString());
        } finally {
            dog.cancel();
            release.run();
        }
    }

    private Duration deadline(Action action) {
        Duration max = limits.maxActionTime();
        Duration own = action.timeout().orElse(null);
        if (own == null) {
            return action instanceof CmdRunAction || action instanceof IPythonRunCellAction ? max
                    : min(limits.defaultFileActionTime(), max);
        }
        return min(own, max);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? Long.toString(d.toSeconds()) : Double.toString(d.toMillis() / 1000.0);
    }

    /** Runs one action on the calling thread (a seam for the watchdog test). */
    Observation run(Action action, JsonNode rawArgs, Duration deadline) {
        log.debug("{}: {}", action.type(), action.message());
        if (action instanceof CmdRunAction run) {
            return shell.execute(run, deadline);
        }
        if (action instanceof IPythonRunCellAction cell) {
            return python().run(cell, shell.cwd()); // the interpreter follows the shell's directory
        }
        if (action instanceof FileReadAction read) {
            return files.read(read, shell.cwd());
        }
        if (action instanceof FileWriteAction write) {
            return files.write(write, shell.cwd());
        }
        if (action instanceof FileEditAction edit) {
            return files.edit(edit, rawInsertLine(rawArgs));
        }
        if (action instanceof BrowseUrlAction browse) {
            return new ErrorObservation("Browsing is not supported by this runtime: it has no browser. Fetch the"
                    + " page with a command instead, e.g. curl -sL '" + browse.url() + "'.", "AGENT_ERROR$BAD_ACTION");
        }
        return new ErrorObservation("Action " + action.type() + " is not supported in the current runtime.",
                "AGENT_ERROR$BAD_ACTION");
    }

    /** The raw {@code insert_line}: a number, a string (the editor reports a non-numeric one) or null. */
    private static Object rawInsertLine(JsonNode args) {
        JsonNode value = args == null ? null : args.get("insert_line");
        if (value == null || value.isNull()) {
            return null;
        }
        if (value.isIntegralNumber() && value.canConvertToInt()) {
            return value.intValue();
        }
        return value.isTextual() ? value.textValue() : value.toString();
    }

    private PythonKernel python() {
        synchronized (pythonLock) {
            if (closed) {
                throw new IllegalStateException("the server is shutting down");
            }
            if (python == null) {
                python = pythonFactory.get();
            }
            return python;
        }
    }

    /** Never blocks (answered on the HTTP selector thread). */
    boolean ready() {
        return shell.isAlive();
    }

    /** Stops the Python kernel (if one was made) and the shell. May be called from any thread, also mid-action. */
    @Override
    public void close() {
        PythonKernel made;
        synchronized (pythonLock) { // not the action lock: closing must not wait for a running action
            closed = true;
            made = python;
        }
        watchdog.close();
        if (made != null) {
            made.close();
        }
        shell.close();
    }
}
