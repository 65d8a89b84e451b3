package dev.agentruntime.kubernetes.sim;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.EventType;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.io.Closeable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The simulated kubelet: watches the API for pods bound to its node and runs each with a {@link PodWorker} on the
 * local Docker engine (a sandbox container holding the pod's network and IPC namespaces, the pod's containers joined
 * to it, volumes as host directories), writes their status through the status subresource and their Events through
 * the API, and answers the API server's log, exec and port-forward requests. The Docker event stream (container
 * deaths) and a 1 s relist play the kubelet's PLEG.
 */
final class SimulatedNode implements SimulatedApiServer.PodRuntime, Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(SimulatedNode.class);

    private final SimulatedCluster.Settings settings;
    private final KubernetesClient client;
    private final SimDocker docker;
    private final Clock clock;
    private final String clusterId;
    private final Path clusterDir;
    private final Runnable onPodTerminated;
    private final String hostIp;
    private final EventRecorder recorder;
    private final ScheduledExecutorService probes;
    private final ScheduledExecutorService relist;
    private final Map<String, PodWorker> workers = new ConcurrentHashMap<>();
    private final AtomicInteger threads = new AtomicInteger();
    private SharedIndexInformer<Pod> informer;
    private Closeable events;

    SimulatedNode(SimulatedCluster.Settings settings, KubernetesClient client, SimDocker docker, Clock clock,
                  String clusterId, Path clusterDir, String hostIp, Runnable onPodTerminated) {
        this.settings = settings;
        this.client = client;
        this.docker = docker;
        this.clock = clock;
        this.clusterId = clusterId;
        this.clusterDir = clusterDir;
        this.hostIp = hostIp;
        this.onPodTerminated = onPodTerminated;
        this.recorder = new EventRecorder(client, "kubelet", settings.nodeName(), clock,
                "agent-runtime-k8s-sim-kubelet-events");
        this.probes = Executors.newScheduledThreadPool(4, daemon("agent-runtime-k8s-sim-prober-"));
        this.relist = Executors.newSingleThreadScheduledExecutor(daemon("agent-runtime-k8s-sim-pleg-"));
    }

    void start() {
        events = docker.client().eventsCmd()
                .withEventTypeFilter(EventType.CONTAINER)
                .withEventFilter("die", "oom")
                .withLabelFilter(Map.of(SimDocker.CLUSTER, clusterId))
                .exec(new ResultCallback.Adapter<Event>() {
                    @Override
                    public void onNext(Event event) {
                        Map<String, String> labels = event.getActor() == null ? null : event.getActor().getAttributes();
                        String uid = labels == null ? null : labels.get(SimDocker.POD_UID);
                        PodWorker worker = uid == null ? null : workers.get(uid);
                        if (worker != null) {
                            worker.containerEvent();
                        }
                    }
                });
        informer = client.pods().inAnyNamespace().inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Pod pod) {
                onPod(pod);
            }

            @Override
            public void onUpdate(Pod oldPod, Pod pod) {
                onPod(pod);
            }

            @Override
            public void onDelete(Pod pod, boolean deletedFinalStateUnknown) {
                PodWorker worker = workers.get(pod.getMetadata().getUid());
                if (worker != null) {
                    worker.deleted(pod);
                }
            }
        }, 0);
        long period = settings.timing().relist().toMillis();
        relist.scheduleWithFixedDelay(() -> workers.values().forEach(PodWorker::containerEvent), period, period,
                TimeUnit.MILLISECONDS);
    }

    private void onPod(Pod pod) {
        if (!settings.nodeName().equals(pod.getSpec().getNodeName())) {
            return;
        }
        PodWorker existing = workers.get(pod.getMetadata().getUid());
        if (existing != null) {
            existing.updated(pod);
            return;
        }
        PodWorker worker = new PodWorker(this, pod);
        workers.put(pod.getMetadata().getUid(), worker);
        worker.signal();
    }

    // ----------------------------------------------------------------------------- for the pod workers ---

    KubernetesClient client() {
        return client;
    }

    SimDocker docker() {
        return docker;
    }

    Clock clock() {
        return clock;
    }

    KubeletTiming timing() {
        return settings.timing();
    }

    EventRecorder recorder() {
        return recorder;
    }

    ScheduledExecutorService probeExecutor() {
        return probes;
    }

    String hostIp() {
        return hostIp;
    }

    String pauseImage() {
        return settings.pauseImage();
    }

    /** The local image that stands for {@code image} (an alias, like a registry mirror), or the image itself. */
    String localImage(String image) {
        return settings.imageAliases().getOrDefault(image, image);
    }

    java.util.Set<String> unreachableRegistries() {
        return settings.unreachableRegistries();
    }

    long imageSize(String image) {
        try {
            Long size = docker.client().inspectImageCmd(image).exec().getSize();
            return size == null ? 0 : size;
        } catch (RuntimeException e) {
            return 0;
        }
    }

    Path podDir(String uid) {
        return clusterDir.resolve("pods").resolve(uid);
    }

    Path claimDir(String namespace, String claim) {
        return clusterDir.resolve("claims").resolve(namespace).resolve(claim);
    }

    ScheduledExecutorService newPodLoop(String podName) {
        return Executors.newSingleThreadScheduledExecutor(daemon("agent-runtime-k8s-sim-pod-" + podName + "-"));
    }

    String containerName(Pod pod, String container, int attempt) {
        String name = pod.getMetadata().getName();
        return "k8s-sim_" + container + "_" + (name.length() > 60 ? name.substring(0, 60) : name) + "_"
                + pod.getMetadata().getNamespace() + "_" + pod.getMetadata().getUid().substring(0, 8) + "_" + attempt;
    }

    Map<String, String> labels(Pod pod, String container) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(SimDocker.MANAGED_BY, "true");
        labels.put(SimDocker.CLUSTER, clusterId);
        labels.put(SimDocker.OWNER_PID, String.valueOf(ProcessHandle.current().pid()));
        labels.put(SimDocker.OWNER_HOST, SimulatedCluster.HOST);
        labels.put(SimDocker.POD_UID, pod.getMetadata().getUid());
        labels.put(SimDocker.POD, pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName());
        labels.put(SimDocker.CONTAINER, container);
        return labels;
    }

    void podTerminated() {
        onPodTerminated.run();
    }

    void forget(String uid) {
        workers.remove(uid);
    }

    int workerCount() {
        return workers.size();
    }

    // ------------------------------------------------------------------------------- API server hooks ---

    @Override
    public String logs(ObjectNode pod, String container, boolean previous, ApiPath request) {
        PodWorker worker = workers.get(pod.path("metadata").path("uid").asText());
        String id = worker == null ? null : worker.logContainerId(container, previous);
        if (id == null) {
            return "";
        }
        Integer tail = request.param("tailLines").map(Integer::parseInt).orElse(null);
        Integer since = request.param("sinceSeconds")
                .map(s -> (int) (Instant.now().getEpochSecond() - Long.parseLong(s))).orElse(null);
        String text = docker.logs(id, request.flag("timestamps"), tail, since);
        Optional<Integer> limit = request.param("limitBytes").map(Integer::parseInt);
        if (limit.isPresent()) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            if (bytes.length > limit.get()) {
                text = new String(bytes, 0, limit.get(), StandardCharsets.UTF_8);
            }
        }
        return text;
    }

    @Override
    public boolean hasPrevious(ObjectNode pod, String container) {
        PodWorker worker = workers.get(pod.path("metadata").path("uid").asText());
        return worker != null && worker.logContainerId(container, true) != null;
    }

    @Override
    public Optional<WebSocketListener> exec(ObjectNode pod, String container, List<String> command, ApiPath request) {
        PodWorker worker = workers.get(pod.path("metadata").path("uid").asText());
        String id = worker == null ? null : worker.runningContainerId(container);
        if (id == null) {
            return Optional.empty();
        }
        return Optional.of(new ExecStream(docker, id, command, request, daemon("agent-runtime-k8s-sim-exec-")));
    }

    @Override
    public WebSocketListener portForward(ObjectNode pod, List<Integer> ports) {
        String ip = pod.path("status").path("podIP").asText();
        return new PortForwardStream(ip, ports, daemon("agent-runtime-k8s-sim-portforward-"));
    }

    // -------------------------------------------------------------------------------------------- close ---

    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
        relist.shutdownNow();
        workers.values().forEach(PodWorker::shutdown);
        workers.clear();
        probes.shutdownNow();
        recorder.flush(Duration.ofSeconds(5));
        recorder.close();
        if (events != null) {
            try {
                events.close();
            } catch (java.io.IOException | RuntimeException e) {
                LOG.debug("closing the Docker event stream: {}", e.toString());
            }
        }
    }

    void flushEvents() {
        recorder.flush(Duration.ofSeconds(5));
    }

    private java.util.concurrent.ThreadFactory daemon(String prefix) {
        return r -> {
            Thread t = new Thread(r, prefix + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
