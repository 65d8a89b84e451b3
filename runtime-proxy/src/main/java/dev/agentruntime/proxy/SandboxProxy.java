package dev.agentruntime.proxy;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.proxy.ProxyHandler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * A streaming reverse proxy into sandboxes, on Jetty 12 core's {@link ProxyHandler}: a {@link Router} says whether a
 * request is for a sandbox and where it goes (a base URL, which may carry a path prefix, the path to ask for, headers
 * to add such as the sandbox's session key), an {@link Authorizer} checks it first, and then any method, the headers
 * (minus hop-by-hop ones, those named in {@link Builder#removeRequestHeaders} and those the route replaces) and
 * chunked or fixed-length bodies flow both ways as they arrive — never held whole, so a 1 GiB upload passes a proxy
 * with a 128 MiB heap. A sandbox that cannot be reached gets what {@link Builder#unreachable} answers (502 by default).
 * Requests the router declines fall through to the next handler.
 *
 * <pre>{@code
 * SandboxProxy proxy = SandboxProxy.builder()
 *         .router(request -> routeByFirstPathSegment(request))      // Optional<Route>, or throw Refusal 404
 *         .authorizer((request, route) -> checkSessionKey(request, route)) // throw Refusal 403
 *         .removeRequestHeaders("X-API-Key")
 *         .idleTimeout(Duration.ofHours(1))                          // longer than the longest action
 *         .build();
 * server.setHandler(new Handler.Sequence(proxy, api));
 * }</pre>
 */
public final class SandboxProxy extends ProxyHandler {

    private static final String ROUTE = SandboxProxy.class.getName() + ".route";
    private static final String STARTED = SandboxProxy.class.getName() + ".started";

    /** One header the proxy sets on the forwarded request; its value never prints. */
    public record Header(String name, String value) {
        public Header {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
        }

        @Override
        public String toString() {
            return name + ": (set)";
        }
    }

    /**
     * Where a request goes.
     *
     * @param sandboxId    for errors, logs and metrics
     * @param tenant       who the sandbox belongs to, for logs and metrics (may be empty)
     * @param target       {@code http://host:port[/prefix]}: the sandbox port, possibly behind a path prefix
     * @param pathAndQuery the path (and query) to ask for below {@code target}, starting with {@code /}
     * @param headers      headers to set on the forwarded request (replacing any the client sent)
     */
    public record Route(String sandboxId, String tenant, URI target, String pathAndQuery, List<Header> headers) {
        public Route {
            Objects.requireNonNull(sandboxId, "sandboxId");
            tenant = Objects.requireNonNullElse(tenant, "");
            Objects.requireNonNull(target, "target");
            pathAndQuery = pathAndQuery == null || pathAndQuery.isEmpty() ? "/" : pathAndQuery;
            headers = List.copyOf(Objects.requireNonNullElse(headers, List.of()));
        }
    }

    /** Decides whether a request is for a sandbox; may throw {@link Refusal} (unknown sandbox, paused ...). */
    @FunctionalInterface
    public interface Router {
        java.util.Optional<Route> route(Request request);
    }

    /** Checks a routed request before it is forwarded; throws {@link Refusal} to refuse it. */
    @FunctionalInterface
    public interface Authorizer {
        void check(Request request, Route route);
    }

    /** The answer when the sandbox cannot be reached (nothing was sent back yet). */
    @FunctionalInterface
    public interface Unreachable {
        Refusal answer(Route route, Throwable failure);
    }

    /** Told about every forwarded exchange once it ended, for metrics and logs. */
    @FunctionalInterface
    public interface Observer {
        /** @param status the status sent to the client, or -1 when the exchange broke off */
        void exchanged(Route route, Request request, int status, long nanos);
    }

    private final Router router;
    private final Authorizer authorizer;
    private final Unreachable unreachable;
    private final Observer observer;
    private final Set<String> removed;
    private final Duration idleTimeout;
    private final Duration connectTimeout;

    private SandboxProxy(Builder b) {
        this.router = Objects.requireNonNull(b.router, "a router is required");
        this.authorizer = b.authorizer;
        this.unreachable = b.unreachable;
        this.observer = b.observer;
        this.removed = Set.copyOf(b.removed);
        this.idleTimeout = b.idleTimeout;
        this.connectTimeout = b.connectTimeout;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        Route route;
        try {
            route = router.route(request).orElse(null);
            if (route == null) {
                return false;
            }
            authorizer.check(request, route);
        } catch (Refusal refusal) {
            refusal.write(response, callback);
            return true;
        }
        request.setAttribute(ROUTE, route);
        request.setAttribute(STARTED, System.nanoTime());
        return super.handle(request, response, callback);
    }

    /** The route of a request this proxy handles, for request logs. */
    public static java.util.Optional<Route> routeOf(Request request) {
        return java.util.Optional.ofNullable((Route) request.getAttribute(ROUTE));
    }

    @Override
    protected HttpURI rewriteHttpURI(Request request) {
        Route route = (Route) request.getAttribute(ROUTE);
        URI target = route.target();
        String prefix = target.getRawPath() == null ? "" : target.getRawPath().replaceAll("/+$", "");
        return HttpURI.build().scheme(target.getScheme()).host(target.getHost())
                .port(target.getPort()).pathQuery(prefix + route.pathAndQuery());
    }

    @Override
    protected void copyRequestHeaders(Request clientToProxyRequest,
            org.eclipse.jetty.client.Request proxyToServerRequest) {
        super.copyRequestHeaders(clientToProxyRequest, proxyToServerRequest);
        Route route = (Route) clientToProxyRequest.getAttribute(ROUTE);
        proxyToServerRequest.headers(headers -> {
            removed.forEach(headers::remove);
            for (Header header : route.headers()) {
                headers.put(header.name(), header.value());
            }
        });
    }

    @Override
    protected void addProxyHeaders(Request clientToProxyRequest,
            org.eclipse.jetty.client.Request proxyToServerRequest) {
        // No Via / Forwarded: the sandbox's server has no use for them and they would name the gateway's clients.
    }

    @Override
    protected HttpClient newHttpClient() {
        QueuedThreadPool pool = new QueuedThreadPool();
        pool.setName("agent-runtime-proxy-client");
        pool.setDaemon(true);
        HttpClient client = new HttpClient();
        client.setExecutor(pool);
        return client;
    }

    @Override
    protected void configureHttpClient(HttpClient httpClient) {
        super.configureHttpClient(httpClient);
        httpClient.setIdleTimeout(idleTimeout.toMillis());
        httpClient.setConnectTimeout(connectTimeout.toMillis());
        httpClient.setMaxConnectionsPerDestination(256);
    }

    @Override
    protected void onServerToProxyResponseFailure(Request clientToProxyRequest,
            org.eclipse.jetty.client.Request proxyToServerRequest,
            org.eclipse.jetty.client.Response serverToProxyResponse, Response proxyToClientResponse,
            Callback proxyToClientCallback, Throwable failure) {
        Route route = (Route) clientToProxyRequest.getAttribute(ROUTE);
        if (proxyToClientResponse.isCommitted()) {
            observe(clientToProxyRequest, route, -1);
            super.onServerToProxyResponseFailure(clientToProxyRequest, proxyToServerRequest, serverToProxyResponse,
                    proxyToClientResponse, proxyToClientCallback, failure);
            return;
        }
        proxyToClientResponse.reset();
        Refusal answer = unreachable.answer(route, failure);
        observe(clientToProxyRequest, route, answer.status());
        answer.write(proxyToClientResponse, proxyToClientCallback);
    }

    @Override
    protected void onProxyToClientResponseComplete(Request clientToProxyRequest,
            org.eclipse.jetty.client.Request proxyToServerRequest,
            org.eclipse.jetty.client.Response serverToProxyResponse, Response proxyToClientResponse,
            Callback proxyToClientCallback) {
        observe(clientToProxyRequest, (Route) clientToProxyRequest.getAttribute(ROUTE),
                proxyToClientResponse.getStatus());
        super.onProxyToClientResponseComplete(clientToProxyRequest, proxyToServerRequest, serverToProxyResponse,
                proxyToClientResponse, proxyToClientCallback);
    }

    @Override
    protected void onProxyToClientResponseFailure(Request clientToProxyRequest,
            org.eclipse.jetty.client.Request proxyToServerRequest,
            org.eclipse.jetty.client.Response serverToProxyResponse, Response proxyToClientResponse,
            Callback proxyToClientCallback, Throwable failure) {
        observe(clientToProxyRequest, (Route) clientToProxyRequest.getAttribute(ROUTE), -1);
        super.onProxyToClientResponseFailure(clientToProxyRequest, proxyToServerRequest, serverToProxyResponse,
                proxyToClientResponse, proxyToClientCallback, failure);
    }

    private void observe(Request request, Route route, int status) {
        Object started = request.getAttribute(STARTED);
        if (route == null || !(started instanceof Long nanos)) {
            return;
        }
        request.removeAttribute(STARTED); // once per exchange
        try {
            observer.exchanged(route, request, status, System.nanoTime() - nanos);
        } catch (RuntimeException ignored) {
            // an observer's bug must not break the exchange
        }
    }

    /** Builds a {@link SandboxProxy}. */
    public static final class Builder {
        private Router router;
        private Authorizer authorizer = (request, route) -> {
        };
        private Unreachable unreachable = (route, failure) -> Refusal.json(502,
                "{\"detail\": \"Sandbox " + route.sandboxId().replace("\"", "") + " does not answer\"}");
        private Observer observer = (route, request, status, nanos) -> {
        };
        private final Set<String> removed = new TreeSet<>();
        private Duration idleTimeout = Duration.ofMinutes(2);
        private Duration connectTimeout = Duration.ofSeconds(5);

        public Builder router(Router value) {
            this.router = value;
            return this;
        }

        public Builder authorizer(Authorizer value) {
            this.authorizer = Objects.requireNonNull(value);
            return this;
        }

        public Builder unreachable(Unreachable value) {
            this.unreachable = Objects.requireNonNull(value);
            return this;
        }

        public Builder observer(Observer value) {
            this.observer = Objects.requireNonNull(value);
            return this;
        }

        /** Headers that stay at the proxy (API keys, vendor access tokens). */
        public Builder removeRequestHeaders(String... names) {
            for (String name : names) {
                removed.add(name.toLowerCase(Locale.ROOT));
            }
            return this;
        }

        /** How long a forwarded exchange may be silent (default 2 min): longer than the longest action. */
        public Builder idleTimeout(Duration value) {
            this.idleTimeout = Objects.requireNonNull(value);
            return this;
        }

        public Builder connectTimeout(Duration value) {
            this.connectTimeout = Objects.requireNonNull(value);
            return this;
        }

        public SandboxProxy build() {
            return new SandboxProxy(this);
        }
    }
}
