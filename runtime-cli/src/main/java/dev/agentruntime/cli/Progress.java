package dev.agentruntime.cli;

import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.StatusEvent;
import dev.agentruntime.StatusListener;
import java.io.PrintStream;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Shows what a sandbox is doing while it starts: on a terminal one line with a spinner, the current step (preparing
 * an image, uploading the server, starting) and the seconds it has taken, erased once the sandbox is ready; otherwise
 * (output to a file or pipe) one line for each slow step only (image builds), so scripts' stderr stays quiet.
 */
final class Progress implements StatusListener, AutoCloseable {

    private static final String[] SPINNER = {"|", "/", "-", "\\"};

    private final PrintStream err;
    private final boolean animate;
    private final long started = System.nanoTime();
    private final ScheduledExecutorService ticker;
    private String message;   // guarded by this
    private boolean finished; // guarded by this
    private int frame;        // guarded by this
    private int drawn;        // guarded by this: characters on the progress line

    /** @param animate true when stderr is a terminal: draw and redraw one line */
    Progress(PrintStream err, boolean animate) {
        this.err = err;
        this.animate = animate;
        if (animate) {
            ticker = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "agent-runtime-cli-progress");
                t.setDaemon(true);
                return t;
            });
            ticker.scheduleAtFixedRate(this::redraw, 100, 100, TimeUnit.MILLISECONDS);
        } else {
            ticker = null;
        }
    }

    @Override
    public synchronized void onStatus(StatusEvent event) {
        if (finished) {
            return;
        }
        RuntimeStatus status = event.status();
        if (status == RuntimeStatus.READY || status == RuntimeStatus.ERROR || status == RuntimeStatus.CLOSED
                || status == RuntimeStatus.ERROR_RUNTIME_DISCONNECTED) {
            close();
            return;
        }
        message = humanize(event);
        if (animate) {
            redraw();
        } else if (status == RuntimeStatus.BUILDING_RUNTIME) {
            err.println("agent-runtime: " + message);
            err.flush();
        }
    }

    private static String humanize(StatusEvent event) {
        String text = event.message() == null || event.message().isBlank()
                ? switch (event.status()) {
                    case BUILDING_RUNTIME -> "Preparing the sandbox image";
                    case RUNTIME_STARTED -> "Waiting for the sandbox to answer";
                    default -> "Starting the sandbox";
                }
                : event.message().strip();
        int newline = text.indexOf('\n');
        return newline < 0 ? text : text.substring(0, newline);
    }

    private synchronized void redraw() {
        if (finished || message == null) {
            return;
        }
        long seconds = (System.nanoTime() - started) / 1_000_000_000L;
        String line = SPINNER[frame++ % SPINNER.length] + " " + message + " (" + seconds + " s)";
        if (line.length() > 100) {
            line = line.substring(0, 97) + "...";
        }
        err.print("\r" + line + " ".repeat(Math.max(0, drawn - line.length())));
        err.flush();
        drawn = line.length();
    }

    /** Erases the progress line; later events are ignored. Idempotent. */
    @Override
    public synchronized void close() {
        if (finished) {
            return;
        }
        finished = true;
        if (ticker != null) {
            ticker.shutdownNow();
        }
        if (animate && drawn > 0) {
            err.print("\r" + " ".repeat(drawn) + "\r");
            err.flush();
        }
    }
}
