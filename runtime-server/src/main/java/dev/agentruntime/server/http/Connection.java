package dev.agentruntime.server.http;

import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * One client connection. Owned by the selector thread while it reads a request head or writes a short answer, by
 * one worker thread while a request is handled ({@link #dispatched}); the hand-over goes through
 * {@link Http11Server}'s return queue, so no field is touched by two threads at once.
 */
final class Connection {

    final SocketChannel channel;
    SelectionKey key;
    /** Bytes read and not consumed yet: a partial head, or what followed a head (a body prefix, a pipelined request). */
    byte[] buffer;
    int length;
    /** Where the head search resumes (no byte is scanned twice while a head trickles in). */
    int scanned;
    /** System.nanoTime() after which the selector closes this connection (head, idle, write or drain deadline). */
    long deadline;
    /** Whether a request on this connection proved the session key. */
    boolean trusted;
    boolean dispatched;
    /** An inline answer still being written. */
    ByteBuffer pendingOut;
    /** Close once pendingOut is written (after draining what the client still sends, briefly). */
    boolean closeAfterWrite;
    /** Output is shut down; input is read and dropped until EOF or the deadline. */
    boolean draining;
    long drained;
    /** Set by a worker that wants the selector to close this connection instead of reading from it again. */
    boolean closeOnReturn;
    boolean closed;

    Connection(SocketChannel channel) {
        this.channel = channel;
    }

    /** Appends {@code count} bytes from {@code source}, growing the buffer (at most to {@code limit} + one read). */
    void append(ByteBuffer source, int count) {
        if (buffer == null) {
            buffer = new byte[Math.max(512, Integer.highestOneBit(Math.max(1, count - 1)) << 1)];
        } else if (length + count > buffer.length) {
            int size = buffer.length;
            while (size < length + count) {
                size <<= 1;
            }
            buffer = java.util.Arrays.copyOf(buffer, size);
        }
        source.get(buffer, length, count);
        length += count;
    }

    /** Bytes of heap this connection's buffer holds. */
    int capacity() {
        return buffer == null ? 0 : buffer.length;
    }

    /** Drops the first {@code count} bytes. */
    void consume(int count) {
        if (count >= length) {
            length = 0;
            scanned = 0;
            if (buffer != null && buffer.length > 4096) {
                buffer = null; // an idle connection keeps no big buffer
            }
            return;
        }
        System.arraycopy(buffer, count, buffer, 0, length - count);
        length -= count;
        scanned = 0;
    }

    /** The end of the head (index after the blank line) in the buffer, or -1. */
    int headEnd() {
        for (int i = Math.max(0, scanned - 3); i < length; i++) {
            if (buffer[i] == '\n') {
                if (i + 1 < length && buffer[i + 1] == '\n') {
                    return i + 2;
                }
                if (i + 2 < length && buffer[i + 1] == '\r' && buffer[i + 2] == '\n') {
                    return i + 3;
                }
            }
        }
        scanned = length;
        return -1;
    }
}
