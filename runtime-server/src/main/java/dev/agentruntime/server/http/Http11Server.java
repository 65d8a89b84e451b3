package dev.agentruntime.server.http;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small HTTP/1.1 server built for one job: serving an agent sandbox's action endpoints while anyone who can reach
 * the port, key or no key, tries to wear it down.
 *
 * <p>One selector thread accepts connections and reads request heads without blocking. A head is routed the moment
 * it is complete ({@link Router}, where the session key is checked): refusals and {@code /alive} are answered right
 * there, so a request without the key never costs a thread or a read of its body; only requests the router accepts
 * go to a bounded pool of worker threads, which read the body and answer. So the cost of a client without the key
 * is a socket and the head bytes it managed to send, bounded by {@link HttpLimits}: the number of connections (at the
 * cap the oldest connection that never proved the key is closed, never one that did), the head size, and the head
 * deadline (a head that has not arrived whole within it is closed, however slowly it trickles).
 *
 * <p>Why not the JDK's {@code com.sun.net.httpserver}: it reads request heads on executor threads with blocking
 * reads, so a bounded executor is starved by slow heads and an unbounded one grows a thread per slow connection
 * until the heap is gone; its connection cap refuses new connections, the key holder's among them.
 */
public final class Http11Server implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Http11Server.class);
    private static final long SWEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final long DRAIN_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** A refused body is read and dropped up to this much (then RST): enough for the client to see the answer. */
    private static final long DRAIN_BYTES = 64L * 1024 * 1024;

    private final HttpLimits limits;
    private final Router router;
    private final ServerSocketChannel listener;
    private final Selector selector;
    private final SelectionKey acceptKey;
    private final Workers workers;
    private final Thread selectorThread;
    private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(16 * 1024);
    /** Connections the selector owns (not with a worker), oldest first: the eviction order. */
    private final LinkedHashSet<Connection> live = new LinkedHashSet<>();
    private final ConcurrentLinkedQueue<Connection> returned = new ConcurrentLinkedQueue<>();
    private final int maxConnections;
    private int open;
    /** Heap held in the buffers of connections the selector owns (heads arriving), bounded by headMemoryBudget. */
    private long headMemory;
    private final long headMemoryBudget = Math.max(4L << 20, java.lang.Runtime.getRuntime().maxMemory() / 8);
    private long acceptPausedUntil;
    private volatile boolean closed;

    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong evicted = new AtomicLong();
    private final AtomicLong timedOut = new AtomicLong();
    private final AtomicLong refusedInline = new AtomicLong();

    /** Binds now (so a privileged port can be bound before privileges are dropped); serves after {@link #start()}. */
    public Http11Server(InetSocketAddress address, HttpLimits limits, Router router) throws IOException {
        this.limits = limits;
        this.router = router;
        this.maxConnections = Math.max(2, Math.min(limits.maxConnections(), fileDescriptorBudget()));
        this.listener = ServerSocketChannel.open();
        listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        listener.bind(address, 1024);
        listener.configureBlocking(false);
        this.selector = Selector.open();
        this.acceptKey = listener.register(selector, SelectionKey.OP_ACCEPT);
        this.workers = new Workers(limits.workerThreads(), 10, TimeUnit.MINUTES, "agent-runtime-http-");
        this.selectorThread = new Thread(this::loop, "agent-runtime-http-selector");
        selectorThread.setDaemon(true);
    }

    public void start() {
        selectorThread.start();
    }

    public int port() {
        return listener.socket().getLocalPort();
    }

    /** Counters for tests and logs: accepted, evicted at the cap, closed at a deadline, answered inline. */
    public String stats() {
        return "accepted=" + accepted.get() + " evicted=" + evicted.get() + " timedOut=" + timedOut.get()
                + " refusedInline=" + refusedInline.get() + " open=" + open;
    }

    /**
     * Open file descriptors we may spend on connections: the process limit minus what the JVM, the shell and the
     * files being served need.
     */
    private static int fileDescriptorBudget() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max open files")) {
                    String[] parts = line.substring("Max open files".length()).trim().split("\\s+");
                    if (!parts[0].equals("unlimited")) {
                        return Math.max(16, Integer.parseInt(parts[0]) - 256);
                    }
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // no /proc: rely on the configured cap
        }
        return Integer.MAX_VALUE;
    }

    // ------------------------------------------------------------------ selector thread

    private void loop() {
        long nextSweep = System.nanoTime() + SWEEP_NANOS;
        while (!closed) {
            try {
                long wait = Math.max(1, (nextSweep - System.nanoTime()) / 1_000_000L);
                takeReturns();
                selector.select(wait);
                // Connections that proved the key first: a flood of keyless ones is served after them, never before.
                Set<SelectionKey> ready = selector.selectedKeys();
                List<SelectionKey> rest = new ArrayList<>(ready.size());
                for (SelectionKey key : ready) {
                    if (key.attachment() instanceof Connection c && c.trusted) {
                        onReady(key);
                    } else {
                        rest.add(key);
                    }
                }
                for (SelectionKey key : rest) {
                    onReady(key);
                }
                ready.clear();
                takeReturns();
                long now = System.nanoTime();
                if (now - nextSweep >= 0) {
                    sweep(now);
                    nextSweep = now + SWEEP_NANOS;
                }
            } catch (Throwable t) {
                // Nothing may end this loop but close(): an OutOfMemoryError or a bug in one connection costs
                // that connection, not the server.
                if (closed) {
                    break;
                }
                log.warn("selector loop: {}", t.toString());
                if (t instanceof OutOfMemoryError) {
                    evictOne(true);
                }
            }
        }
    }

    private void onReady(SelectionKey key) {
        if (key == acceptKey) {
            acceptAll();
            return;
        }
        Connection c = (Connection) key.attachment();
        try {
            if (!key.isValid()) {
                closeConnection(c);
                return;
            }
            if (key.isWritable()) {
                writePending(c);
            }
            if (key.isValid() && key.isReadable() && !c.closed) {
                if (c.draining) {
                    drain(c);
                } else {
                    readHead(c);
                }
            }
        } catch (IOException | RuntimeException e) {
            closeConnection(c);
        } catch (OutOfMemoryError e) {
            closeConnection(c);
            throw e;
        }
    }

    private void acceptAll() {
        for (int i = 0; i < 256; i++) {
            SocketChannel channel;
            try {
                channel = listener.accept();
            } catch (IOException e) {
                // Out of file descriptors (EMFILE) or the like: make room, and pause accepting briefly rather than spin.
                if (!evictOne(false)) {
                    acceptKey.interestOps(0);
                    acceptPausedUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
                }
                log.debug("accept failed: {}", e.toString());
                return;
            }
            if (channel == null) {
                return;
            }
            accepted.incrementAndGet();
            Connection c = new Connection(channel);
            try {
                channel.configureBlocking(false);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                c.key = channel.register(selector, SelectionKey.OP_READ, c);
            } catch (IOException e) {
                closeQuietly(channel);
                continue;
            }
            c.deadline = System.nanoTime() + limits.headTimeout().toNanos();
            open++;
            live.add(c);
            if (open > maxConnections) {
                if (!evictOne(false)) {
                    closeConnection(c); // every other connection is busy with a request: refuse this one
                }
            }
        }
    }

    /**
     * Closes the oldest connection that never proved the key, or failing that (unless {@code keylessOnly}) the oldest
     * idle one; false when there is none to close.
     */
    private boolean evictOne(boolean keylessOnly) {
        Connection victim = null;
        for (Connection c : live) {
            if (!c.trusted) {
                victim = c;
                break;
            }
            if (victim == null && !keylessOnly) {
                victim = c;
            }
        }
        if (victim == null) {
            return false;
        }
        evicted.incrementAndGet();
        closeConnection(victim);
        return true;
    }

    private void readHead(Connection c) throws IOException {
        readBuffer.clear();
        int n = c.channel.read(readBuffer);
        if (n < 0) {
            closeConnection(c);
            return;
        }
        if (n == 0) {
            return;
        }
        readBuffer.flip();
        if (c.length == 0 && c.trusted) {
            c.deadline = System.nanoTime() + limits.headTimeout().toNanos(); // a new request starts on an idle connection
        }
        int before = c.capacity();
        c.append(readBuffer, n);
        headMemory += c.capacity() - before; // an upper bound between sweeps, which recount it
        processBuffered(c);
        if (headMemory > headMemoryBudget) {
            // Many connections each holding a large partial head: close the oldest keyless ones, not the heap.
            headMemory = countHeadMemory();
            while (headMemory > headMemoryBudget && evictOne(true)) {
                headMemory = countHeadMemory();
            }
        }
    }

    private long countHeadMemory() {
        long sum = 0;
        for (Connection c : live) {
            sum += c.capacity();
        }
        return sum;
    }

    /** Routes every complete head in the buffer (more than one when a client pipelines). */
    private void processBuffered(Connection c) throws IOException {
        while (!c.closed && !c.dispatched && c.pendingOut == null && c.length > 0) {
            int skip = 0;
            while (skip < c.length && (c.buffer[skip] == '\r' || c.buffer[skip] == '\n')) {
                skip++; // stray line breaks between requests
            }
            if (skip > 0) {
                c.consume(skip);
                continue;
            }
            int end = c.headEnd();
            if (end < 0) {
                if (c.length > limits.maxHeadBytes()) {
                    replyAndClose(c, 431, "Request head larger than " + limits.maxHeadBytes() + " bytes");
                }
                return;
            }
            if (end > limits.maxHeadBytes()) {
                replyAndClose(c, 431, "Request head larger than " + limits.maxHeadBytes() + " bytes");
                return;
            }
            RequestHead head;
            try {
                head = RequestHead.parse(c.buffer, end);
            } catch (RequestHead.BadRequest e) {
                replyAndClose(c, e.status(), e.getMessage());
                return;
            }
            c.consume(end);
            Route route;
            try {
                route = router.route(head);
            } catch (RuntimeException e) {
                log.warn("routing {} {} failed: {}", head.method(), head.path(), e.toString());
                route = Route.detail(500, "Internal server error: " + e);
            }
            if (route.inline()) {
                replyInline(c, head, route);
            } else {
                dispatch(c, head, route);
            }
        }
    }

    private void replyInline(Connection c, RequestHead head, Route route) throws IOException {
        refusedInline.incrementAndGet();
        boolean bodyUnread = head.hasBody();
        if (bodyUnread && !head.chunked() && head.contentLength() <= c.length) {
            c.consume((int) head.contentLength()); // the whole (small) body is here already: skip it, keep the connection
            bodyUnread = false;
        }
        boolean close = bodyUnread || head.wantsClose();
        c.pendingOut = ByteBuffer.wrap(responseBytes(route.status, route.body, route.extraHeader, close));
        c.closeAfterWrite = close;
        c.deadline = System.nanoTime() + (c.trusted ? limits.writeTimeout() : limits.headTimeout()).toNanos();
        writePending(c);
    }

    private void replyAndClose(Connection c, int status, String detail) throws IOException {
        refusedInline.incrementAndGet();
        c.length = 0;
        c.pendingOut = ByteBuffer.wrap(responseBytes(status, Route.detailJson(detail), null, true));
        c.closeAfterWrite = true;
        c.deadline = System.nanoTime() + limits.headTimeout().toNanos();
        writePending(c);
    }

    private static byte[] responseBytes(int status, byte[] body, String extraHeader, boolean close) {
        String head = "HTTP/1.1 " + status + " " + Exchange.reason(status) + "\r\nContent-Type: application/json\r\n"
                + (extraHeader == null ? "" : extraHeader + "\r\n")
                + "Content-Length: " + body.length + "\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n";
        byte[] h = head.getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = new byte[h.length + body.length];
        System.arraycopy(h, 0, all, 0, h.length);
        System.arraycopy(body, 0, all, h.length, body.length);
        return all;
    }

    private void writePending(Connection c) throws IOException {
        if (c.pendingOut == null) {
            c.key.interestOps(SelectionKey.OP_READ);
            return;
        }
        c.channel.write(c.pendingOut);
        if (c.pendingOut.hasRemaining()) {
            c.key.interestOps(SelectionKey.OP_WRITE);
            return;
        }
        c.pendingOut = null;
        if (c.closeAfterWrite) {
            // FIN first, then read and drop what the client still sends for a moment: closing with unread input
            // would reset the connection and could destroy the answer before the client reads it.
            c.channel.shutdownOutput();
            c.draining = true;
            c.length = 0;
            c.deadline = System.nanoTime() + DRAIN_NANOS;
            c.key.interestOps(SelectionKey.OP_READ);
            return;
        }
        c.key.interestOps(SelectionKey.OP_READ);
        c.deadline = System.nanoTime() + (c.trusted && c.length == 0 ? limits.idleTimeout() : limits.headTimeout()).toNanos();
        processBuffered(c);
    }

    private void drain(Connection c) throws IOException {
        readBuffer.clear();
        int n = c.channel.read(readBuffer);
        if (n < 0 || (c.drained += Math.max(0, n)) > DRAIN_BYTES) {
            closeConnection(c);
        }
    }

    private void dispatch(Connection c, RequestHead head, Route route) {
        if (route.keyProven) {
            c.trusted = true;
        }
        c.dispatched = true;
        live.remove(c);
        c.key.interestOps(0);
        try {
            workers.execute(() -> serve(c, head, route.handler));
        } catch (IllegalStateException shutDown) {
            c.closeOnReturn = true;
            returned.add(c);
        }
    }

    /** Connections coming back from workers: read the next request, or close. */
    private void takeReturns() {
        Connection c;
        while ((c = returned.poll()) != null) {
            c.dispatched = false;
            if (c.closeOnReturn || !c.channel.isOpen()) {
                closeConnection(c);
                continue;
            }
            live.add(c);
            try {
                c.deadline = System.nanoTime() + (c.length == 0 && c.trusted ? limits.idleTimeout()
                        : limits.headTimeout()).toNanos();
                c.key.interestOps(SelectionKey.OP_READ);
                processBuffered(c);
            } catch (IOException | RuntimeException e) {
                closeConnection(c);
            }
        }
    }

    private void sweep(long now) {
        if (acceptPausedUntil != 0 && now - acceptPausedUntil >= 0) {
            acceptPausedUntil = 0;
            acceptKey.interestOps(SelectionKey.OP_ACCEPT);
        }
        Iterator<Connection> it = live.iterator();
        long memory = 0;
        while (it.hasNext()) {
            Connection c = it.next();
            if (now - c.deadline >= 0) {
                it.remove();
                timedOut.incrementAndGet();
                closeChannel(c);
            } else {
                memory += c.capacity();
            }
        }
        headMemory = memory;
    }

    private void closeConnection(Connection c) {
        live.remove(c);
        closeChannel(c);
    }

    private void closeChannel(Connection c) {
        if (c.closed) {
            return;
        }
        c.closed = true;
        open--;
        if (c.key != null) {
            c.key.cancel();
        }
        closeQuietly(c.channel);
        c.buffer = null;
        c.pendingOut = null;
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    // ------------------------------------------------------------------ worker side

    private void serve(Connection c, RequestHead head, Route.Handler handler) {
        Exchange exchange = new Exchange(c, head, limits);
        try {
            handler.handle(exchange);
            exchange.finish();
        } catch (Throwable t) {
            exchange.markBroken();
            if (!exchange.responseStarted() && c.channel.isOpen()) {
                try {
                    log.warn("{} {} failed: {}", head.method(), head.path(), t.toString());
                    byte[] body = Route.detailJson("Internal server error: " + t);
                    exchange.send(500, "application/json", body, 0, body.length);
                } catch (Throwable ignored) {
                    // the connection is closed below
                }
            } else {
                log.debug("{} {}: {}", head.method(), head.path(), t.toString());
            }
        }
        boolean reuse = exchange.reusable() && !closed;
        if (reuse) {
            exchange.handBackLeftover();
        }
        exchange.release();
        c.closeOnReturn = !reuse;
        returned.add(c);
        selector.wakeup();
    }

    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            selectorThread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        workers.shutdown();
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (Connection c : live.toArray(new Connection[0])) {
            closeConnection(c);
        }
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
