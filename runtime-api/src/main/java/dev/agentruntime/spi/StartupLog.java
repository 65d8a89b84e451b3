package dev.agentruntime.spi;

import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeTimeoutException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The action server's output while it starts, from any line source — a child process's stdout, a Docker attach or
 * log stream, a pod log, a vendor's exec stream: the last lines kept for error messages (bounded: a chatty server
 * cannot grow it), the ready line ({@link ServerLaunch#READY_LINE_PREFIX}) detected as it arrives, a fatal start
 * ({@code Exception in thread "main"}) and the end of the stream noticed.
 *
 * <pre>{@code
 * StartupLog log = new StartupLog(line -> logger.debug("[sandbox] {}", line));
 * StartupLog.pump(process.getInputStream(), log, "agent-runtime-local-logs-" + id);
 * int port = log.awaitReady(deadline, "Local sandbox " + id);   // throws with the last lines on failure
 * }</pre>
 *
 * Thread-safe: bytes of each stream arrive in order on any thread.
 */
public final class StartupLog {

    /** How many lines are kept for diagnostics. */
    public static final int KEPT_LINES = 60;
    /** Longer lines are cut (and marked) so one line cannot hold much memory. */
    static final int MAX_LINE = 4096;
    /** How long a fatal start may take to print its stack trace before the error is raised. */
    private static final Duration FATAL_GRACE = Duration.ofMillis(500);

    private final Consumer<String> forward;
    private final ArrayDeque<String> lastLines = new ArrayDeque<>();
    private final LineBuffer stdout = new LineBuffer();
    private final LineBuffer stderr = new LineBuffer();
    private final CompletableFuture<Integer> ready = new CompletableFuture<>();
    private final CompletableFuture<String> fatal = new CompletableFuture<>();
    private final CompletableFuture<Void> ended = new CompletableFuture<>();

    /** @param forward receives every line (e.g. a DEBUG logger), or null */
    public StartupLog(Consumer<String> forward) {
        this.forward = forward;
    }

    /** Reads {@code in} on a new named daemon thread until its end, then {@link #end()}s this log. */
    public static Thread pump(InputStream in, StartupLog log, String threadName) {
        Thread pump = new Thread(() -> {
            byte[] buffer = new byte[8192];
            try (in) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    log.accept(buffer, 0, n, false);
                }
            } catch (IOException | RuntimeException e) {
                // the stream broke: the same as its end for our purposes
            } finally {
                log.end();
            }
        }, threadName);
        pump.setDaemon(true);
        pump.start();
        return pump;
    }

    /** Feeds raw output; {@code fromStderr} keeps the two streams' partial lines apart. */
    public void accept(byte[] data, int offset, int length, boolean fromStderr) {
        LineBuffer buffer = fromStderr ? stderr : stdout;
        List<String> complete = new ArrayList<>(2);
        synchronized (buffer) {
            for (int i = offset; i < offset + length; i++) {
                byte b = data[i];
                if (b == '\n') {
                    complete.add(buffer.take());
                } else if (b != '\r') {
                    buffer.add(b);
                }
            }
        }
        complete.forEach(this::line);
    }

    /** Feeds one complete line. */
    public void line(String line) {
        Objects.requireNonNull(line, "line");
        synchronized (lastLines) {
            if (lastLines.size() == KEPT_LINES) {
                lastLines.removeFirst();
            }
            lastLines.addLast(line);
        }
        if (forward != null) {
            forward.accept(line);
        }
        if (!ready.isDone()) {
            if (line.startsWith("Exception in thread \"main\"")) {
                fatal.complete(line);
            }
            OptionalInt port = ServerLaunch.readyPort(line);
            if (port.isPresent()) {
                ready.complete(port.getAsInt());
            }
        }
    }

    /** The stream ended (the server exited, or its log stream closed): partial lines are flushed. */
    public void end() {
        for (LineBuffer buffer : List.of(stdout, stderr)) {
            String rest;
            synchronized (buffer) {
                rest = buffer.size() > 0 ? buffer.take() : null;
            }
            if (rest != null) {
                line(rest);
            }
        }
        ended.complete(null);
    }

    /** Completes with the server's port when the ready line arrives. */
    public CompletableFuture<Integer> ready() {
        return ready;
    }

    /** Completes with the line when the server's main thread died before it was ready. */
    public CompletableFuture<String> fatal() {
        return fatal;
    }

    /** Completes when the stream ended. */
    public CompletableFuture<Void> ended() {
        return ended;
    }

    /** The last lines, oldest first. */
    public List<String> lastLines() {
        synchronized (lastLines) {
            return new ArrayList<>(lastLines);
        }
    }

    /** "Last server log lines:" and the lines, or a sentence saying there were none; for error messages. */
    public String describe() {
        List<String> lines = lastLines();
        if (lines.isEmpty()) {
            return "The server printed nothing.";
        }
        return "Last server log lines:\n  " + String.join("\n  ", lines);
    }

    /**
     * Waits for the ready line until {@code deadline}.
     *
     * @param what    names the sandbox in messages, e.g. {@code "Sandbox abc (container agent-runtime-abc)"}
     * @param context more diagnostics to append (e.g. an exit code), asked for only on failure
     * @return the port from the ready line
     * @throws RuntimeStartupException when the server died or its output ended before it was ready
     * @throws RuntimeTimeoutException when the deadline passed first
     */
    public int awaitReady(Instant deadline, String what, java.util.function.Supplier<String> context) {
        CompletableFuture<Object> first = CompletableFuture.anyOf(ready, ended, fatal);
        try {
            first.get(Math.max(0, Duration.between(Instant.now(), deadline).toMillis()), TimeUnit.MILLISECONDS);
            if (!ready.isDone() && fatal.isDone()) {
                try {
                    ended.get(FATAL_GRACE.toMillis(), TimeUnit.MILLISECONDS); // let the stack trace arrive
                } catch (TimeoutException stillRunning) {
                    // the JVM lives on without its main thread: report what we have
                }
            }
        } catch (TimeoutException e) {
            throw new RuntimeTimeoutException(what + ": the action server did not report ready before the startup"
                    + " deadline. " + diagnostics(context));
        } catch (ExecutionException e) {
            throw new RuntimeStartupException(what + ": reading the action server's output failed: " + e.getCause()
                    + ". " + diagnostics(context), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeStartupException("Interrupted while waiting for " + what, e);
        }
        if (!ready.isDone()) {
            throw new RuntimeStartupException(what + ": the action server " + (fatal.isDone() ? "failed" : "stopped")
                    + " before it was ready. " + diagnostics(context));
        }
        return ready.join();
    }

    private String diagnostics(java.util.function.Supplier<String> context) {
        String extra = context == null ? "" : context.get();
        return (extra == null || extra.isBlank() ? "" : extra.strip() + " ") + describe();
    }

    /** One stream's partial line, bounded. */
    private static final class LineBuffer {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private boolean cut;

        void add(byte b) {
            if (bytes.size() < MAX_LINE) {
                bytes.write(b);
            } else {
                cut = true;
            }
        }

        int size() {
            return bytes.size();
        }

        String take() {
            String line = bytes.toString(StandardCharsets.UTF_8) + (cut ? " [...]" : "");
            bytes.reset();
            cut = false;
            return line;
        }
    }
}
