package dev.agentruntime.gateway.internal;

import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.spi.ServerEndpoint;
import dev.agentruntime.proxy.Refusal;
import dev.agentruntime.proxy.SandboxProxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.server.Request;

/**
 * Path mode: {@code {gateway}/{runtime_id}/...} goes to the runtime's action server (its {@code X-Session-API-Key}
 * checked here first, except for {@code /alive} and {@code /server_info}, which OpenHands' server leaves open too),
 * {@code {gateway}/{runtime_id}/work-1/...} and {@code work-2} to its application ports (open, like OpenHands' work
 * hosts: the runtime id, derived from the gateway secret, is not guessable). The tenant's API key never reaches the
 * sandbox. A paused runtime answers 503 (OpenHands' client then resumes it once), an unknown one 404, one that does
 * not answer 502.
 */
public final class ProxyRoutes {

    private final Sessions sessions;
    private final Metrics metrics;
    private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();

    public ProxyRoutes(Sessions sessions, Metrics metrics) {
        this.sessions = sessions;
        this.metrics = metrics;
    }

    public SandboxProxy proxy(Duration idleTimeout) {
        return SandboxProxy.builder()
                .router(this::route)
                .removeRequestHeaders(Api.API_KEY_HEADER, ServerEndpoint.SESSION_KEY_HEADER)
                .unreachable((route, failure) -> {
                    String runtimeId = runtimeIdOf(route);
                    sessions.forget(runtimeId);
                    return Json.error(502, "Runtime " + runtimeId + " does not answer at "
                            + (route.sandboxId().contains("/work-") ? route.sandboxId() : "its action server")
                            + " (" + failure.getMessage() + ")");
                })
                .observer((route, request, status, nanos) -> {
                    AtomicInteger count = inFlight.get(runtimeIdOf(route));
                    if (count != null) {
                        count.decrementAndGet();
                    }
                    metrics.proxied(route.tenant(), route.sandboxId().contains("/work-") ? "work_host"
                            : "action_server", status, nanos / 1e9);
                })
                .idleTimeout(idleTimeout)
                .build();
    }

    /** Whether this replica is forwarding something to the runtime right now (the reaper leaves it alone). */
    public boolean busy(String runtimeId) {
        AtomicInteger count = inFlight.get(runtimeId);
        return count != null && count.get() > 0;
    }

    private static String runtimeIdOf(SandboxProxy.Route route) {
        int slash = route.sandboxId().indexOf('/');
        return slash < 0 ? route.sandboxId() : route.sandboxId().substring(0, slash);
    }

    private Optional<SandboxProxy.Route> route(Request request) {
        String path = request.getHttpURI().getPath();
        if (path == null || path.length() < 2) {
            return Optional.empty();
        }
        int slash = path.indexOf('/', 1);
        String runtimeId = slash < 0 ? path.substring(1) : path.substring(1, slash);
        if (!Signer.isRuntimeId(runtimeId)) {
            return Optional.empty();
        }
        String rest = slash < 0 ? "/" : path.substring(slash);
        String query = request.getHttpURI().getQuery();
        String suffix = query == null ? "" : "?" + query;

        int work = workHost(rest);
        if (work == 0 && !open(rest)) {
            String presented = request.getHeaders().get(ServerEndpoint.SESSION_KEY_HEADER);
            if (!sessions.signer().sessionKeyMatches(runtimeId, presented)) {
                throw Json.error(403, "Invalid API Key");
            }
        }
        Sessions.Target target;
        try {
            target = sessions.target(runtimeId).orElseThrow(() -> Json.error(404, "Runtime " + runtimeId
                    + " not found"));
        } catch (Sessions.NotRunning e) {
            throw e.session().status().equals("paused")
                    ? Json.error(503, "Runtime " + runtimeId + " is paused; resume it with POST /resume")
                    .withHeader("Retry-After", "1")
                    : Json.error(404, "Runtime " + runtimeId + " is " + e.session().status());
        } catch (AgentRuntimeException e) {
            throw Json.error(502, "Runtime " + runtimeId + " cannot be reached: " + e.getMessage());
        }
        request.setAttribute(Api.TENANT, target.tenant());
        SandboxProxy.Route route;
        if (work > 0) {
            if (work > target.workHosts().size()) {
                throw Json.error(404, "Runtime " + runtimeId + " has no work host " + work);
            }
            String inner = rest.substring(("/work-" + work).length());
            route = new SandboxProxy.Route(runtimeId + "/work-" + work, target.tenant(),
                    target.workHosts().get(work - 1), (inner.isEmpty() ? "/" : inner) + suffix, List.of());
        } else {
            ServerEndpoint server = target.server();
            List<SandboxProxy.Header> headers = new ArrayList<>();
            server.sessionApiKey().ifPresent(key -> headers.add(new SandboxProxy.Header(
                    ServerEndpoint.SESSION_KEY_HEADER, key.reveal())));
            for (ServerEndpoint.Header header : server.headers()) {
                headers.add(new SandboxProxy.Header(header.name(), header.value().reveal()));
            }
            route = new SandboxProxy.Route(runtimeId, target.tenant(), server.baseUrl(), rest + suffix, headers);
        }
        inFlight.computeIfAbsent(runtimeId, id -> new AtomicInteger()).incrementAndGet();
        return Optional.of(route);
    }

    private static boolean open(String rest) {
        return rest.equals("/alive") || rest.equals("/server_info");
    }

    /** 1 or 2 for {@code /work-1[/...]} and {@code /work-2[/...]}, else 0. */
    private static int workHost(String rest) {
        for (int n = 1; n <= 2; n++) {
            String prefix = "/work-" + n;
            if (rest.equals(prefix) || rest.startsWith(prefix + "/")) {
                return n;
            }
        }
        return 0;
    }

}
