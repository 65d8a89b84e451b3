package dev.agentruntime.gateway.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.proxy.Refusal;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/** JSON in and out of the API, and its error answers in OpenHands' (FastAPI's) shape: {@code {"detail": ...}}. */
public final class Json {

    public static final ObjectMapper MAPPER = new ObjectMapper();
    /** API bodies are small; anything bigger is refused before it is read. */
    public static final int MAX_BODY = 1 << 20;
    private static final long DRAIN_LIMIT = 64L << 20;

    private Json() {
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    /** {@code {"detail": message}} with the status. */
    public static Refusal error(int status, String message) {
        return Refusal.json(status, object().put("detail", message).toString());
    }

    /** Reads the request body as a JSON object: 413 when too big, 400 when not JSON, 422 when not an object. */
    public static ObjectNode body(Request request) {
        long length = request.getLength();
        byte[] bytes;
        try (InputStream in = Request.asInputStream(request)) {
            bytes = length > MAX_BODY ? new byte[MAX_BODY + 1] : in.readNBytes(MAX_BODY + 1);
            if (bytes.length > MAX_BODY) {
                // read what a client sends before it looks for an answer (up to a bound), so the 413 reaches it
                // instead of a reset connection
                long skipped = 0;
                while (skipped < DRAIN_LIMIT && in.read() >= 0) {
                    skipped += 1 + in.skip(DRAIN_LIMIT - skipped);
                }
                throw error(413, "The request body is larger than " + MAX_BODY + " bytes, the most the API takes");
            }
        } catch (IOException e) {
            throw error(400, "The request body could not be read: " + e.getMessage());
        }
        if (bytes.length == 0) {
            throw error(400, "The request needs a JSON object body");
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw error(400, "The request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw error(400, "The request body could not be read: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw error(422, "The request body must be a JSON object, was " + (node == null ? "empty"
                    : node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT)));
        }
        return (ObjectNode) node;
    }

    /** Writes {@code body} with {@code status}. */
    public static void write(Response response, Callback callback, int status, JsonNode body) {
        byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }
}
