package dev.agentruntime.kubernetes.sim;

import io.fabric8.kubernetes.api.model.BindingBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.NodeSelectorRequirement;
import io.fabric8.kubernetes.api.model.NodeSelectorTerm;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.Closeable;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The default scheduler for the one simulated node: binds a pod when the node fits it (the filters NodeUnschedulable,
 * TaintToleration, NodeAffinity/nodeSelector, NodeResourcesFit against allocatable minus the requests of the pods
 * already there, and VolumeBinding's "unbound immediate PVC" pre-filter), writing {@code Scheduled}; otherwise sets
 * {@code PodScheduled=False/Unschedulable} with the scheduler's message format (scenario 4) and writes
 * {@code FailedScheduling}. Unschedulable pods are retried when a pod on the node terminates or goes away (as the
 * scheduler's queue moves them on cluster events), each retry a new Event object.
 */
final class Scheduler implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);

    private final KubernetesClient client;
    private final SimulatedCluster.Settings node;
    private final EventRecorder recorder;
    private final ExecutorService worker;
    private final Set<String> unschedulable = ConcurrentHashMap.newKeySet();
    private final Set<String> bound = ConcurrentHashMap.newKeySet();
    private SharedIndexInformer<Pod> informer;

    Scheduler(KubernetesClient client, SimulatedCluster.Settings node, Clock clock) {
        this.client = client;
        this.node = node;
        this.recorder = new EventRecorder(client, "default-scheduler", node.nodeName(), clock,
                "agent-runtime-k8s-sim-scheduler-events");
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "agent-runtime-k8s-sim-scheduler");
            t.setDaemon(true);
            return t;
        });
    }

    void start() {
        informer = client.pods().inAnyNamespace().inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Pod pod) {
                consider(pod);
            }

            @Override
            public void onUpdate(Pod oldPod, Pod pod) {
                consider(pod);
                String phase = pod.getStatus() == null ? "" : pod.getStatus().getPhase();
                String oldPhase = oldPod.getStatus() == null ? "" : oldPod.getStatus().getPhase();
                if (!Objects.equals(phase, oldPhase) && ("Failed".equals(phase) || "Succeeded".equals(phase))) {
                    retryUnschedulable();
                }
            }

            @Override
            public void onDelete(Pod pod, boolean deletedFinalStateUnknown) {
                unschedulable.remove(pod.getMetadata().getUid());
                bound.remove(pod.getMetadata().getUid());
                retryUnschedulable();
            }
        }, 0);
    }

    /** Re-examines every unschedulable pod (a pod on the node terminated or went away). */
    void retryUnschedulable() {
        worker.execute(() -> {
            for (String uid : List.copyOf(unschedulable)) {
                informer.getStore().list().stream().filter(p -> p.getMetadata().getUid().equals(uid)).findFirst()
                        .ifPresent(this::schedule);
            }
        });
    }

    private void consider(Pod pod) {
        String uid = pod.getMetadata().getUid();
        if (pod.getSpec().getNodeName() != null && !pod.getSpec().getNodeName().isEmpty()) {
            return;
        }
        if (pod.getMetadata().getDeletionTimestamp() != null || unschedulable.contains(uid) || bound.contains(uid)
                || !"default-scheduler".equals(pod.getSpec().getSchedulerName())) {
            return;
        }
        worker.execute(() -> schedule(pod));
    }

    private void schedule(Pod pod) {
        String uid = pod.getMetadata().getUid();
        String ns = pod.getMetadata().getNamespace();
        String name = pod.getMetadata().getName();
        try {
            String failure = fit(pod);
            if (failure == null) {
                client.bindings().inNamespace(ns).resource(new BindingBuilder()
                        .withNewMetadata().withName(name).withNamespace(ns).endMetadata()
                        .withNewTarget().withKind("Node").withApiVersion("v1").withName(node.nodeName()).endTarget()
                        .build()).create();
                unschedulable.remove(uid);
                bound.add(uid);
                recorder.recordAction(pod, "Normal", "Scheduled", "Binding",
                        "Successfully assigned " + ns + "/" + name + " to " + node.nodeName());
                return;
            }
            unschedulable.add(uid);
            String now = java.time.Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
            client.pods().inNamespace(ns).withName(name).subresource("status").patch(
                    io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
                            io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
                    "{\"status\":{\"conditions\":[" + io.fabric8.kubernetes.client.utils.Serialization.asJson(
                            new io.fabric8.kubernetes.api.model.PodConditionBuilder()
                                    .withType("PodScheduled").withStatus("False").withLastTransitionTime(now)
                                    .withReason("Unschedulable").withMessage(failure).build()) + "]}}");
            recorder.recordAction(pod, "Warning", "FailedScheduling", "Scheduling", failure);
        } catch (RuntimeException e) {
            LOG.debug("scheduling {}/{} failed: {}", ns, name, e.toString());
        }
    }

    /** Null when the node fits the pod, else the scheduler's FailedScheduling message. */
    private String fit(Pod pod) {
        String ns = pod.getMetadata().getNamespace();
        for (var volume : pod.getSpec().getVolumes()) {
            if (volume.getPersistentVolumeClaim() != null) {
                String claim = volume.getPersistentVolumeClaim().getClaimName();
                PersistentVolumeClaim pvc = client.persistentVolumeClaims().inNamespace(ns).withName(claim).get();
                if (pvc == null) {
                    return prefilter("persistentvolumeclaim \"" + claim + "\" not found");
                }
                if (pvc.getStatus() == null || !"Bound".equals(pvc.getStatus().getPhase())) {
                    return prefilter("pod has unbound immediate PersistentVolumeClaims");
                }
            }
        }
        if (node.unschedulableNode()) {
            return filter("1 node(s) were unschedulable", false);
        }
        for (Taint taint : node.taints()) {
            if (!taint.getEffect().equals("NoSchedule") && !taint.getEffect().equals("NoExecute")) {
                continue;
            }
            boolean tolerated = pod.getSpec().getTolerations().stream().anyMatch(t -> tolerates(t, taint));
            if (!tolerated) {
                return filter("1 node(s) had untolerated taint {" + taint.getKey() + ": "
                        + Objects.requireNonNullElse(taint.getValue(), "") + "}", false);
            }
        }
        if (!matchesNode(pod)) {
            return filter("1 node(s) didn't match Pod's node affinity/selector", false);
        }
        BigDecimal cpu = BigDecimal.ZERO;
        BigDecimal memory = BigDecimal.ZERO;
        int pods = 0;
        for (Pod other : informer.getStore().list()) {
            String phase = other.getStatus() == null ? "" : other.getStatus().getPhase();
            if (node.nodeName().equals(other.getSpec().getNodeName()) && !"Failed".equals(phase)
                    && !"Succeeded".equals(phase) && !other.getMetadata().getUid().equals(pod.getMetadata().getUid())) {
                cpu = cpu.add(request(other, "cpu"));
                memory = memory.add(request(other, "memory"));
                pods++;
            }
        }
        Set<String> insufficient = new TreeSet<>();
        if (cpu.add(request(pod, "cpu")).compareTo(Quantity.getAmountInBytes(new Quantity(node.cpu()))) > 0) {
            insufficient.add("1 Insufficient cpu");
        }
        if (memory.add(request(pod, "memory")).compareTo(Quantity.getAmountInBytes(new Quantity(node.memory()))) > 0) {
            insufficient.add("1 Insufficient memory");
        }
        if (pods + 1 > node.maxPods()) {
            insufficient.add("1 Too many pods");
        }
        if (!insufficient.isEmpty()) {
            return filter(String.join(", ", insufficient), true);
        }
        return null;
    }

    private static String prefilter(String reason) {
        return "0/1 nodes are available: " + reason + ". preemption: 0/1 nodes are available: 1 Preemption is not "
                + "helpful for scheduling.";
    }

    private static String filter(String reasons, boolean resources) {
        return "0/1 nodes are available: " + reasons + ". preemption: 0/1 nodes are available: 1 "
                + (resources ? "No preemption victims found for incoming pod." : "Preemption is not helpful for scheduling.");
    }

    private static boolean tolerates(Toleration t, Taint taint) {
        if (t.getEffect() != null && !t.getEffect().isEmpty() && !t.getEffect().equals(taint.getEffect())) {
            return false;
        }
        if ("Exists".equals(t.getOperator())) {
            return t.getKey() == null || t.getKey().isEmpty() || t.getKey().equals(taint.getKey());
        }
        return Objects.equals(t.getKey(), taint.getKey())
                && Objects.equals(Objects.requireNonNullElse(t.getValue(), ""),
                        Objects.requireNonNullElse(taint.getValue(), ""));
    }

    private boolean matchesNode(Pod pod) {
        Map<String, String> labels = node.nodeLabels();
        for (Map.Entry<String, String> e : pod.getSpec().getNodeSelector().entrySet()) {
            if (!e.getValue().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        var affinity = pod.getSpec().getAffinity();
        if (affinity == null || affinity.getNodeAffinity() == null
                || affinity.getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution() == null) {
            return true;
        }
        List<NodeSelectorTerm> terms = affinity.getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution()
                .getNodeSelectorTerms();
        for (NodeSelectorTerm term : terms) {
            boolean all = true;
            for (NodeSelectorRequirement r : term.getMatchExpressions()) {
                String value = labels.get(r.getKey());
                boolean ok = switch (r.getOperator()) {
                    case "In" -> value != null && r.getValues().contains(value);
                    case "NotIn" -> value == null || !r.getValues().contains(value);
                    case "Exists" -> value != null;
                    case "DoesNotExist" -> value == null;
                    default -> false;
                };
                all &= ok;
            }
            if (all) {
                return true;
            }
        }
        return terms.isEmpty();
    }

    /** The pod's effective request: the larger of the containers' sum and any single init container. */
    private static BigDecimal request(Pod pod, String resource) {
        BigDecimal sum = BigDecimal.ZERO;
        for (Container c : pod.getSpec().getContainers()) {
            sum = sum.add(amount(c, resource));
        }
        for (Container c : pod.getSpec().getInitContainers()) {
            sum = sum.max(amount(c, resource));
        }
        return sum;
    }

    private static BigDecimal amount(Container c, String resource) {
        if (c.getResources() == null) {
            return BigDecimal.ZERO;
        }
        Quantity q = c.getResources().getRequests().get(resource);
        return q == null ? BigDecimal.ZERO : Quantity.getAmountInBytes(q);
    }

    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
        worker.shutdownNow();
        recorder.flush(java.time.Duration.ofSeconds(5));
        recorder.close();
    }

    void flushEvents() {
        recorder.flush(java.time.Duration.ofSeconds(5));
    }
}
