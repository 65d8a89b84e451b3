package dev.agentruntime.server.http;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * What {@link Router} decided for a request head: a short answer written at once by the selector thread (refusals,
 * {@code /alive}), or a handler that runs on a worker thread and may read the body.
 */
public final class Route {

    /** Handles one request on a worker thread; must answer it (an unanswered exchange becomes a 500). */
    @FunctionalInterface
    public interface Handler {
        void handle(Exchange exchange) throws IOException;
    }

    final int status;
    final byte[] body;
    final String extraHeader;
    final Handler handler;
    final boolean keyProven;

    private Route(int status, byte[] body, String extraHeader, Handler handler, boolean keyProven) {
        this.status = status;
        this.body = body;
        this.extraHeader = extraHeader;
        this.handler = handler;
        this.keyProven = keyProven;
    }

    /** Answers at once with a JSON body, without reading the request body. */
    public static Route reply(int status, byte[] json) {
        return new Route(status, json, null, null, false);
    }

    /** Answers at once with a JSON body and one extra header line ({@code "Allow: POST"}). */
    public static Route reply(int status, byte[] json, String headerLine) {
        return new Route(status, json, headerLine, null, false);
    }

    /** A {@code {"detail": ...}} answer. */
    public static Route detail(int status, String detail) {
        return reply(status, detailJson(detail));
    }

    /**
     * Runs {@code handler} on a worker.
     *
     * @param keyProven whether the request carried the session key: such a connection may idle longer and is the
     *                  last to be closed when connections run out
     */
    public static Route handle(Handler handler, boolean keyProven) {
        return new Route(0, null, null, handler, keyProven);
    }

    boolean inline() {
        return handler == null;
    }

    /** {@code {"detail": "..."}} as bytes, escaping what JSON needs escaped. */
    public static byte[] detailJson(String detail) {
        StringBuilder out = new StringBuilder(detail.length() + 16).append("{\"detail\":\"");
        for (int i = 0; i < detail.length(); i++) {
            char c = detail.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20 || Character.isSurrogate(c)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append("\"}").toString().getBytes(StandardCharsets.UTF_8);
    }
}
