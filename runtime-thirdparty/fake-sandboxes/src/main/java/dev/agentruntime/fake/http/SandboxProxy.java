package dev.agentruntime.fake.http;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.proxy.ProxyHandler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * A streaming reverse proxy from a fake to ports inside its sandboxes (E2B's {@code {port}-{id}.{domain}} hosts,
 * Daytona preview URLs, Runloop and Modal tunnels). The fake's {@link Router} says whether a request is for a sandbox
 * and where it goes; an {@link Authorizer} checks tokens first; then any method, the headers (minus hop-by-hop ones
 * and those named in {@link Builder#removeRequestHeaders}) and chunked or fixed-length bodies are forwarded both ways
 * as they flow, never held whole. A port that refuses answers what {@link Builder#unreachable} makes (502 by
 * default).
 *
 * <pre>{@code
 * SandboxProxy proxy = SandboxProxy.builder()
 *         .router(request -> hostRoute(request))                       // Optional<Route>, or throw HttpError 404
 *         .authorizer((request, route) -> requireToken(request, route)) // throw HttpError 401/403
 *         .unreachable((route, failure) -> HttpError.json(502, Map.of("message", "port not open")))
 *         .removeRequestHeaders("e2b-traffic-access-token")
 *         .build();
 * FakeHttpServer.builder("e2b").handler(new Handler.Sequence(proxy, routes)).start();
 * }</pre>
 *
 * Requests the router declines fall through to the next handler.
 */
public final class SandboxProxy extends ProxyHandler {

    private static final String ROUTE = SandboxProxy.class.getName() + ".route";

    /**
     * Where a request goes.
     *
     * @param sandboxId for errors and logs
     * @param target the sandbox's address and port ({@code FakeSandbox.address(port)})
     * @param pathAndQuery the path (and query) to ask for; empty = the request's own
     */
    public record Route(String sandboxId, InetSocketAddress target, Optional<String> pathAndQuery) {
        public Route(String sandboxId, InetSocketAddress target) {
            this(sandboxId, target, Optional.empty());
        }
    }

    /** Decides whether a request is for a sandbox port; may throw {@link HttpError} (unknown sandbox ...). */
    @FunctionalInterface
    public interface Router {
        Optional<Route> route(Request request);
    }

    /** Checks a routed request before it is forwarded; throws {@link HttpError} to refuse it. */
    @FunctionalInterface
    public interface Authorizer {
        void check(Request request, Route route);
    }

    /** The answer when the sandbox port cannot be reached. */
    @FunctionalInterface
    public interface Unreachable {
        HttpError answer(Route route, Throwable failure);
    }

    private final Router router;
    private final Authorizer authorizer;
    private final Unreachable unreachable;
    private final Set<String> removed;
    private final Duration idleTimeout;

    private SandboxProxy(Builder b) {
        this.router = Objects.requireNonNull(b.router, "a router is required");
        this.authorizer = b.authorizer;
        this.unreachable = b.unreachable;
        this.removed = Set.copyOf(b.removed);
        this.idleTimeout = b.idleTimeout;
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
        } catch (HttpError e) {
            e.write(request, response, callback);
            return true;
        }
        request.setAttribute(ROUTE, route);
        return super.handle(request, response, callback);
    }

    @Override
    protected HttpURI rewriteHttpURI(Request request) {
        Route route = (Route) request.getAttribute(ROUTE);
        String pathQuery = route.pathAndQuery().orElseGet(() -> request.getHttpURI().getPathQuery());
        InetSocketAddress target = route.target();
        return HttpURI.build().scheme("http").host(target.getHostString()).port(target.getPort())
                .pathQuery(pathQuery == null || pathQuery.isEmpty() ? "/" : pathQuery);
    }

    @Override
    protected void copyRequestHeaders(Request clientToProxyRequest,
            org.eclipse.jetty.client.Request proxyToServerRequest) {
        super.copyRequestHeaders(clientToProxyRequest, proxyToServerRequest);
        if (!removed.isEmpty()) {
            proxyToServerRequest.headers(headers -> removed.forEach(headers::remove));
        }
    }

    @Override
    protected void configureHttpClient(HttpClient httpClient) {
        super.configureHttpClient(httpClient);
        httpClient.setIdleTimeout(idleTimeout.toMillis());
        httpClient.setConnectTimeout(5000);
        httpClient.setMaxConnectionsPerDestination(256);
    }

    @Override
    protected void onServerToProxyResponseFailure(Request clientToProxyRequest,
            org.eclipse.jetty.client.Request proxyToServerRequest,
            org.eclipse.jetty.client.Response serverToProxyResponse, Response proxyToClientResponse,
            Callback proxyToClientCallback, Throwable failure) {
        if (proxyToClientResponse.isCommitted()) {
            super.onServerToProxyResponseFailure(clientToProxyRequest, proxyToServerRequest, serverToProxyResponse,
                    proxyToClientResponse, proxyToClientCallback, failure);
            return;
        }
        Route route = (Route) clientToProxyRequest.getAttribute(ROUTE);
        proxyToClientResponse.reset();
        unreachable.answer(route, failure).write(clientToProxyRequest, proxyToClientResponse, proxyToClientCallback);
    }

    public static final class Builder {
        private Router router;
        private Authorizer authorizer = (request, route) -> {
        };
        private Unreachable unreachable = (route, failure) -> HttpError.json(502, java.util.Map.of("message",
                "sandbox " + route.sandboxId() + " does not answer on port " + route.target().getPort()));
        private final Set<String> removed = new TreeSet<>();
        private Duration idleTimeout = Duration.ofMinutes(2);

        public Builder router(Router router) {
            this.router = router;
            return this;
        }

        public Builder authorizer(Authorizer authorizer) {
            this.authorizer = Objects.requireNonNull(authorizer);
            return this;
        }

        public Builder unreachable(Unreachable unreachable) {
            this.unreachable = Objects.requireNonNull(unreachable);
            return this;
        }

        /** Headers that stay at the proxy (the vendor's access tokens). */
        public Builder removeRequestHeaders(String... names) {
            for (String name : names) {
                removed.add(name.toLowerCase(Locale.ROOT));
            }
            return this;
        }

        /** How long a forwarded exchange may be silent (default 2 min). */
        public Builder idleTimeout(Duration idleTimeout) {
            this.idleTimeout = Objects.requireNonNull(idleTimeout);
            return this;
        }

        public SandboxProxy build() {
            return new SandboxProxy(this);
        }
    }
}
