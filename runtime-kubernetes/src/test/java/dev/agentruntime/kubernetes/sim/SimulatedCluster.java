package dev.agentruntime.kubernetes.sim;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.dockerjava.api.model.Container;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Kubernetes cluster for tests, on one machine: fabric8's mock API server in CRUD mode on a real socket, with the
 * API server's own rules added ({@link SimulatedApiServer}), a scheduler, a garbage collector and one node whose
 * kubelet runs every pod's containers on the local Docker engine ({@link SimulatedNode}). Talk to it with any
 * Kubernetes client at {@link #masterUrl()}; {@link #client()} is a fabric8 client for it.
 *
 * <pre>{@code
 * try (SimulatedCluster cluster = SimulatedCluster.builder().namespace("ref").start()) {
 *     cluster.client().pods().inNamespace("ref").resource(pod).create();
 *     // ... the pod runs as Docker containers; its status, events and logs come through the API
 * }
 * }</pre>
 *
 * <p>Everything it creates on the host (containers, host directories) carries the cluster's labels and is removed on
 * {@link #close()}; clusters of a JVM that died are reaped when the next one starts. The module README lists where
 * the simulation differs from a real cluster.
 */
public final class SimulatedCluster implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SimulatedCluster.class);
    static final String HOST = hostName();
    static final String VERSION_JSON = "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.6\",\"gitCommit\":"
            + "\"simulated\",\"gitTreeState\":\"clean\",\"buildDate\":\"2026-12-02T00:00:00Z\",\"goVersion\":"
            + "\"go1.23.5\",\"compiler\":\"gc\",\"platform\":\"linux/amd64\"}";

    /** The simulated node's shape and the kubelet's knobs. */
    public record Settings(String nodeName, Map<String, String> nodeLabels, List<Taint> taints, String cpu,
                           String memory, int maxPods, boolean unschedulableNode, KubeletTiming timing,
                           String pauseImage, Map<String, String> imageAliases, Set<String> namespaces,
                           boolean provisionVolumes, Set<String> unreachableRegistries, Path workRoot) {
    }

    /** Builds and starts a cluster. */
    public static final class Builder {
        private String nodeName = "sim-node";
        private final Map<String, String> nodeLabels = new LinkedHashMap<>();
        private final List<Taint> taints = new ArrayList<>();
        private String cpu = "2";
        private String memory = "8Gi";
        private int maxPods = 110;
        private boolean unschedulableNode;
        private KubeletTiming timing = KubeletTiming.real();
        private String pauseImage = "agent-runtime-test/nobash:latest";
        private final Map<String, String> imageAliases = new HashMap<>();
        private final Set<String> namespaces = new LinkedHashSet<>(List.of("default", "kube-system"));
        private boolean provisionVolumes;
        private final Set<String> unreachableRegistries = new LinkedHashSet<>();
        private Path workRoot = Path.of(System.getProperty("java.io.tmpdir"), "agent-runtime-k8s-sim");

        private Builder() {
        }

        public Builder nodeName(String name) {
            this.nodeName = name;
            return this;
        }

        public Builder nodeLabel(String key, String value) {
            nodeLabels.put(key, value);
            return this;
        }

        public Builder taint(String key, String value, String effect) {
            taints.add(new Taint(effect, key, null, value));
            return this;
        }

        /** Allocatable CPU and memory of the node, as Kubernetes quantities ("2", "8Gi"). */
        public Builder allocatable(String cpu, String memory, int pods) {
            this.cpu = cpu;
            this.memory = memory;
            this.maxPods = pods;
            return this;
        }

        public Builder cordoned(boolean unschedulable) {
            this.unschedulableNode = unschedulable;
            return this;
        }

        public Builder timing(KubeletTiming timing) {
            this.timing = timing;
            return this;
        }

        /** The local image the pod sandbox ("pause") container runs; it needs a {@code sleep}. */
        public Builder pauseImage(String image) {
            this.pauseImage = image;
            return this;
        }

        /** Runs {@code image} from the local image {@code local} (a registry mirror, as it were). */
        public Builder imageAlias(String image, String local) {
            imageAliases.put(image, local);
            return this;
        }

        /** A namespace that exists from the start (default and kube-system always do). */
        public Builder namespace(String namespace) {
            namespaces.add(namespace);
            return this;
        }

        /** Binds every PVC at creation, backed by a host directory (default: PVCs stay Pending, as recorded). */
        public Builder provisionVolumes(boolean provision) {
            this.provisionVolumes = provision;
            return this;
        }

        /**
         * A registry ({@code host:port}) whose pulls fail with connection refused rather than "not found" (no
         * registry is ever contacted: an image is pullable exactly when it exists locally).
         */
        public Builder unreachableRegistry(String hostAndPort) {
            unreachableRegistries.add(hostAndPort);
            return this;
        }

        public Builder workRoot(Path root) {
            this.workRoot = root;
            return this;
        }

        public SimulatedCluster start() {
            Settings settings = new Settings(nodeName, Map.copyOf(defaultLabels()), List.copyOf(taints), cpu, memory,
                    maxPods, unschedulableNode, timing, pauseImage, Map.copyOf(imageAliases), Set.copyOf(namespaces),
                    provisionVolumes, Set.copyOf(unreachableRegistries), workRoot);
            SimulatedCluster cluster = new SimulatedCluster(settings);
            try {
                cluster.start();
                return cluster;
            } catch (RuntimeException | Error e) {
                cluster.close();
                throw e;
            }
        }

        private Map<String, String> defaultLabels() {
            Map<String, String> labels = new LinkedHashMap<>();
            labels.put("beta.kubernetes.io/arch", "amd64");
            labels.put("beta.kubernetes.io/os", "linux");
            labels.put("kubernetes.io/arch", "amd64");
            labels.put("kubernetes.io/hostname", nodeName);
            labels.put("kubernetes.io/os", "linux");
            labels.putAll(nodeLabels);
            return labels;
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    private final Settings settings;
    private final String clusterId = UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    private final Clock clock = Clock.systemUTC();
    private final Path clusterDir;
    private SimDocker docker;
    private SimulatedApiServer apiServer;
    private KubernetesMockServer server;
    private NamespacedKubernetesClient controllers;
    private NamespacedKubernetesClient client;
    private Scheduler scheduler;
    private GarbageCollector garbageCollector;
    private SimulatedNode node;
    private String hostIp;
    private boolean closed;

    private SimulatedCluster(Settings settings) {
        this.settings = settings;
        this.clusterDir = settings.workRoot().resolve(clusterId);
    }

    private void start() {
        docker = SimDocker.open();
        SimDocker.reapOrphans(docker, settings.workRoot(), HOST);
        try {
            Files.createDirectories(clusterDir);
            Files.writeString(clusterDir.resolve("owner-pid"), String.valueOf(ProcessHandle.current().pid()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the simulated node's directory " + clusterDir, e);
        }
        hostIp = bridgeAddress(docker);
        MOCK_SERVER_LOG.setLevel(java.util.logging.Level.WARNING);
        Map<ServerRequest, Queue<ServerResponse>> expectations = new HashMap<>();
        apiServer = new SimulatedApiServer(expectations, clock, VERSION_JSON);
        apiServer.provisionVolumes(settings.provisionVolumes());
        server = new KubernetesMockServer(new Context(Serialization.jsonMapper()), new MockWebServer(), expectations,
                apiServer, false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        for (String namespace : settings.namespaces()) {
            createNamespace(namespace);
        }
        seedNode();
        controllers = server.createClient();
        client = server.createClient();
        scheduler = new Scheduler(controllers, settings, clock);
        garbageCollector = new GarbageCollector(controllers);
        node = new SimulatedNode(settings, controllers, docker, clock, clusterId, clusterDir, hostIp,
                scheduler::retryUnschedulable);
        apiServer.podRuntime(node);
        node.start();
        scheduler.start();
        garbageCollector.start();
        LOG.info("simulated cluster {} up at {} (node {} at {}, Docker-backed)", clusterId, masterUrl(),
                settings.nodeName(), hostIp);
    }

    /** Creates a namespace (with its {@code kube-root-ca.crt} ConfigMap, as the root-CA publisher does). */
    public void createNamespace(String namespace) {
        ObjectNode ns = Serialization.jsonMapper().createObjectNode();
        ns.put("kind", "Namespace").put("apiVersion", "v1");
        ns.putObject("metadata").put("name", namespace)
                .putObject("labels").put("kubernetes.io/metadata.name", namespace);
        ns.putObject("spec").putArray("finalizers").add("kubernetes");
        ns.putObject("status").put("phase", "Active");
        apiServer.seed("/api/v1/namespaces/" + namespace, ns);
        ObjectNode ca = Serialization.jsonMapper().createObjectNode();
        ca.put("kind", "ConfigMap").put("apiVersion", "v1");
        ca.putObject("metadata").put("name", "kube-root-ca.crt").put("namespace", namespace);
        ca.putObject("data").put("ca.crt", "");
        apiServer.seed("/api/v1/namespaces/" + namespace + "/configmaps/kube-root-ca.crt", ca);
    }

    private void seedNode() {
        ObjectNode n = Serialization.jsonMapper().createObjectNode();
        n.put("kind", "Node").put("apiVersion", "v1");
        ObjectNode metadata = n.putObject("metadata");
        metadata.put("name", settings.nodeName());
        ObjectNode labels = metadata.putObject("labels");
        settings.nodeLabels().forEach(labels::put);
        ObjectNode spec = n.putObject("spec");
        if (settings.unschedulableNode()) {
            spec.put("unschedulable", true);
        }
        if (!settings.taints().isEmpty()) {
            spec.set("taints", Serialization.jsonMapper().valueToTree(settings.taints()));
        }
        ObjectNode status = n.putObject("status");
        ArrayNode addresses = status.putArray("addresses");
        addresses.addObject().put("type", "InternalIP").put("address", hostIp);
        addresses.addObject().put("type", "Hostname").put("address", settings.nodeName());
        for (String field : List.of("capacity", "allocatable")) {
            ObjectNode r = status.putObject(field);
            r.put("cpu", settings.cpu()).put("memory", settings.memory()).put("pods", String.valueOf(settings.maxPods()));
        }
        ArrayNode conditions = status.putArray("conditions");
        conditions.addObject().put("type", "Ready").put("status", "True").put("reason", "KubeletReady")
                .put("message", "kubelet is posting ready status");
        status.putObject("nodeInfo").put("kubeletVersion", "v1.32.6").put("containerRuntimeVersion",
                "containerd://simulated (Docker " + docker.client().versionCmd().exec().getVersion() + ")")
                .put("operatingSystem", "linux").put("architecture", "amd64");
        apiServer.seed("/api/v1/nodes/" + settings.nodeName(), n);
    }

    /** The API server's URL (plain HTTP on the loopback interface). */
    public String masterUrl() {
        return server.url("/");
    }

    /** A fabric8 client for the cluster, owned by the cluster (namespace "test" unless told otherwise). */
    public NamespacedKubernetesClient client() {
        return client;
    }

    /** A new fabric8 client for the cluster; the caller closes it. */
    public NamespacedKubernetesClient newClient() {
        return server.createClient();
    }

    /** The underlying mock server, for expectations ({@code expect()...}) that answer before the simulation. */
    public KubernetesMockServer mockServer() {
        return server;
    }

    public Settings settings() {
        return settings;
    }

    /** The node's InternalIP (the Docker bridge gateway); pod IPs are on that bridge, reachable from this host. */
    public String nodeIp() {
        return hostIp;
    }

    public String id() {
        return clusterId;
    }

    /** Waits until every Event recorded so far by the kubelet and the scheduler has been written. */
    public void flushEvents() {
        if (node != null) {
            node.flushEvents();
        }
        if (scheduler != null) {
            scheduler.flushEvents();
        }
    }

    /** What this cluster still has on the host: Docker containers (by label) and its work directory. */
    public List<String> leftovers() {
        List<String> left = new ArrayList<>();
        try (SimDocker probe = SimDocker.open()) {
            for (Container c : probe.containers(clusterId)) {
                left.add("container " + String.join(",", c.getNames()) + " (" + c.getState() + ")");
            }
        }
        if (Files.exists(clusterDir)) {
            left.add("directory " + clusterDir);
        }
        return left;
    }

    /** Stops everything, then removes every container and host directory of this cluster. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(garbageCollector);
        closeQuietly(scheduler);
        closeQuietly(node);
        if (client != null) {
            client.close();
        }
        if (controllers != null) {
            controllers.close();
        }
        if (server != null) {
            server.destroy();
        }
        if (docker != null) {
            try {
                docker.removeAll(clusterId);
            } catch (RuntimeException e) {
                LOG.warn("could not remove the containers of simulated cluster {}: {}", clusterId, e.toString());
            }
        }
        SimDocker.deleteTree(clusterDir);
        try {
            Files.deleteIfExists(settings.workRoot());
        } catch (IOException e) {
            // not empty: another cluster of this host is still running
        }
        if (docker != null) {
            docker.close();
        }
        LOG.info("simulated cluster {} closed", clusterId);
    }

    private static void closeQuietly(java.io.Closeable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException | RuntimeException e) {
            LOG.debug("closing {}: {}", c.getClass().getSimpleName(), e.toString());
        }
    }

    /** Keeps the mock server's per-request INFO lines (java.util.logging) out of test output. */
    private static final java.util.logging.Logger MOCK_SERVER_LOG =
            java.util.logging.Logger.getLogger("io.fabric8.mockwebserver.MockWebServer");

    /** This host's address on Docker's default bridge: the node's InternalIP, reachable from every pod. */
    private static String bridgeAddress(SimDocker docker) {
        var network = docker.client().inspectNetworkCmd().withNetworkId("bridge").exec();
        var ipam = network.getIpam().getConfig();
        if (!ipam.isEmpty() && ipam.get(0).getGateway() != null) {
            return ipam.get(0).getGateway();
        }
        String device = network.getOptions().getOrDefault("com.docker.network.bridge.name", "docker0");
        try {
            java.net.NetworkInterface nic = java.net.NetworkInterface.getByName(device);
            if (nic != null) {
                for (var address : java.util.Collections.list(nic.getInetAddresses())) {
                    if (address instanceof java.net.Inet4Address) {
                        return address.getHostAddress();
                    }
                }
            }
        } catch (java.net.SocketException e) {
            throw new UncheckedIOException(new IOException("cannot read the address of " + device, e));
        }
        throw new IllegalStateException("cannot find this host's address on Docker's bridge network (" + device + ")");
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}
