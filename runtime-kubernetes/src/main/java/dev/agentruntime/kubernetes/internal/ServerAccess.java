package dev.agentruntime.kubernetes.internal;

import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.kubernetes.KubernetesConfig;
import dev.agentruntime.kubernetes.KubernetesConfig.Access;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.LocalPortForward;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Chooses how this process reaches a ready sandbox's server: in-cluster Service DNS, the Ingress, the pod IP, or a
 * fabric8 port-forward through the API server, the first whose {@code /alive} answers (or the configured one), and
 * says what was tried when none does.
 */
public final class ServerAccess {

    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    /**
     * A way in: the server's base URL, the application URLs ({@code webHosts}), and the port-forwards to close.
     */
    public record Route(Access access, URI server, Map<String, Integer> webHosts, List<LocalPortForward> forwards)
            implements AutoCloseable {
        @Override
        public void close() {
            for (LocalPortForward forward : forwards) {
                try {
                    forward.close();
                } catch (IOException | RuntimeException e) {
                    // closing a local listener: nothing to report
                }
            }
        }
    }

    private final KubernetesClient client;
    private final KubernetesConfig k8s;
    private final SandboxManifests manifests;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(PROBE_TIMEOUT).build();

    public ServerAccess(KubernetesClient client, KubernetesConfig k8s, SandboxManifests manifests) {
        this.client = client;
        this.k8s = k8s;
        this.manifests = manifests;
    }

    /** The order AUTO tries, or just the configured access. */
    public List<Access> candidates(boolean inCluster) {
        if (k8s.access() != Access.AUTO) {
            return List.of(k8s.access());
        }
        List<Access> order = new ArrayList<>();
        if (inCluster) {
            order.add(Access.SERVICE_DNS);
        }
        if (k8s.ingressDomain().isPresent()) {
            order.add(Access.INGRESS);
        }
        order.add(Access.POD_IP);
        order.add(Access.PORT_FORWARD);
        return order;
    }

    /**
     * @throws RuntimeUnavailableException naming every way tried and why it failed
     */
    public Route open(Pod ready, boolean inCluster) {
        List<String> tried = new ArrayList<>();
        for (Access access : candidates(inCluster)) {
            Route route = null;
            try {
                route = route(access, ready);
                String problem = probe(route.server());
                if (problem == null) {
                    return route;
                }
                tried.add(describe(access) + " " + route.server() + ": " + problem);
            } catch (RuntimeException e) {
                tried.add(describe(access) + ": " + e.getMessage());
            }
            if (route != null) {
                route.close();
            }
        }
        throw new RuntimeUnavailableException("Pod " + manifests.podName() + " in namespace "
                + manifests.namespace() + " is ready, but its server cannot be reached from here. Tried: "
                + String.join("; ", tried) + ". Set access to a way that works from this process (in the cluster:"
                + " service-dns; with an ingress controller: ingress-domain; else port-forward needs pods/portforward"
                + " rights).");
    }

    private static String describe(Access access) {
        return switch (access) {
            case SERVICE_DNS -> "Service DNS";
            case INGRESS -> "Ingress";
            case POD_IP -> "pod IP";
            case PORT_FORWARD -> "port-forward";
            case AUTO -> "auto";
        };
    }

    private Route route(Access access, Pod pod) {
        Map<String, Integer> web = new LinkedHashMap<>();
        switch (access) {
            case SERVICE_DNS -> {
                String host = manifests.serviceName() + "." + manifests.namespace() + ".svc";
                web.put("http://" + host + ":" + KubernetesConfig.APP_PORT_1, KubernetesConfig.APP_PORT_1);
                web.put("http://" + host + ":" + KubernetesConfig.APP_PORT_2, KubernetesConfig.APP_PORT_2);
                return new Route(access, URI.create("http://" + host + ":" + KubernetesConfig.SERVER_PORT), web,
                        List.of());
            }
            case INGRESS -> {
                String scheme = k8s.ingressTlsSecret().isPresent() ? "https://" : "http://";
                web.put(scheme + manifests.ingressAppHost(1), KubernetesConfig.APP_PORT_1);
                web.put(scheme + manifests.ingressAppHost(2), KubernetesConfig.APP_PORT_2);
                return new Route(access, URI.create(scheme + manifests.ingressHost()), web, List.of());
            }
            case POD_IP -> {
                String ip = pod.getStatus().getPodIP();
                if (ip == null || ip.isBlank()) {
                    throw new IllegalStateException("the pod has no IP");
                }
                String host = ip.contains(":") ? "[" + ip + "]" : ip;
                web.put("http://" + host + ":" + KubernetesConfig.APP_PORT_1, KubernetesConfig.APP_PORT_1);
                web.put("http://" + host + ":" + KubernetesConfig.APP_PORT_2, KubernetesConfig.APP_PORT_2);
                return new Route(access, URI.create("http://" + host + ":" + KubernetesConfig.SERVER_PORT), web,
                        List.of());
            }
            case PORT_FORWARD -> {
                List<LocalPortForward> forwards = new ArrayList<>();
                try {
                    LocalPortForward server = forward(KubernetesConfig.SERVER_PORT);
                    forwards.add(server);
                    for (int port : List.of(KubernetesConfig.APP_PORT_1, KubernetesConfig.APP_PORT_2)) {
                        LocalPortForward app = forward(port);
                        forwards.add(app);
                        web.put("http://127.0.0.1:" + app.getLocalPort(), port);
                    }
                    return new Route(access, URI.create("http://127.0.0.1:" + server.getLocalPort()), web,
                            List.copyOf(forwards));
                } catch (RuntimeException e) {
                    new Route(access, URI.create("http://127.0.0.1"), web, forwards).close();
                    throw e;
                }
            }
            default -> throw new IllegalArgumentException(access.toString());
        }
    }

    private LocalPortForward forward(int port) {
        return client.pods().inNamespace(manifests.namespace()).withName(manifests.podName())
                .portForward(port, InetAddress.getLoopbackAddress(), 0);
    }

    /** Null when {@code GET /alive} answers 200, else why not. */
    private String probe(URI server) {
        try {
            HttpResponse<Void> response = http.send(HttpRequest.newBuilder(URI.create(server + "/alive"))
                    .timeout(PROBE_TIMEOUT).GET().build(), HttpResponse.BodyHandlers.discarding());
            return response.statusCode() == 200 ? null : "GET /alive answered " + response.statusCode();
        } catch (IOException e) {
            return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }
}
