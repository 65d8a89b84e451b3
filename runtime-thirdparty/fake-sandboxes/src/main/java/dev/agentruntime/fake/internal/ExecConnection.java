package dev.agentruntime.fake.internal;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The attached stream of one started exec: {@code POST /exec/{id}/start} upgraded to a raw connection. Output is pulled
 * with {@link #next()} (demultiplexed from Docker's 8-byte frame headers unless the exec has a TTY) and handed out as
 * it arrives, in slices of a reused buffer; input is written straight to the socket, and {@link #closeStdin()}
 * half-closes it, which is how the process sees end-of-input.
 *
 * <p>One thread reads ({@link #next()}), any thread may write; writes are serialized.
 */
public final class ExecConnection implements Closeable {

    /** Stream numbers of Docker's multiplexed frames. */
    public static final int STDOUT = 1;
    public static final int STDERR = 2;

    private static final int BUFFER = 64 * 1024;

    private final SocketChannel channel;
    private final boolean tty;
    private final ByteBuffer in = ByteBuffer.allocate(BUFFER);
    private final Object writeLock = new Object();
    /** Bytes of the current multiplexed frame not yet handed out, and its stream. */
    private long frameRemaining;
    private int frameStream;
    private final Chunk chunk = new Chunk();

    private ExecConnection(SocketChannel channel, boolean tty) {
        this.channel = channel;
        this.tty = tty;
        in.flip();
    }

    /** A slice of output; valid until the next call of {@link #next()}. */
    public static final class Chunk {
        private int stream;
        private byte[] bytes;
        private int offset;
        private int length;

        /** {@link #STDOUT} or {@link #STDERR} (a TTY exec only has STDOUT). */
        public int stream() {
            return stream;
        }

        public byte[] bytes() {
            return bytes;
        }

        public int offset() {
            return offset;
        }

        public int length() {
            return length;
        }
    }

    /**
     * Starts the exec and attaches to it.
     *
     * @throws ExecStartException when the engine refuses (no such exec, container paused or not running)
     */
    public static ExecConnection start(DockerEndpoint endpoint, String execId, boolean tty) throws IOException {
        SocketChannel channel = endpoint.connect();
        boolean ok = false;
        try {
            String body = "{\"Detach\":false,\"Tty\":" + tty + "}";
            String request = "POST /exec/" + execId + "/start HTTP/1.1\r\n"
                    + "Host: docker\r\n"
                    + "Content-Type: application/json\r\n"
                    + "Connection: Upgrade\r\n"
                    + "Upgrade: tcp\r\n"
                    + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
            writeFully(channel, ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
            ExecConnection connection = new ExecConnection(channel, tty);
            connection.readResponseHead(execId);
            ok = true;
            return connection;
        } finally {
            if (!ok) {
                channel.close();
            }
        }
    }

    private void readResponseHead(String execId) throws IOException {
        StringBuilder head = new StringBuilder();
        while (head.indexOf("\r\n\r\n") < 0) {
            if (!in.hasRemaining() && !fill()) {
                throw new EOFException("Docker closed the connection while starting exec " + execId);
            }
            head.append((char) (in.get() & 0xff));
            if (head.length() > 64 * 1024) {
                throw new IOException("Docker answered exec start with an oversized header");
            }
        }
        String status = head.substring(0, head.indexOf("\r\n"));
        String[] parts = status.split(" ", 3);
        int code = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
        if (code == 101 || code == 200) {
            return;
        }
        // An error: the rest is a (small) JSON body with "message".
        StringBuilder rest = new StringBuilder();
        String lower = head.toString().toLowerCase(Locale.ROOT);
        int length = -1;
        int at = lower.indexOf("content-length:");
        if (at >= 0) {
            length = Integer.parseInt(lower.substring(at + 15, lower.indexOf("\r\n", at)).trim());
        }
        while ((length < 0 || rest.length() < length) && rest.length() < 8192) {
            if (!in.hasRemaining() && !fill()) {
                break;
            }
            rest.append((char) (in.get() & 0xff));
        }
        throw new ExecStartException(code, rest.toString().trim());
    }

    /** The next output slice, or null at end of output (the process has exited and its streams are closed). */
    public Chunk next() throws IOException {
        while (true) {
            if (tty) {
                if (!in.hasRemaining() && !fill()) {
                    return null;
                }
                return slice(STDOUT, in.remaining());
            }
            if (frameRemaining > 0) {
                if (!in.hasRemaining() && !fill()) {
                    throw new EOFException("exec stream ended inside a frame");
                }
                int n = (int) Math.min(frameRemaining, in.remaining());
                frameRemaining -= n;
                return slice(frameStream, n);
            }
            while (in.remaining() < 8) {
                if (!fillKeeping()) {
                    if (in.hasRemaining()) {
                        throw new EOFException("exec stream ended inside a frame header");
                    }
                    return null;
                }
            }
            frameStream = in.get() & 0xff;
            in.position(in.position() + 3);
            frameRemaining = in.getInt() & 0xffffffffL;
            if (frameStream == 0) {
                frameStream = STDOUT; // stdin frames are never sent to us; treat defensively
            }
        }
    }

    private Chunk slice(int stream, int n) {
        chunk.stream = stream == STDERR ? STDERR : STDOUT;
        chunk.bytes = in.array();
        chunk.offset = in.arrayOffset() + in.position();
        chunk.length = n;
        in.position(in.position() + n);
        return chunk;
    }

    /** Refills an empty buffer; false at end of stream. */
    private boolean fill() throws IOException {
        in.clear();
        int n;
        do {
            n = channel.read(in);
        } while (n == 0);
        in.flip();
        return n > 0;
    }

    /** Reads more while keeping unread bytes; false at end of stream. */
    private boolean fillKeeping() throws IOException {
        in.compact();
        int n;
        do {
            n = channel.read(in);
        } while (n == 0);
        in.flip();
        return n > 0;
    }

    /** Writes input to the process (blocks while the process does not read). */
    public void write(byte[] bytes, int offset, int length) throws IOException {
        synchronized (writeLock) {
            writeFully(channel, ByteBuffer.wrap(bytes, offset, length));
        }
    }

    /** Half-closes the connection: the process reads end-of-input. */
    public void closeStdin() throws IOException {
        synchronized (writeLock) {
            if (channel.isOpen()) {
                channel.shutdownOutput();
            }
        }
    }

    private static void writeFully(SocketChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }

    /** The engine refused to start the exec. */
    public static final class ExecStartException extends IOException {
        private final int status;

        public ExecStartException(int status, String body) {
            super("Docker refused to start the exec (HTTP " + status + "): " + body);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }
}
