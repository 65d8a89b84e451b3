package dev.agentruntime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.agentruntime.internal.WireCodec;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Small helpers for JSON responses on the JDK's HttpServer. */
public final class HttpIo {

    /** The largest JSON request body accepted (actions with a whole file's content fit easily). */
    public static final int MAX_JSON_BODY = 64 * 1024 * 1024;

    private HttpIo() {
    }

    public static void sendJson(HttpExchange exchange, int status, JsonNode body) throws IOException {
        byte[] bytes = WireCodec.toJson(body).getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** Sends {@code {"detail": "..."}} with the given status, OpenHands' error envelope. */
    public static void sendError(HttpExchange exchange, int status, String detail) throws IOException {
        ObjectNode body = WireCodec.MAPPER.createObjectNode();
        body.put("detail", detail);
        sendJson(exchange, status, body);
    }

    /** Reads a JSON request body, refusing bodies over {@link #MAX_JSON_BODY} bytes. */
    public static String readBody(HttpExchange exchange) throws IOException {
        byte[] bytes = exchange.getRequestBody().readNBytes(MAX_JSON_BODY + 1);
        if (bytes.length > MAX_JSON_BODY) {
            throw new RequestException(413, "Request body larger than " + MAX_JSON_BODY + " bytes");
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** A request the server refuses with a 4xx status and a JSON detail. */
    public static final class RequestException extends RuntimeException {
        private final int status;

        public RequestException(int status, String detail) {
            super(detail);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }
}
