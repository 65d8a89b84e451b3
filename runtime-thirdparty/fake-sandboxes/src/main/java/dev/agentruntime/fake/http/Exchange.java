package dev.agentruntime.fake.http;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * One request to a route of a fake and its answer. A route answers exactly once: {@link #respond}, {@link #empty},
 * {@link #bytes}, {@link #stream} (closing the stream completes the answer), or {@link #detach()} to answer later from
 * another thread through {@link #request()}, {@link #response()} and {@link #callback()}.
 */
public final class Exchange {

    private final Request request;
    private final Response response;
    private final Callback callback;
    private final Map<String, String> pathParams;
    private final ErrorShape shape;
    private final AtomicBoolean answered = new AtomicBoolean();
    private Fields query;

    Exchange(Request request, Response response, Callback callback, Map<String, String> pathParams,
            ErrorShape shape) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.pathParams = pathParams;
        this.shape = shape;
    }

    public Request request() {
        return request;
    }

    public Response response() {
        return response;
    }

    public Callback callback() {
        return callback;
    }

    public String method() {
        return request.getMethod();
    }

    public String path() {
        return Request.getPathInContext(request);
    }

    /** A {@code {name}} of the route's template (decoded). */
    public String pathParam(String name) {
        String value = pathParams.get(name);
        if (value == null) {
            throw new IllegalArgumentException("route has no path parameter " + name);
        }
        return value;
    }

    public Optional<String> query(String name) {
        if (query == null) {
            query = Request.extractQueryParameters(request);
        }
        return Optional.ofNullable(query.getValue(name));
    }

    public Optional<String> header(String name) {
        return Optional.ofNullable(request.getHeaders().get(name));
    }

    /** A header the vendor requires; its absence answers {@code status} in the vendor's shape. */
    public String requireHeader(String name, int status, String message) {
        return header(name).filter(v -> !v.isBlank()).orElseThrow(() -> HttpError.of(shape, status, message));
    }

    /** The request body as a stream (never held whole). */
    public InputStream body() {
        return Content.Source.asInputStream(request);
    }

    /** The body as JSON; malformed or missing JSON answers 400 in the vendor's shape. */
    public JsonNode json() {
        byte[] bytes;
        try (InputStream in = body()) {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw HttpError.of(shape, 400, "cannot read the request body: " + e.getMessage());
        }
        return Json.parse(bytes).orElseThrow(() -> HttpError.of(shape, 400, bytes.length == 0
                ? "request body is missing" : "request body is not valid JSON"));
    }

    /** Sets a response header (before answering). */
    public Exchange header(String name, String value) {
        response.getHeaders().put(name, value);
        return this;
    }

    /** Answers JSON (anything Jackson can write). */
    public void respond(int status, Object body) {
        bytes(status, "application/json", Json.bytes(body));
    }

    /** Answers with no body. */
    public void empty(int status) {
        claim();
        response.setStatus(status);
        response.write(true, null, callback);
    }

    public void bytes(int status, String contentType, byte[] body) {
        claim();
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    /**
     * Starts a streamed answer (chunked unless a {@code Content-Length} header was set); every write blocks until the
     * client took it, {@code flush()} sends what was written, {@code close()} ends the answer.
     */
    public OutputStream stream(int status, String contentType) {
        claim();
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        OutputStream out = Content.Sink.asOutputStream(response);
        return new OutputStream() {
            private boolean closed;

            @Override
            public void write(int b) throws IOException {
                out.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void flush() throws IOException {
                out.flush();
            }

            @Override
            public void close() throws IOException {
                if (closed) {
                    return;
                }
                closed = true;
                try {
                    out.close();
                    callback.succeeded();
                } catch (IOException | RuntimeException e) {
                    callback.failed(e);
                    throw e;
                }
            }
        };
    }

    /** The route answers later, on its own; it must complete {@link #callback()}. */
    public void detach() {
        claim();
    }

    /** Answers an error in this fake's shape. */
    public void error(int status, String message) {
        fail(HttpError.of(shape, status, message));
    }

    void fail(HttpError error) {
        if (answered.compareAndSet(false, true)) {
            error.write(request, response, callback);
        } else if (!response.isCommitted()) {
            // a stream was opened but nothing sent: still abort rather than answer twice
            callback.failed(error);
        }
    }

    boolean answered() {
        return answered.get();
    }

    private void claim() {
        if (!answered.compareAndSet(false, true)) {
            throw new IllegalStateException("route answered " + method() + " " + path() + " twice");
        }
    }

    /** Reads the whole body (for small bodies). */
    public byte[] bodyBytes() {
        try (InputStream in = body()) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
