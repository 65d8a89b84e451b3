package dev.agentruntime.docker.internal;

import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;

/**
 * Receives a container's output (from an attach or a followed log stream): splits it into lines, keeps the last
 * ones for error messages, forwards them to a per-sandbox logger at DEBUG when asked, and completes {@link #ready()}
 * when the server prints its ready line and {@link #ended()} when the stream ends (the container stopped).
 */
public final class ContainerOutput extends ResultCallback.Adapter<Frame> {

    private static final int KEPT_LINES = 60;

    private final String readyPrefix;
    private final Logger forwardTo;
    private final String threadName;
    private final ArrayDeque<String> lastLines = new ArrayDeque<>();
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private final CompletableFuture<Integer> ready = new CompletableFuture<>();
    private final CompletableFuture<Void> ended = new CompletableFuture<>();
    private final CompletableFuture<String> fatal = new CompletableFuture<>();

    /**
     * @param readyPrefix the line prefix that means "ready", followed by the port
     * @param forwardTo   logger for every line at DEBUG, or null
     * @param threadName  name given to the thread docker-java delivers frames on
     */
    public ContainerOutput(String readyPrefix, Logger forwardTo, String threadName) {
        this.readyPrefix = readyPrefix;
        this.forwardTo = forwardTo;
        this.threadName = threadName;
    }

    /** Completes with the port from the ready line. */
    public CompletableFuture<Integer> ready() {
        return ready;
    }

    /** Completes when the stream ends: the container's process exited, or the stream was closed. */
    public CompletableFuture<Void> ended() {
        return ended;
    }

    /**
     * Completes with the line when the server's main thread died before it was ready (an uncaught exception): the
     * JVM may live on, but the server will never answer.
     */
    public CompletableFuture<String> fatal() {
        return fatal;
    }

    /** The last lines seen, oldest first. */
    public List<String> lastLines() {
        synchronized (lastLines) {
            return new ArrayList<>(lastLines);
        }
    }

    @Override
    public void onStart(Closeable stream) {
        super.onStart(stream);
        Thread.currentThread().setName(threadName);
    }

    @Override
    public void onNext(Frame frame) {
        ByteArrayOutputStream buffer = frame.getStreamType() == StreamType.STDERR ? stderr : stdout;
        byte[] payload = frame.getPayload();
        synchronized (buffer) {
            for (byte b : payload) {
                if (b == '\n') {
                    line(buffer.toString(StandardCharsets.UTF_8));
                    buffer.reset();
                } else if (b != '\r') {
                    buffer.write(b);
                }
            }
        }
    }

    private void line(String line) {
        synchronized (lastLines) {
            if (lastLines.size() == KEPT_LINES) {
                lastLines.removeFirst();
            }
            lastLines.addLast(line);
        }
        if (forwardTo != null && forwardTo.isDebugEnabled()) {
            forwardTo.debug("{}", line);
        }
        if (!ready.isDone() && line.startsWith("Exception in thread \"main\"")) {
            fatal.complete(line);
        }
        if (!ready.isDone() && line.startsWith(readyPrefix)) {
            try {
                ready.complete(Integer.parseInt(line.substring(readyPrefix.length()).strip()));
            } catch (NumberFormatException e) {
                ready.complete(-1);
            }
        }
    }

    private void flush() {
        for (ByteArrayOutputStream buffer : List.of(stdout, stderr)) {
            synchronized (buffer) {
                if (buffer.size() > 0) {
                    line(buffer.toString(StandardCharsets.UTF_8));
                    buffer.reset();
                }
            }
        }
    }

    @Override
    public void onError(Throwable throwable) {
        // The stream broke (container removed, connection closed): the same as its end for our purposes.
        flush();
        close();
    }

    @Override
    public void onComplete() {
        flush();
        ended.complete(null);
        super.onComplete();
    }

    @Override
    public void close() {
        try {
            super.close();
        } catch (java.io.IOException e) {
            // closing a finished stream
        }
        ended.complete(null);
    }
}
