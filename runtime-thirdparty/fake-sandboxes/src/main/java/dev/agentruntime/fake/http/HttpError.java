package dev.agentruntime.fake.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * An HTTP answer a fake gives instead of a normal one: status, headers and a body in the vendor's error shape. Thrown
 * from routes, validators, routers and authorizers; written by {@link Routes}, {@link SandboxProxy} and
 * {@link Faults}.
 */
public final class HttpError extends RuntimeException {

    private final int status;
    private final Map<String, String> headers;
    private final String contentType;
    private final byte[] body;

    public HttpError(int status, Map<String, String> headers, String contentType, byte[] body) {
        super("HTTP " + status + ": " + new String(body, 0, Math.min(body.length, 300), StandardCharsets.UTF_8), null,
                false, false);
        this.status = status;
        this.headers = Map.copyOf(headers);
        this.contentType = contentType;
        this.body = body.clone();
    }

    /** A JSON body (anything Jackson can write). */
    public static HttpError json(int status, Object body) {
        return new HttpError(status, Map.of(), "application/json", Json.bytes(body));
    }

    /** A body in a vendor's error shape. */
    public static HttpError of(ErrorShape shape, int status, String message) {
        return json(status, shape.body(status, message));
    }

    public static HttpError text(int status, String body) {
        return new HttpError(status, Map.of(), "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
    }

    /** The same answer with one more header. */
    public HttpError withHeader(String name, String value) {
        Map<String, String> more = new LinkedHashMap<>(headers);
        more.put(name, value);
        return new HttpError(status, more, contentType, body);
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
    public void write(Request request, Response response, Callback callback) {
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
}
