package dev.agentruntime.proxy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * An HTTP answer given instead of a normal one (the proxy's instead of forwarding, an API's error): status, headers, a body in the caller's error shape
 * (OpenHands' {@code {"detail": ...}}, a vendor's {@code {"message": ...}}). Thrown by routers and authorizers, made
 * by the unreachable handler.
 */
public final class Refusal extends RuntimeException {

    private final int status;
    private final Map<String, String> headers;
    private final String contentType;
    private final byte[] body;

    public Refusal(int status, Map<String, String> headers, String contentType, byte[] body) {
        super("HTTP " + status + ": " + new String(body, 0, Math.min(body.length, 300), StandardCharsets.UTF_8), null,
                false, false);
        this.status = status;
        this.headers = Map.copyOf(headers);
        this.contentType = contentType;
        this.body = body.clone();
    }

    /** A JSON answer; {@code json} must already be JSON text. */
    public static Refusal json(int status, String json) {
        return new Refusal(status, Map.of(), "application/json", json.getBytes(StandardCharsets.UTF_8));
    }

    /** The same answer with one more header (e.g. {@code Retry-After}). */
    public Refusal withHeader(String name, String value) {
        Map<String, String> more = new LinkedHashMap<>(headers);
        more.put(name, value);
        return new Refusal(status, more, contentType, body);
    }

    public int status() {
        return status;
    }

    public Map<String, String> headers() {
        return headers;
    }

    public byte[] body() {
        return body.clone();
    }

    /** Writes the answer, or aborts the exchange when a response was already committed. */
    public void write(Response response, Callback callback) {
        if (response.isCommitted()) {
            callback.failed(this);
            return;
        }
        response.setStatus(status);
        headers.forEach((k, v) -> response.getHeaders().put(k, v));
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    /** For handlers that write a refusal for a request they hold. */
    public void write(Request request, Response response, Callback callback) {
        write(response, callback);
    }
}
