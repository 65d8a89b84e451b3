package dev.agentruntime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.agentruntime.Action;
import dev.agentruntime.Observation;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.internal.WireFormatException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side of the server: OpenHands' endpoints on the JDK's HttpServer. Every request is answered, bad input
 * with a 4xx JSON {@code {"detail": ...}}, unexpected failures with a 500 — the server keeps serving either way.
 */
final class ActionServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ActionServer.class);

    /** Endpoints a client may call without the session key, as in OpenHands. */
    private static final java.util.Set<String> OPEN_PATHS = java.util.Set.of("/alive", "/server_info");

    private final ServerOptions options;
    private final ActionExecutor executor;
    private final Map<String, Endpoint> endpoints;
    private final long startNanos = System.nanoTime();
    private final AtomicLong lastRequestNanos = new AtomicLong(System.nanoTime());
    private final AtomicInteger requestsInFlight = new AtomicInteger();
    private final AtomicLong lastActionNanos = new AtomicLong(System.nanoTime());
    private final ExecutorService threads;
    private HttpServer http;
    private volatile boolean ready;

    /** One endpoint: method and handler. */
    record Endpoint(String method, Handler handler) {
    }

    @FunctionalInterface
    interface Handler {
        void handle(HttpExchange exchange) throws IOException;
    }

    ActionServer(ServerOptions options, ActionExecutor executor, Map<String, Endpoint> extraEndpoints) {
        this.options = options;
        this.executor = executor;
        AtomicInteger count = new AtomicInteger();
        // Cached, not fixed: actions queue on the executor's lock while holding a request thread, and /alive must
        // still be answered when many clients wait.
        this.threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "agent-runtime-http-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        Map<String, Endpoint> all = new java.util.HashMap<>(extraEndpoints);
        all.put("/alive", new Endpoint("GET", this::alive));
        all.put("/server_info", new Endpoint("GET", this::serverInfo));
        all.put("/execute_action", new Endpoint("POST", this::executeAction));
        all.put("/vscode/connection_token", new Endpoint("GET", this::vscodeToken));
        all.put("/update_mcp_server", new Endpoint("POST", this::updateMcp));
        this.endpoints = Map.copyOf(all);
    }

    /** Binds the port; requests are answered from now on ({@code /alive} says 503 until {@link #markReady()}). */
    void start() throws IOException {
        http = HttpServer.create(new InetSocketAddress(options.bindAddress(), options.port()), 128);
        http.setExecutor(threads);
        http.createContext("/", this::route);
        http.start();
    }

    int port() {
        return http.getAddress().getPort();
    }

    void markReady() {
        lastRequestNanos.set(System.nanoTime()); // idleness counts from readiness: a slow start is not idle time
        ready = true;
    }

    /** Nanos since the last request of any kind ended; 0 while one is being answered (for the idle exit). */
    long idleNanos() {
        if (requestsInFlight.get() > 0) {
            return 0;
        }
        return System.nanoTime() - lastRequestNanos.get();
    }

    private void route(HttpExchange exchange) {
        requestsInFlight.incrementAndGet();
        lastRequestNanos.set(System.nanoTime());
        try {
            answer(exchange);
        } finally {
            // a command may run for longer than the idle timeout: idleness counts from the end of the last request
            lastRequestNanos.set(System.nanoTime());
            requestsInFlight.decrementAndGet();
        }
    }

    private void answer(HttpExchange exchange) {
        String path = exchange.getRequestURI().getPath();
        try (exchange) {
            try {
                Endpoint endpoint = endpoints.get(path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path);
                if (endpoint == null) {
                    drain(exchange);
                    HttpIo.sendError(exchange, 404, "Not Found: " + path);
                    return;
                }
                if (!OPEN_PATHS.contains(path) && !authorized(exchange)) {
                    drain(exchange);
                    HttpIo.sendError(exchange, 403, "Invalid API Key");
                    return;
                }
                if (!endpoint.method().equals(exchange.getRequestMethod())) {
                    drain(exchange);
                    exchange.getResponseHeaders().set("Allow", endpoint.method());
                    HttpIo.sendError(exchange, 405, "Method Not Allowed: " + path + " takes " + endpoint.method());
                    return;
                }
                endpoint.handler().handle(exchange);
            } catch (WireFormatException e) {
                HttpIo.sendError(exchange, e.status(), e.getMessage());
            } catch (HttpIo.RequestException e) {
                HttpIo.sendError(exchange, e.status(), e.getMessage());
            } catch (RuntimeException e) {
                log.error("{} {} failed", exchange.getRequestMethod(), path, e);
                HttpIo.sendError(exchange, 500, "Internal server error: " + e);
            }
        } catch (IOException e) {
            log.debug("{} {}: client went away: {}", exchange.getRequestMethod(), path, e.toString());
        } catch (RuntimeException e) {
            log.warn("{} {}: response failed: {}", exchange.getRequestMethod(), path, e.toString());
        }
    }

    private boolean authorized(HttpExchange exchange) {
        if (options.sessionApiKey() == null) {
            return true;
        }
        String given = exchange.getRequestHeaders().getFirst("X-Session-API-Key");
        return given != null && MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8),
                options.sessionApiKey().getBytes(StandardCharsets.UTF_8));
    }

    private static final byte[] ALIVE_OK = "{\"status\":\"ok\"}".getBytes(StandardCharsets.UTF_8);
    private static final byte[] ALIVE_NOT_READY = "{\"status\":\"not initialized\"}".getBytes(StandardCharsets.UTF_8);

    /** Constant bodies, no JSON mapper: readiness probes arrive before the codec is loaded and must not wait for it. */
    private void alive(HttpExchange exchange) throws IOException {
        boolean ok = ready && executor.ready();
        byte[] body = ok ? ALIVE_OK : ALIVE_NOT_READY;
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(ok ? 200 : 503, body.length);
        try (java.io.OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private void serverInfo(HttpExchange exchange) throws IOException {
        ObjectNode body = WireCodec.MAPPER.createObjectNode();
        body.put("uptime", (System.nanoTime() - startNanos) / 1e9);
        body.put("idle_time", (System.nanoTime() - lastActionNanos.get()) / 1e9);
        body.set("resources", SystemStats.collect());
        HttpIo.sendJson(exchange, 200, body);
    }

    private void executeAction(HttpExchange exchange) throws IOException {
        lastActionNanos.set(System.nanoTime());
        JsonNode body = WireCodec.parse(HttpIo.readBody(exchange));
        if (!body.isObject() || !body.has("action")) {
            throw new WireFormatException(422, "Invalid request parameters: the body must be {\"action\": {...}}");
        }
        JsonNode actionNode = body.get("action");
        Action action = WireCodec.decodeAction(actionNode);
        Observation observation = executor.execute(action, actionNode.path("args"));
        HttpIo.sendJson(exchange, 200, WireCodec.encodeObservation(observation));
    }

    private void vscodeToken(HttpExchange exchange) throws IOException {
        ObjectNode body = WireCodec.MAPPER.createObjectNode();
        body.putNull("token");
        HttpIo.sendJson(exchange, 200, body);
    }

    private void updateMcp(HttpExchange exchange) throws IOException {
        JsonNode body = WireCodec.parse(HttpIo.readBody(exchange));
        if (!body.isArray()) {
            throw new HttpIo.RequestException(400, "Request must be a list of MCP tools to sync");
        }
        ObjectNode answer = WireCodec.MAPPER.createObjectNode();
        answer.put("detail", "MCP server update skipped (MCP is not supported by this runtime)");
        answer.put("router_error_log", "");
        HttpIo.sendJson(exchange, 200, answer);
    }

    private static void drain(HttpExchange exchange) {
        try {
            exchange.getRequestBody().transferTo(java.io.OutputStream.nullOutputStream());
        } catch (IOException ignored) {
            // the response is what matters
        }
    }

    @Override
    public void close() {
        if (http != null) {
            http.stop(0);
        }
        threads.shutdownNow();
    }
}
