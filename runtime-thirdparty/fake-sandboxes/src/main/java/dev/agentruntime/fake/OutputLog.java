package dev.agentruntime.fake;

import java.time.Duration;

/**
 * The last {@code capacity} bytes of one output stream of one process, addressed by absolute offsets (the count of
 * bytes the process wrote before them), so a client that detached can reconnect and resume from the offset it had
 * read to, the way E2B's {@code Connect}, Runloop's {@code stream_stdout_updates?offset=} and Modal's
 * {@code TaskExecStdioRead{offset}} do. Memory grows with the output up to the capacity, then the oldest bytes go.
 * Thread-safe.
 */
public final class OutputLog {

    /**
     * Bytes read from the log.
     *
     * @param offset absolute offset of {@code bytes[0]}; larger than the offset asked for when those bytes were
     *     already dropped (the difference is {@link #skipped()})
     * @param requested the offset asked for
     * @param endOfStream no more bytes will ever follow {@code bytes}
     */
    public record Chunk(long offset, long requested, byte[] bytes, boolean endOfStream) {
        /** Where to read next. */
        public long nextOffset() {
            return offset + bytes.length;
        }

        /** Bytes between the offset asked for and the first one still kept. */
        public long skipped() {
            return Math.max(0, offset - requested);
        }

        @Override
        public String toString() {
            return "Chunk[offset=" + offset + ", " + bytes.length + " bytes" + (endOfStream ? ", end" : "") + "]";
        }
    }

    private final int capacity;
    private byte[] ring = new byte[0];
    /** Index in {@code ring} of the byte at absolute offset {@code start}. */
    private int head;
    private long start;
    private long end;
    private boolean closed;

    public OutputLog(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        this.capacity = capacity;
    }

    /** Offset of the oldest byte still kept. */
    public synchronized long start() {
        return start;
    }

    /** Offset just past the newest byte: how many bytes the stream has had in all. */
    public synchronized long end() {
        return end;
    }

    /** Whether the stream has ended (no bytes will follow {@link #end()}). */
    public synchronized boolean isClosed() {
        return closed;
    }

    synchronized void append(byte[] bytes, int offset, int length) {
        if (closed || length == 0) {
            return;
        }
        int size = (int) (end - start);
        if (size + length > ring.length && ring.length < capacity) {
            grow((int) Math.min(capacity, Math.max(2L * ring.length, Math.max(4096, (long) size + length))));
        }
        if (length >= ring.length) {
            // only the newest ring.length bytes survive
            int keep = ring.length;
            System.arraycopy(bytes, offset + length - keep, ring, 0, keep);
            head = 0;
            end += length;
            start = end - keep;
        } else {
            int overflow = size + length - ring.length;
            if (overflow > 0) {
                head = (head + overflow) % ring.length;
                start += overflow;
                size -= overflow;
            }
            int tail = (head + size) % ring.length;
            int first = Math.min(length, ring.length - tail);
            System.arraycopy(bytes, offset, ring, tail, first);
            System.arraycopy(bytes, offset + first, ring, 0, length - first);
            end += length;
        }
        notifyAll();
    }

    private void grow(int newLength) {
        int size = (int) (end - start);
        byte[] bigger = new byte[newLength];
        copyOut(start, bigger, 0, size);
        ring = bigger;
        head = 0;
    }

    private void copyOut(long from, byte[] target, int at, int length) {
        if (length == 0) {
            return;
        }
        int index = (int) ((head + (from - start)) % ring.length);
        int first = Math.min(length, ring.length - index);
        System.arraycopy(ring, index, target, at, first);
        System.arraycopy(ring, 0, target, at + first, length - first);
    }

    synchronized void close() {
        closed = true;
        notifyAll();
    }

    /** What is there from {@code offset} on, at most {@code max} bytes, without waiting (possibly nothing). */
    public synchronized Chunk read(long offset, int max) {
        if (offset < 0 || max <= 0) {
            throw new IllegalArgumentException("offset must be >= 0 and max > 0: " + offset + ", " + max);
        }
        long from = Math.max(offset, start);
        if (from >= end) {
            return new Chunk(from, offset, new byte[0], closed);
        }
        int n = (int) Math.min(max, end - from);
        byte[] out = new byte[n];
        copyOut(from, out, 0, n);
        return new Chunk(from, offset, out, closed && from + n >= end);
    }

    /**
     * Waits until there are bytes at or after {@code offset} (or the stream ended, or the timeout passed) and returns
     * them, at most {@code max}.
     */
    public Chunk await(long offset, int max, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            while (end <= offset && !closed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                long millis = Math.max(1, left / 1_000_000);
                wait(millis);
            }
            return read(offset, max);
        }
    }

    /** Everything still kept, as one array (for small outputs and tests). */
    public synchronized byte[] snapshot() {
        byte[] out = new byte[(int) (end - start)];
        copyOut(start, out, 0, out.length);
        return out;
    }

    @Override
    public synchronized String toString() {
        return "OutputLog[" + start + ".." + end + (closed ? ", closed" : "") + ", capacity " + capacity + "]";
    }
}
