package dev.agentruntime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.Action;
import dev.agentruntime.Observation;
import dev.agentruntime.internal.OutputStreamFormat;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.internal.WireFormatException;
import dev.agentruntime.server.http.Exchange;
import dev.agentruntime.server.http.Http11Server;
import dev.agentruntime.server.http.HttpLimits;
import dev.agentruntime.server.http.RequestHead;
import dev.agentruntime.server.http.Route;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side of the server: OpenHands' endpoints on {@link Http11Server}. Every request is answered, bad input
 * with a 4xx JSON {@code {"detail": ...}}; the server keeps serving either way.
 *
 * <p>The session key, the path, the method and a declared body size are checked from the request head alone, on the
 * selector thread, before a byte of the body is read ({@link #route}); only requests that pass reach a worker.
 */
final class ActionServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ActionServer.class);

    /** Endpoints a client may call without the session key, as in OpenHands. */
    private static final java.util.Set<String> OPEN_PATHS = java.util.Set.of("/alive", "/server_info");
    /** Bodies up to this size do not count against the in-flight body budget. */
    private static final long SMALL_BODY = 64 * 1024;

    private final ServerOptions options;
    private final ServerLimits limits;
    private volatile ActionExecutor executor; // set by start(): the port is bound before the shell exists
    private final Map<String, Endpoint> endpoints;
    private final byte[] sessionKey;
    private final long startNanos = System.nanoTime();
    private final AtomicLong lastRequestNanos = new AtomicLong(System.nanoTime());
    private final AtomicInteger requestsInFlight = new AtomicInteger();
    private final AtomicLong lastActionNanos = new AtomicLong(System.nanoTime());
    /** KiB of large request bodies being read or held at once: two maximal bodies, so a burst cannot fill the heap. */
    private final Semaphore bodyBudget;
    private Http11Server http;
    private volatile boolean ready;

    /**
     * One endpoint: method, handler, and the largest body it accepts (-1: no limit here, the handler streams).
     */
    record Endpoint(String method, Route.Handler handler, long maxBody) {
        Endpoint(String method, Route.Handler handler) {
            this(method, handler, -1);
        }
    }

    ActionServer(ServerOptions options, Map<String, Endpoint> extraEndpoints) {
        this.options = options;
        this.limits = options.limits();
        this.sessionKey = options.sessionApiKey() == null ? null
                : options.sessionApiKey().getBytes(StandardCharsets.UTF_8);
        this.bodyBudget = new Semaphore((int) Math.min(Integer.MAX_VALUE / 2, limits.maxRequestBytes() * 2 / 1024 + 1));
        Map<String, Endpoint> all = new java.util.HashMap<>(extraEndpoints);
        all.put("/alive", new Endpoint("GET", this::alive, 0));
        all.put("/server_info", new Endpoint("GET", this::serverInfo, 0));
        all.put("/execute_action", new Endpoint("POST", this::executeAction, limits.maxRequestBytes()));
        all.put("/vscode/connection_token", new Endpoint("GET", this::vscodeToken, 0));
        all.put("/update_mcp_server", new Endpoint("POST", this::updateMcp, limits.maxRequestBytes()));
        this.endpoints = Map.copyOf(all);
    }

    /** Binds the port; requests are answered from now on ({@code /alive} says 503 until {@link #markReady()}). */
    void bind() throws IOException {
        HttpLimits httpLimits = HttpLimits.DEFAULTS.withMaxConnections(limits.maxConnections())
                .withHeadTimeout(limits.headTimeout());
        http = new Http11Server(new InetSocketAddress(options.bindAddress(), options.port()), httpLimits, this::route);
    }

    /** Starts answering (binds first if {@link #bind()} was not called). */
    void start(ActionExecutor actions) throws IOException {
        this.executor = actions;
        if (http == null) {
            bind();
        }
        http.start();
    }

    int port() {
        return http.port();
    }

    String connectionStats() {
        return http == null ? "" : http.stats();
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

    private static final byte[] ALIVE_OK = "{\"status\":\"ok\"}".getBytes(StandardCharsets.UTF_8);
    private static final byte[] ALIVE_NOT_READY = "{\"status\":\"not initialized\"}".getBytes(StandardCharsets.UTF_8);
    private static final byte[] INVALID_KEY = Route.detailJson("Invalid API Key");

    /** Runs on the selector thread: must not block. */
    private Route route(RequestHead head) {
        String raw = head.path();
        String path = raw.length() > 1 && raw.endsWith("/") ? raw.substring(0, raw.length() - 1) : raw;
        Endpoint endpoint = endpoints.get(path);
        if (endpoint == null) {
            return Route.detail(404, "Not Found: " + raw);
        }
        boolean open = OPEN_PATHS.contains(path);
        if (!open && !authorized(head)) {
            return Route.reply(403, INVALID_KEY);
        }
        if (!endpoint.method().equals(head.method())) {
            return Route.reply(405, Route.detailJson("Method Not Allowed: " + path + " takes " + endpoint.method()),
                    "Allow: " + endpoint.method());
        }
        if (endpoint.maxBody() >= 0 && head.contentLength() > Math.max(endpoint.maxBody(), 0)
                && !(endpoint.maxBody() == 0 && head.contentLength() <= 1024)) {
            return Route.detail(413, HttpIo.tooLarge(head.contentLength(), endpoint.maxBody()));
        }
        lastRequestNanos.set(System.nanoTime());
        if (path.equals("/alive")) {
            ActionExecutor actions = executor;
            boolean ok = ready && actions != null && actions.ready();
            return Route.reply(ok ? 200 : 503, ok ? ALIVE_OK : ALIVE_NOT_READY);
        }
        Route.Handler handler = endpoint.handler();
        return Route.handle(exchange -> counted(exchange, handler), !open && sessionKey != null);
    }

    private void counted(Exchange exchange, Route.Handler handler) throws IOException {
        requestsInFlight.incrementAndGet();
        lastRequestNanos.set(System.nanoTime());
        try {
            answer(exchange, handler);
        } finally {
            // a command may run for longer than the idle timeout: idleness counts from the end of the last request
            lastRequestNanos.set(System.nanoTime());
            requestsInFlight.decrementAndGet();
        }
    }

    private void answer(Exchange exchange, Route.Handler handler) throws IOException {
        try {
            handler.handle(exchange);
        } catch (WireFormatException e) {
            replyError(exchange, e.status(), e.getMessage());
        } catch (HttpIo.RequestException e) {
            replyError(exchange, e.status(), e.getMessage());
        } catch (RuntimeException e) {
            log.error("{} {} failed", exchange.method(), exchange.path(), e);
            replyError(exchange, 500, "Internal server error: " + e);
        }
    }

    private static void replyError(Exchange exchange, int status, String detail) throws IOException {
        if (!exchange.responseStarted()) {
            HttpIo.sendError(exchange, status, detail);
        }
    }

    private boolean authorized(RequestHead head) {
        if (sessionKey == null) {
            return true;
        }
        byte[] given = head.headerBytes("x-session-api-key");
        return given != null && MessageDigest.isEqual(given, sessionKey);
    }

    private void alive(Exchange exchange) throws IOException {
        boolean ok = ready && executor.ready();
        byte[] body = ok ? ALIVE_OK : ALIVE_NOT_READY;
        exchange.send(ok ? 200 : 503, "application/json", body, 0, body.length);
    }

    private void serverInfo(Exchange exchange) throws IOException {
        ObjectNode body = WireCodec.MAPPER.createObjectNode();
        body.put("uptime", (System.nanoTime() - startNanos) / 1e9);
        body.put("idle_time", (System.nanoTime() - lastActionNanos.get()) / 1e9);
        body.set("resources", SystemStats.collect());
        HttpIo.sendJson(exchange, 200, body);
    }

    private void executeAction(Exchange exchange) throws IOException {
        lastActionNanos.set(System.nanoTime());
        long declared = exchange.head().contentLength();
        int permits = declared >= 0 && declared <= SMALL_BODY ? 0
                : (int) (Math.min(declared < 0 ? limits.maxRequestBytes() : declared, limits.maxRequestBytes()) / 1024 + 1);
        try {
            if (permits > 0 && !bodyBudget.tryAcquire(permits, 60, TimeUnit.SECONDS)) {
                throw new HttpIo.RequestException(503, "The server is busy with other large requests; retry later");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HttpIo.RequestException(503, "Interrupted while waiting to read the request");
        }
        try {
            JsonNode body = HttpIo.readJson(exchange, limits.maxRequestBytes());
            if (!body.isObject() || !body.has("action")) {
                throw new WireFormatException(422, "Invalid request parameters: the body must be {\"action\": {...}}");
            }
            JsonNode actionNode = body.get("action");
            ActionChecks.check(actionNode, limits); // before anything runs: 413/422 for what must not reach the shell
            Action action = WireCodec.decodeAction(actionNode);
            body = null; // the tree may be large; the action holds what is needed
            if (OutputStreamFormat.wanted(exchange.requestHeader("Accept"))) {
                executeStreamed(exchange, action, actionNode.path("args"));
                return;
            }
            ExchangeAnswer answer = new ExchangeAnswer(exchange);
            executor.execute(action, actionNode.path("args"), answer);
            answer.awaitDelivered(); // the watchdog may be writing the answer for us
        } finally {
            if (permits > 0) {
                bodyBudget.release(permits);
            }
        }
    }

    /** The opt-in streamed answer: output events while the command runs, then the same observation line. */
    private void executeStreamed(Exchange exchange, Action action, JsonNode args) throws IOException {
        StreamedAnswer answer = new StreamedAnswer(exchange);
        try {
            executor.execute(action, args, answer);
        } catch (WireFormatException e) {
            answer.fail(e.status(), e.getMessage());
            return;
        } catch (HttpIo.RequestException e) {
            answer.fail(e.status(), e.getMessage());
            return;
        } catch (RuntimeException e) {
            log.error("{} {} failed", exchange.method(), exchange.path(), e);
            answer.fail(500, "Internal server error: " + e);
            return;
        }
        answer.awaitDelivered();
    }

    /** Answers an action on its exchange, once, from whichever thread claims it. */
    private static final class ExchangeAnswer implements ActionExecutor.Answer {
        private final Exchange exchange;
        private final AtomicBoolean claimed = new AtomicBoolean();
        private final CountDownLatch delivered = new CountDownLatch(1);
        private volatile IOException failure;

        ExchangeAnswer(Exchange exchange) {
            this.exchange = exchange;
        }

        @Override
        public boolean claim() {
            return claimed.compareAndSet(false, true);
        }

        @Override
        public void deliver(Observation observation) {
            try {
                HttpIo.sendJson(exchange, 200, WireCodec.encodeObservation(observation));
            } catch (IOException e) {
                failure = e;
            } catch (RuntimeException | OutOfMemoryError e) {
                // The action ran: say so, with a body that needs no memory to build.
                log.error("cannot encode the observation of an action that ran", e);
                try {
                    byte[] detail = Route.detailJson("The action ran, but its observation could not be sent: " + e);
                    if (!exchange.responseStarted()) {
                        exchange.send(500, "application/json", detail, 0, detail.length);
                    }
                } catch (IOException | RuntimeException ignored) {
                    // the connection is closed
                }
            } finally {
                delivered.countDown();
            }
        }

        void awaitDelivered() throws IOException {
            if (!claimed.get()) {
                return; // the action threw before answering: the caller sends the error
            }
            try {
                delivered.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (failure != null) {
                throw failure;
            }
        }
    }

    private void vscodeToken(Exchange exchange) throws IOException {
        ObjectNode body = WireCodec.MAPPER.createObjectNode();
        body.putNull("token");
        HttpIo.sendJson(exchange, 200, body);
    }

    private void updateMcp(Exchange exchange) throws IOException {
        JsonNode body = HttpIo.readJson(exchange, limits.maxRequestBytes());
        if (!body.isArray()) {
            throw new HttpIo.RequestException(400, "Request must be a list of MCP tools to sync");
        }
        ObjectNode answer = WireCodec.MAPPER.createObjectNode();
        answer.put("detail", "MCP server update skipped (MCP is not supported by this runtime)");
        answer.put("router_error_log", "");
        HttpIo.sendJson(exchange, 200, answer);
    }

    @Override
    public void close() {
        if (http != null) {
            http.close();
        }
    }
}
