package dev.agentruntime.server.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * One request and its response, handled on a worker thread. The API follows the JDK's {@code HttpExchange} where
 * handlers need it ({@link #sendResponseHeaders(int, long)}: {@code -1} no body, {@code 0} chunked, {@code n} exactly
 * n bytes), without its per-request maps and stream layers: headers stay in the parsed head, the body is read from the
 * socket through one reusable buffer per worker, and a small response (headers and body) leaves in one write.
 *
 * <p>Reads and writes never block without a deadline: a pause longer than the body read timeout or the write timeout
 * is a {@link SocketTimeoutException} and the connection is closed.
 */
public final class Exchange {

    private static final int BUFFER = 16 * 1024;
    /** What an unconsumed request body may cost us before the connection is closed rather than reused. */
    private static final int DRAIN_LIMIT = 64 * 1024;

    /** Per worker thread: buffers and a selector for waiting on this exchange's socket. */
    private static final class WorkerState {
        final byte[] in = new byte[BUFFER];
        final byte[] out = new byte[BUFFER];
        Selector selector;
    }

    private static final ThreadLocal<WorkerState> STATE = ThreadLocal.withInitial(WorkerState::new);

    private final Connection connection;
    private final RequestHead head;
    private final HttpLimits limits;
    private final WorkerState state = STATE.get();
    private final SocketChannel channel;
    private SelectionKey waitKey;

    // input: state.in[inPos, inLimit) are read-ahead bytes
    private int inPos;
    private int inLimit;
    private final BodyStream body;
    private boolean continueSent;

    // output
    private int status = -1;
    private String contentType;
    private String[] extraHeaders = new String[0];
    private long fixedLength;      // > 0 fixed, 0 chunked, -1 none
    private long written;
    private int outLength;         // bytes in state.out
    private boolean headersFlushed;
    private boolean finished;
    private boolean broken;
    private final ResponseStream responseStream = new ResponseStream();

    Exchange(Connection connection, RequestHead head, HttpLimits limits) {
        this.connection = connection;
        this.head = head;
        this.limits = limits;
        this.channel = connection.channel;
        if (connection.length > 0) {
            // what followed the head in the selector's read: the start of the body, maybe the next request
            byte[] target = state.in;
            if (connection.length > target.length) {
                target = new byte[connection.length];
            }
            System.arraycopy(connection.buffer, 0, target, 0, connection.length);
            inLimit = connection.length;
            inBuffer = target;
            connection.consume(connection.length);
        } else {
            inBuffer = state.in;
        }
        this.body = new BodyStream();
    }

    private byte[] inBuffer;

    // ------------------------------------------------------------------ request

    public RequestHead head() {
        return head;
    }

    public String method() {
        return head.method();
    }

    public String path() {
        return head.path();
    }

    public String rawQuery() {
        return head.rawQuery();
    }

    public String requestHeader(String name) {
        return head.header(name);
    }

    /** The request body, framed by Content-Length or chunked encoding; empty when there is none. */
    public InputStream requestBody() {
        return body;
    }

    // ------------------------------------------------------------------ response

    /** Adds a response header; call before {@link #sendResponseHeaders}. */
    public void responseHeader(String name, String value) {
        if (name.equalsIgnoreCase("Content-Type")) {
            contentType = value;
            return;
        }
        String[] more = java.util.Arrays.copyOf(extraHeaders, extraHeaders.length + 1);
        more[extraHeaders.length] = name + ": " + value;
        extraHeaders = more;
    }

    /** The status sent, or -1 while no response has started. */
    public int responseCode() {
        return status;
    }

    public boolean responseStarted() {
        return status != -1;
    }

    /** Starts the response: {@code length} -1 for no body, 0 for chunked, else the exact byte count. */
    public void sendResponseHeaders(int code, long length) throws IOException {
        if (status != -1) {
            throw new IOException("response headers already sent");
        }
        status = code;
        fixedLength = length;
        StringBuilder h = new StringBuilder(128).append("HTTP/1.1 ").append(code).append(' ')
                .append(reason(code)).append("\r\n");
        if (contentType != null) {
            h.append("Content-Type: ").append(contentType).append("\r\n");
        }
        for (String line : extraHeaders) {
            h.append(line).append("\r\n");
        }
        if (length > 0) {
            h.append("Content-Length: ").append(length).append("\r\n");
        } else if (length == 0) {
            h.append("Transfer-Encoding: chunked\r\n");
        } else {
            h.append("Content-Length: 0\r\n");
        }
        if (head.wantsClose()) {
            h.append("Connection: close\r\n");
        }
        h.append("\r\n");
        byte[] bytes = h.toString().getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(bytes, 0, state.out, 0, bytes.length);
        outLength = bytes.length;
        pendingHeaderBytes = bytes.length;
    }

    /** The response body stream; closing it finishes the response. */
    public OutputStream responseBody() {
        return responseStream;
    }

    /** Sends a complete response in one go (headers and body in one write when they fit). */
    public void send(int code, String type, byte[] bytes, int offset, int count) throws IOException {
        if (type != null) {
            contentType = type;
        }
        sendResponseHeaders(code, count == 0 ? -1 : count);
        responseStream.write(bytes, offset, count);
        finish();
    }

    /** Finishes the response (flushes, ends a chunked body); idempotent. */
    public void close() {
        try {
            finish();
        } catch (IOException e) {
            broken = true;
        }
    }

    void finish() throws IOException {
        if (finished) {
            return;
        }
        finished = true;
        if (status == -1) {
            throw new IOException("no response was sent");
        }
        if (fixedLength > 0 && written != fixedLength) {
            broken = true;
            flush(false);
            throw new IOException("response body was " + written + " bytes, declared " + fixedLength);
        }
        flush(true);
    }

    /** Whether the connection can carry another request after this one. */
    boolean reusable() {
        if (broken || !finished || head.wantsClose()) {
            return false;
        }
        if (!body.exhausted()) {
            try {
                long skipped = body.skipUpTo(DRAIN_LIMIT);
                if (!body.exhausted() || skipped < 0) {
                    return false;
                }
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }

    void markBroken() {
        broken = true;
    }

    /** Bytes that arrived after this request (a pipelined request): they go back to the connection. */
    void handBackLeftover() {
        if (inPos < inLimit) {
            java.nio.ByteBuffer rest = java.nio.ByteBuffer.wrap(inBuffer, inPos, inLimit - inPos);
            connection.append(rest, inLimit - inPos);
        }
        inPos = inLimit = 0;
    }

    /** Leaves the worker's selector so the connection can be registered and closed elsewhere. */
    void release() {
        if (waitKey != null) {
            waitKey.cancel();
            try {
                state.selector.selectNow();
            } catch (IOException ignored) {
                // the selector is only used by this worker
            }
            waitKey = null;
        }
    }

    private void flush(boolean last) throws IOException {
        int headerBytes = headersFlushed ? 0 : pendingHeaderBytes;
        int bodyBytes = outLength - headerBytes;
        if (fixedLength == 0) {
            // chunked: frame the body part of the buffer
            ByteBuffer headers = headerBytes == 0 ? null : ByteBuffer.wrap(state.out, 0, headerBytes);
            ByteBuffer chunkHead = bodyBytes == 0 ? null
                    : ByteBuffer.wrap((Integer.toHexString(bodyBytes) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            ByteBuffer data = bodyBytes == 0 ? null : ByteBuffer.wrap(state.out, headerBytes, bodyBytes);
            ByteBuffer chunkEnd = bodyBytes == 0 ? null : ByteBuffer.wrap(CRLF);
            ByteBuffer terminator = last ? ByteBuffer.wrap(LAST_CHUNK) : null;
            writeAll(headers, chunkHead, data, chunkEnd, terminator);
        } else {
            writeAll(ByteBuffer.wrap(state.out, 0, outLength));
        }
        headersFlushed = true;
        outLength = 0;
    }

    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    private int pendingHeaderBytes;

    private void writeAll(ByteBuffer... buffers) throws IOException {
        int count = 0;
        for (ByteBuffer b : buffers) {
            if (b != null && b.hasRemaining()) {
                count++;
            }
        }
        if (count == 0) {
            return;
        }
        ByteBuffer[] parts = new ByteBuffer[count];
        int i = 0;
        long remaining = 0;
        for (ByteBuffer b : buffers) {
            if (b != null && b.hasRemaining()) {
                parts[i++] = b;
                remaining += b.remaining();
            }
        }
        while (remaining > 0) {
            long n = channel.write(parts);
            if (n < 0) {
                throw new IOException("connection closed");
            }
            remaining -= n;
            if (remaining > 0 && n == 0) {
                await(SelectionKey.OP_WRITE, limits.writeTimeout().toMillis(), "writing the response");
            }
        }
    }

    private void await(int op, long timeoutMillis, String what) throws IOException {
        if (state.selector == null) {
            state.selector = Selector.open();
        }
        if (waitKey == null) {
            waitKey = channel.register(state.selector, op);
        } else {
            waitKey.interestOps(op);
        }
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                broken = true;
                throw new SocketTimeoutException("client stalled for " + timeoutMillis + " ms while " + what);
            }
            int ready = state.selector.select(left);
            state.selector.selectedKeys().clear();
            if (ready > 0) {
                return;
            }
            if (!channel.isOpen()) {
                throw new IOException("connection closed");
            }
        }
    }

    /** Reads at least one byte into inBuffer (which must be empty); false at end of stream. */
    private boolean fill() throws IOException {
        inPos = 0;
        inLimit = 0;
        if (inBuffer != state.in) {
            inBuffer = state.in;
        }
        sendContinueIfExpected();
        while (true) {
            int n = channel.read(ByteBuffer.wrap(inBuffer, 0, inBuffer.length));
            if (n > 0) {
                inLimit = n;
                return true;
            }
            if (n < 0) {
                return false;
            }
            await(SelectionKey.OP_READ, limits.bodyReadTimeout().toMillis(), "reading the request body");
        }
    }

    /** Reads straight into the caller's array (large bodies skip the copy through inBuffer). */
    private int readDirect(byte[] b, int off, int len) throws IOException {
        sendContinueIfExpected();
        ByteBuffer target = ByteBuffer.wrap(b, off, len);
        while (true) {
            int n = channel.read(target);
            if (n != 0) {
                return n;
            }
            await(SelectionKey.OP_READ, limits.bodyReadTimeout().toMillis(), "reading the request body");
        }
    }

    private void sendContinueIfExpected() throws IOException {
        if (!continueSent && head.expectsContinue() && status == -1) {
            continueSent = true;
            writeAll(ByteBuffer.wrap(CONTINUE));
        }
    }

    private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);

    private int readByte() throws IOException {
        if (inPos >= inLimit && !fill()) {
            return -1;
        }
        return inBuffer[inPos++] & 0xff;
    }

    /** The request body: Content-Length or chunked framing over the read-ahead buffer and the socket. */
    private final class BodyStream extends InputStream {
        private long remaining = head.chunked() ? 0 : Math.max(0, head.contentLength());
        private boolean chunked = head.chunked();
        private boolean done = !head.chunked() && head.contentLength() <= 0;

        boolean exhausted() {
            return done;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (done) {
                return -1;
            }
            if (remaining == 0) {
                if (!chunked || !nextChunk()) {
                    done = true;
                    return -1;
                }
            }
            int want = (int) Math.min(len, remaining);
            int n;
            if (inPos < inLimit) {
                n = Math.min(want, inLimit - inPos);
                System.arraycopy(inBuffer, inPos, b, off, n);
                inPos += n;
            } else if (!chunked && want >= 4096) {
                n = readDirect(b, off, want);
                if (n < 0) {
                    broken = true;
                    throw new IOException("client closed the connection " + remaining + " bytes before the end of the body");
                }
            } else {
                if (!fill()) {
                    broken = true;
                    throw new IOException("client closed the connection before the end of the body");
                }
                n = Math.min(want, inLimit - inPos);
                System.arraycopy(inBuffer, inPos, b, off, n);
                inPos += n;
            }
            remaining -= n;
            if (remaining == 0 && !chunked) {
                done = true;
            }
            return n;
        }

        /** Parses the next chunk header; false after the last (zero) chunk and its trailers. */
        private boolean nextChunk() throws IOException {
            if (chunkCount++ > 0) {
                expectCrlf();
            }
            long size = 0;
            int digits = 0;
            int c;
            while ((c = readByte()) >= 0 && c != '\r' && c != '\n' && c != ';') {
                int d = Character.digit(c, 16);
                if (d < 0 || ++digits > 15) {
                    broken = true;
                    throw new IOException("malformed chunk size");
                }
                size = size * 16 + d;
            }
            if (c < 0 || digits == 0) {
                broken = true;
                throw new IOException("malformed chunk header");
            }
            int skipped = 0;
            while (c != '\n') { // chunk extensions, then CRLF
                c = readByte();
                if (c < 0 || ++skipped > 4096) {
                    broken = true;
                    throw new IOException("malformed chunk header");
                }
            }
            if (size == 0) {
                int lineLength = 0;
                int total = 0;
                while (true) { // trailers until an empty line
                    c = readByte();
                    if (c < 0 || ++total > 16 * 1024) {
                        broken = true;
                        throw new IOException("malformed chunked trailer");
                    }
                    if (c == '\n') {
                        if (lineLength == 0) {
                            return false;
                        }
                        lineLength = 0;
                    } else if (c != '\r') {
                        lineLength++;
                    }
                }
            }
            remaining = size;
            return true;
        }

        private int chunkCount;

        private void expectCrlf() throws IOException {
            int c = readByte();
            if (c == '\r') {
                c = readByte();
            }
            if (c != '\n') {
                broken = true;
                throw new IOException("malformed chunk terminator");
            }
        }

        /** Reads and drops up to {@code limit} bytes of what is left; the count, or -1 when more is left. */
        long skipUpTo(long limit) throws IOException {
            byte[] sink = new byte[4096];
            long total = 0;
            while (!done) {
                int n = read(sink, 0, sink.length);
                if (n < 0) {
                    break;
                }
                total += n;
                if (total > limit) {
                    return -1;
                }
            }
            return total;
        }
    }

    /** The response body: buffered into the worker's output buffer, flushed in chunks or as the fixed length. */
    private final class ResponseStream extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (status == -1) {
                throw new IOException("sendResponseHeaders must come first");
            }
            if (fixedLength < 0 && len > 0) {
                throw new IOException("this response has no body");
            }
            if (fixedLength > 0 && written + len > fixedLength) {
                broken = true;
                throw new IOException("response body longer than the declared " + fixedLength + " bytes");
            }
            written += len;
            while (len > 0) {
                int room = state.out.length - outLength;
                if (room == 0) {
                    Exchange.this.flush(false);
                    room = state.out.length;
                }
                if (outLength == 0 && len >= state.out.length && fixedLength > 0) {
                    writeAll(ByteBuffer.wrap(b, off, len)); // large fixed-length bodies go straight out
                    return;
                }
                int n = Math.min(room, len);
                System.arraycopy(b, off, state.out, outLength, n);
                outLength += n;
                off += n;
                len -= n;
            }
        }

        @Override
        public void flush() throws IOException {
            if (outLength > 0) {
                Exchange.this.flush(false);
            }
        }

        @Override
        public void close() throws IOException {
            finish();
        }
    }

    static String reason(int code) {
        return switch (code) {
            case 100 -> "Continue";
            case 200 -> "OK";
            case 204 -> "No Content";
            case 400 -> "Bad Request";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 408 -> "Request Timeout";
            case 409 -> "Conflict";
            case 411 -> "Length Required";
            case 413 -> "Content Too Large";
            case 422 -> "Unprocessable Content";
            case 431 -> "Request Header Fields Too Large";
            case 500 -> "Internal Server Error";
            case 501 -> "Not Implemented";
            case 503 -> "Service Unavailable";
            case 505 -> "HTTP Version Not Supported";
            default -> "Status";
        };
    }
}
