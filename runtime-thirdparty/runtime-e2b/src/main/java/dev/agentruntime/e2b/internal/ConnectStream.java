package dev.agentruntime.e2b.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.internal.WireCodec;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The Connect protocol's streaming envelopes over JSON: {@code [flags][4-byte big-endian length][payload]}, flag
 * {@code 0x02} marking the end-of-stream message {@code {}} or {@code {"error":{"code","message"}}}. Compression
 * (flag {@code 0x01}) is never negotiated, so a compressed envelope is an error.
 */
public final class ConnectStream {

    public static final String CONTENT_TYPE = "application/connect+json";
    static final int FLAG_COMPRESSED = 0x01;
    static final int FLAG_END_STREAM = 0x02;
    private static final int MAX_MESSAGE = 16 * 1024 * 1024;

    private ConnectStream() {
    }

    /** One enveloped message (the body of a server-streaming request). */
    public static byte[] envelope(int flags, byte[] payload) {
        ByteBuffer buffer = ByteBuffer.allocate(5 + payload.length);
        buffer.put((byte) flags).putInt(payload.length).put(payload);
        return buffer.array();
    }

    public static byte[] envelope(JsonNode message) {
        return envelope(0, WireCodec.toJson(message).getBytes(StandardCharsets.UTF_8));
    }

    /** A message read from a stream: a data message, or the end of the stream (with an error or not). */
    public record Message(boolean end, JsonNode body) {
        /** The error of an end-of-stream message. */
        public Optional<JsonNode> error() {
            JsonNode error = body.get("error");
            return end && error != null && error.isObject() ? Optional.of(error) : Optional.empty();
        }
    }

    /**
     * Reads the next envelope.
     *
     * @return empty at a clean end of the underlying stream (which, without an end-of-stream message, the caller
     *         treats as a broken stream)
     */
    public static Optional<Message> read(InputStream in) throws IOException {
        int flags = in.read();
        if (flags < 0) {
            return Optional.empty();
        }
        byte[] header = readExactly(in, 4);
        if (header.length < 4) {
            throw new EOFException("the stream ended inside an envelope header");
        }
        int length = ByteBuffer.wrap(header).getInt();
        if (length < 0 || length > MAX_MESSAGE) {
            throw new IOException("envelope of " + length + " bytes (more than " + MAX_MESSAGE + ")");
        }
        if ((flags & FLAG_COMPRESSED) != 0) {
            throw new IOException("compressed envelope, but no compression was negotiated");
        }
        byte[] payload = readExactly(in, length);
        if (payload.length < length) {
            throw new EOFException("the stream ended inside a " + length + "-byte message");
        }
        JsonNode body = WireCodec.parse(payload.length == 0 ? "{}" : new String(payload, StandardCharsets.UTF_8));
        return Optional.of(new Message((flags & FLAG_END_STREAM) != 0, body));
    }

    /**
     * A Connect error ({@code {"code":"not_found","message":"..."}}, in an end-of-stream message or a unary answer)
     * as the kit's exception; {@code where} says what was called on which sandbox.
     */
    public static AgentRuntimeException error(JsonNode error, String where) {
        String code = error.path("code").asText("unknown");
        String message = error.path("message").asText("");
        String said = "(" + code + (message.isEmpty() ? "" : ": " + message) + ")";
        return switch (code) {
            case "deadline_exceeded" -> new RuntimeTimeoutException(where + " ran out of time " + said);
            case "unavailable" -> new RuntimeUnavailableException(where + ": the sandbox is unavailable, it may have"
                    + " timed out " + said);
            case "not_found" -> new RuntimeNotFoundException(where + ": not found " + said);
            case "unauthenticated", "permission_denied" -> new BackendAuthenticationException(where
                    + " was refused " + said + ". The sandbox's envd access token may be stale: reconnect.");
            case "resource_exhausted" -> BackendException.transientFailure(where + " is rate limited " + said + ".",
                    null, null);
            case "canceled", "aborted" -> BackendException.transientFailure(where + " was interrupted " + said + ".",
                    null, null);
            default -> new BackendException(where + " failed " + said);
        };
    }

    /**
     * Up to {@code n} bytes, fewer only at the end of the stream. Not {@code InputStream.readNBytes}: it ends with a
     * zero-length read, which an OkHttp body serves by waiting for the next chunk, so a message would be held back
     * until the server sent another (a quiet process's start event until its end).
     */
    static byte[] readExactly(InputStream in, int n) throws IOException {
        byte[] bytes = new byte[n];
        int read = 0;
        while (read < n) {
            int got = in.read(bytes, read, n - read);
            if (got < 0) {
                return java.util.Arrays.copyOf(bytes, read);
            }
            read += got;
        }
        return bytes;
    }

    /** Reads what is left of {@code in} (a small body), for messages. */
    static String drain(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toString(StandardCharsets.UTF_8);
    }
}
