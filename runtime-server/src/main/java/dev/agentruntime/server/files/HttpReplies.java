package dev.agentruntime.server.files;

import dev.agentruntime.server.http.Exchange;
import dev.agentruntime.server.HttpIo;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** JSON replies, {@code {"detail": ...}} errors and query parsing for the transfer endpoints. */
final class HttpReplies {

    private HttpReplies() {
    }

    /** A request we answer with a 4xx and {@code {"detail": message}}. */
    static final class HttpError extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;

        HttpError(int status, String detail) {
            super(detail, null, false, false);
            this.status = status;
        }
    }

    static void json(Exchange ex, int status, Object body) throws IOException {
        HttpIo.sendJson(ex, status, body);
    }

    static void error(Exchange ex, int status, String detail) throws IOException {
        HttpIo.sendError(ex, status, detail);
    }

    /** Whether the status line already went out (then an error can only abort the response). */
    static boolean responseStarted(Exchange ex) {
        return ex.responseCode() != -1;
    }

    static Map<String, String> query(Exchange ex) throws HttpError {
        Map<String, String> params = new LinkedHashMap<>();
        String raw = ex.rawQuery();
        if (raw == null || raw.isEmpty()) {
            return params;
        }
        try {
            for (String pair : raw.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                params.putIfAbsent(key, value);
            }
        } catch (IllegalArgumentException e) {
            throw new HttpError(400, "Malformed query string: " + e.getMessage());
        }
        return params;
    }

    /** A boolean query parameter as FastAPI/pydantic read one (true/false, 1/0, yes/no, on/off, t/f, y/n). */
    static boolean bool(Map<String, String> query, String name, boolean fallback) throws HttpError {
        String value = query.get(name);
        if (value == null) {
            return fallback;
        }
        switch (value.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1", "yes", "on", "t", "y" -> {
                return true;
            }
            case "false", "0", "no", "off", "f", "n" -> {
                return false;
            }
            default -> throw new HttpError(400, "Query parameter '" + name + "' must be true or false, got '" + value + "'");
        }
    }

    static void requireMethod(Exchange ex, String method) throws HttpError {
        if (!ex.method().equalsIgnoreCase(method)) {
            ex.responseHeader("Allow", method);
            throw new HttpError(405, "Method Not Allowed");
        }
    }
}
