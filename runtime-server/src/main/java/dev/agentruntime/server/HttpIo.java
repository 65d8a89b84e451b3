package dev.agentruntime.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.internal.WireFormatException;
import dev.agentruntime.server.http.Exchange;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/** JSON requests and responses on an {@link Exchange}, with bounded bodies and reused buffers. */
public final class HttpIo {

    /** Request bodies up to this size are read into a per-thread buffer, larger ones into a fresh array. */
    private static final int SMALL_BODY = 64 * 1024;
    /** A response buffer that grew beyond this is dropped after use rather than kept per thread. */
    private static final int KEEP_BUFFER = 256 * 1024;

    /** A ByteArrayOutputStream whose array can be handed out without copying. */
    static final class Bytes extends ByteArrayOutputStream {
        Bytes(int size) {
            super(size);
        }

        byte[] array() {
            return buf;
        }
    }

    private static final ThreadLocal<Bytes> OUT = ThreadLocal.withInitial(() -> new Bytes(16 * 1024));
    private static final ThreadLocal<byte[]> IN = ThreadLocal.withInitial(() -> new byte[SMALL_BODY]);

    private HttpIo() {
    }

    public static void sendJson(Exchange exchange, int status, Object body) throws IOException {
        Bytes out = OUT.get();
        out.reset();
        try {
            WireCodec.MAPPER.writeValue(out, body);
            exchange.send(status, "application/json", out.array(), 0, out.size());
        } finally {
            if (out.array().length > KEEP_BUFFER) {
                OUT.remove();
            }
        }
    }

    /** Sends {@code {"detail": "..."}} with the given status, OpenHands' error envelope. */
    public static void sendError(Exchange exchange, int status, String detail) throws IOException {
        ObjectNode body = WireCodec.MAPPER.createObjectNode();
        body.put("detail", detail);
        sendJson(exchange, status, body);
    }

    /**
     * Reads and parses a JSON body of at most {@code limit} bytes; a larger one is a 413 (checked against the
     * declared length before a byte is read, when there is one), malformed JSON a 400.
     */
    public static JsonNode readJson(Exchange exchange, long limit) throws IOException {
        long declared = exchange.head().contentLength();
        if (declared > limit) {
            throw new RequestException(413, tooLarge(declared, limit));
        }
        InputStream in = exchange.requestBody();
        byte[] buffer = declared >= 0 && declared <= SMALL_BODY ? IN.get()
                : new byte[(int) Math.min(limit + 1, declared >= 0 ? declared : SMALL_BODY)];
        int n = 0;
        while (true) {
            if (n == buffer.length) {
                if (n > limit) {
                    throw new RequestException(413, "Request body larger than " + limit + " bytes");
                }
                buffer = java.util.Arrays.copyOf(buffer, (int) Math.min(limit + 1, (long) buffer.length * 2));
            }
            int r = in.read(buffer, n, buffer.length - n);
            if (r < 0) {
                break;
            }
            n += r;
        }
        if (n > limit) {
            throw new RequestException(413, "Request body larger than " + limit + " bytes");
        }
        try {
            JsonNode node = WireCodec.MAPPER.readTree(buffer, 0, n);
            if (node == null || node.isMissingNode()) {
                throw new WireFormatException(400, "Malformed JSON: the body is empty");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new WireFormatException(400, "Malformed JSON: " + e.getOriginalMessage());
        }
    }

    static String tooLarge(long size, long limit) {
        return "Request body of " + size + " bytes is larger than the limit of " + limit + " bytes"
                + " (AGENT_RUNTIME_MAX_REQUEST_BYTES); send large files with /upload_file";
    }

    /** A request the server refuses with a 4xx status and a JSON detail. */
    public static final class RequestException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final int status;

        public RequestException(int status, String detail) {
            super(detail, null, false, false);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }
}
