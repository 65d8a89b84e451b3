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
import dev.agentruntime.server.files.FileService;
import dev.agentruntime.server.python.PythonKernel;
import dev.agentruntime.server.shell.BashSession;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs actions one at a time (like OpenHands' executor lock) against the shell and the file system. */
final class ActionExecutor implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ActionExecutor.class);

    private final BashSession shell;
    private final Supplier<PythonKernel> pythonFactory;
    private final FileService files;
    private final ReentrantLock lock = new ReentrantLock(true);
    private final Object pythonLock = new Object();
    private PythonKernel python; // made on the first cell (most sessions never run one); guarded by pythonLock
    private boolean closed;      // guarded by pythonLock

    ActionExecutor(BashSession shell, PythonKernel python, FileService files) {
        this(shell, () -> python, files);
    }

    /** @param python makes the Python kernel on the first {@code run_ipython} action, not before */
    ActionExecutor(BashSession shell, Supplier<PythonKernel> python, FileService files) {
        this.shell = shell;
        this.pythonFactory = python;
        this.files = files;
    }

    /**
     * @param rawArgs the action's raw {@code args}, for values the typed action cannot carry (a non-numeric
     *                {@code insert_line} that the editor must report)
     */
    Observation execute(Action action, JsonNode rawArgs) {
        lock.lock();
        try {
            log.debug("{}: {}", action.type(), action.message());
            if (action instanceof CmdRunAction run) {
                return shell.execute(run);
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
        } finally {
            lock.unlock();
        }
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
        if (made != null) {
            made.close();
        }
        shell.close();
    }
}
