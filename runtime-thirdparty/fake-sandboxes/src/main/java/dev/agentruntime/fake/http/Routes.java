package dev.agentruntime.fake.http;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A fake's REST surface as a Jetty handler: method + path template ({@code /sandboxes/{id}/pause}; {@code {path*}}
 * takes the rest of the path) to a route. An unknown path answers 404 and a known path with another method 405, a
 * thrown {@link HttpError} is written as is, and anything else thrown answers 500, all in the fake's
 * {@link ErrorShape}. Routes run on the server's threads and may block.
 *
 * <pre>{@code
 * Routes routes = new Routes(ErrorShape.codeAndMessage())
 *         .post("/sandboxes", ex -> ex.respond(201, create(ex.json())))
 *         .delete("/sandboxes/{id}", ex -> { kill(ex.pathParam("id")); ex.empty(204); });
 * }</pre>
 */
public final class Routes extends Handler.Abstract {

    private static final Logger log = LoggerFactory.getLogger(Routes.class);

    /** What a route does. */
    @FunctionalInterface
    public interface Route {
        void handle(Exchange exchange) throws Exception;
    }

    private record Entry(String method, String[] segments, Route route) {
    }

    private final ErrorShape shape;
    private final List<Entry> entries = new CopyOnWriteArrayList<>();

    public Routes(ErrorShape shape) {
        this.shape = shape;
    }

    public ErrorShape shape() {
        return shape;
    }

    public Routes add(String method, String template, Route route) {
        if (!template.startsWith("/")) {
            throw new IllegalArgumentException("template must start with /: " + template);
        }
        entries.add(new Entry(method, template.substring(1).split("/", -1), route));
        return this;
    }

    public Routes get(String template, Route route) {
        return add("GET", template, route);
    }

    public Routes post(String template, Route route) {
        return add("POST", template, route);
    }

    public Routes put(String template, Route route) {
        return add("PUT", template, route);
    }

    public Routes delete(String template, Route route) {
        return add("DELETE", template, route);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        String path = request.getHttpURI().getPath(); // still encoded: segments are decoded one by one
        String[] actual = path.substring(path.startsWith("/") ? 1 : 0).split("/", -1);
        boolean pathKnown = false;
        for (Entry entry : entries) {
            Map<String, String> params = match(entry.segments(), actual);
            if (params == null) {
                continue;
            }
            pathKnown = true;
            if (!entry.method().equalsIgnoreCase(request.getMethod())) {
                continue;
            }
            run(entry, new Exchange(request, response, callback, params, shape));
            return true;
        }
        HttpError error = pathKnown
                ? HttpError.of(shape, 405, "method " + request.getMethod() + " is not allowed on " + path)
                : HttpError.of(shape, 404, "no route for " + request.getMethod() + " " + path);
        error.write(request, response, callback);
        return true;
    }

    private void run(Entry entry, Exchange exchange) {
        try {
            entry.route().handle(exchange);
            if (!exchange.answered()) {
                throw new IllegalStateException("route " + exchange.method() + " " + exchange.path()
                        + " returned without answering");
            }
        } catch (HttpError e) {
            exchange.fail(e);
        } catch (Exception e) {
            log.warn("route {} {} failed", exchange.method(), exchange.path(), e);
            exchange.fail(HttpError.of(shape, 500, "internal error: " + e.getMessage()));
        }
    }

    private static Map<String, String> match(String[] template, String[] actual) {
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 0; i < template.length; i++) {
            String t = template[i];
            if (t.startsWith("{") && t.endsWith("*}")) {
                List<String> rest = new ArrayList<>();
                for (int j = i; j < actual.length; j++) {
                    rest.add(actual[j]);
                }
                params.put(t.substring(1, t.length() - 2), decode(String.join("/", rest)));
                return params;
            }
            if (i >= actual.length) {
                return null;
            }
            if (t.startsWith("{") && t.endsWith("}")) {
                if (actual[i].isEmpty()) {
                    return null;
                }
                params.put(t.substring(1, t.length() - 1), decode(actual[i]));
            } else if (!t.equals(actual[i])) {
                return null;
            }
        }
        return template.length == actual.length ? params : null;
    }

    private static String decode(String segment) {
        return URLDecoder.decode(segment.replace("+", "%2B"), StandardCharsets.UTF_8);
    }
}
