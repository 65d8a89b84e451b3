package dev.agentruntime.server;

import dev.agentruntime.Observation;
import dev.agentruntime.OutputListener;
import dev.agentruntime.internal.OutputStreamFormat;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.server.http.Exchange;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers an action as a stream (docs/PROTOCOL.md "Streaming"): a chunked {@code application/x-ndjson} response of
 * output events while the command runs, then the observation line, byte for byte the body a plain request gets.
 *
 * <p>Output is handed over by the PTY reader thread, which must never wait for the network: it only appends to a
 * bounded buffer. A writer thread of this answer sends what accumulated, so a slow client gets fewer, larger events,
 * never a stalled shell; beyond {@link #MAX_PENDING} characters waiting the middle is dropped (the observation still
 * carries the command's output as usual).
 */
final class StreamedAnswer implements ActionExecutor.Answer {

    private static final Logger log = LoggerFactory.getLogger(StreamedAnswer.class);
    static final int MAX_PENDING = 1024 * 1024;
    static final String DROPPED = "\n[... output dropped: the client read it more slowly than it was written ...]\n";
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final Exchange exchange;
    private final AtomicBoolean claimed = new AtomicBoolean();
    private final CountDownLatch delivered = new CountDownLatch(1);
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final StringBuilder pending = new StringBuilder(); // guarded by lock
    private boolean finished;                                  // guarded by lock: no more output is taken
    private Thread writer;                                     // guarded by lock
    private final Object wire = new Object();                  // one writer of the exchange at a time
    private volatile IOException failure;

    StreamedAnswer(Exchange exchange) {
        this.exchange = exchange;
    }

    @Override
    public OutputListener output() {
        return this::take;
    }

    /** Called on the PTY reader thread: never blocks on the network. */
    private void take(String text) {
        lock.lock();
        try {
            if (finished || failure != null) {
                return;
            }
            pending.append(text);
            if (pending.length() > MAX_PENDING) {
                int keepTail = MAX_PENDING / 2;
                pending.replace(0, pending.length() - keepTail, DROPPED);
            }
            if (writer == null) {
                writer = new Thread(this::writeLoop, "agent-runtime-stream-" + THREADS.incrementAndGet());
                writer.setDaemon(true);
                writer.start();
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void writeLoop() {
        while (true) {
            String text;
            lock.lock();
            try {
                while (pending.length() == 0 && !finished) {
                    changed.awaitUninterruptibly();
                }
                if (pending.length() == 0) {
                    return; // finished and drained
                }
                text = pending.toString();
                pending.setLength(0);
            } finally {
                lock.unlock();
            }
            try {
                write(OutputStreamFormat.outputLine(text), true);
            } catch (IOException e) {
                failure = e; // the client went away; the action runs on and its answer is dropped
                log.debug("streaming client gone: {}", e.toString());
                return;
            }
        }
    }

    private void write(byte[] line, boolean flush) throws IOException {
        synchronized (wire) {
            if (!exchange.responseStarted()) {
                exchange.responseHeader("Content-Type", OutputStreamFormat.MEDIA_TYPE);
                exchange.responseHeader("Cache-Control", "no-cache");
                exchange.responseHeader("X-Accel-Buffering", "no"); // ask nginx-like proxies not to buffer
                exchange.sendResponseHeaders(200, 0);
            }
            OutputStream body = exchange.responseBody();
            body.write(line);
            if (flush) {
                body.flush();
            }
        }
    }

    @Override
    public boolean claim() {
        return claimed.compareAndSet(false, true);
    }

    @Override
    public void deliver(Observation observation) {
        try {
            drain();
            if (failure != null) {
                return;
            }
            byte[] json = WireCodec.MAPPER.writeValueAsBytes(WireCodec.encodeObservation(observation));
            byte[] line = java.util.Arrays.copyOf(json, json.length + 1);
            line[json.length] = '\n';
            write(line, false);
            exchange.close();
        } catch (IOException e) {
            failure = e;
        } catch (RuntimeException | OutOfMemoryError e) {
            log.error("cannot encode the observation of an action that ran", e);
            try {
                write(OutputStreamFormat.errorLine(500,
                        "The action ran, but its observation could not be sent: " + e), false);
                exchange.close();
            } catch (IOException | RuntimeException ignored) {
                // the connection is closed
            }
        } finally {
            delivered.countDown();
        }
    }

    /** Stops taking output and waits until the writer has sent what it holds. */
    private void drain() {
        Thread running;
        lock.lock();
        try {
            finished = true;
            running = writer;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (running != null && running != Thread.currentThread()) {
            try {
                running.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Answers a failure of the action (an exception from the executor). Before the stream began it is a plain error
     * response, after that an error event.
     */
    void fail(int status, String detail) throws IOException {
        drain();
        synchronized (wire) {
            if (!exchange.responseStarted()) {
                HttpIo.sendError(exchange, status, detail);
                return;
            }
        }
        write(OutputStreamFormat.errorLine(status, detail), false);
        exchange.close();
    }

    /** Waits for the answer (the watchdog may be writing it) and rethrows a write failure. */
    void awaitDelivered() throws IOException {
        if (!claimed.get()) {
            return;
        }
        try {
            delivered.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (failure != null) {
            throw failure;
        }
    }
}
