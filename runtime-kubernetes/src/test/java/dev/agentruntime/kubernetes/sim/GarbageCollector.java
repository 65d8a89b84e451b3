package dev.agentruntime.kubernetes.sim;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.Closeable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller-manager's garbage collector (and the PVC-protection controller) for the kinds a sandbox is made of:
 * Pods, Services, ConfigMaps, Secrets, PVCs, ServiceAccounts, Ingresses and NetworkPolicies (scenario 7). Background
 * deletion: once an owner is gone, every dependent whose owners are all gone is deleted. Foreground: an owner with the
 * {@code foregroundDeletion} finalizer has its dependents deleted first (in the foreground themselves when they own
 * something) and loses the finalizer when none is left. {@code orphan}: the dependents lose their reference. A
 * dependent created with an owner reference that does not resolve (absent name or wrong uid) is deleted at once,
 * after a live lookup. No Events, as the real one.
 */
final class GarbageCollector implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(GarbageCollector.class);
    private static final List<Class<? extends HasMetadata>> KINDS = List.of(Pod.class, Service.class, ConfigMap.class,
            Secret.class, PersistentVolumeClaim.class, ServiceAccount.class, Ingress.class, NetworkPolicy.class);

    private final KubernetesClient client;
    private final ExecutorService worker;
    private final Map<String, HasMetadata> objects = new ConcurrentHashMap<>();
    private final List<SharedIndexInformer<? extends HasMetadata>> informers = new ArrayList<>();

    GarbageCollector(KubernetesClient client) {
        this.client = client;
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "agent-runtime-k8s-sim-garbage-collector");
            t.setDaemon(true);
            return t;
        });
    }

    void start() {
        for (Class<? extends HasMetadata> kind : KINDS) {
            informers.add(inform(kind));
        }
    }

    private <T extends HasMetadata> SharedIndexInformer<T> inform(Class<T> kind) {
        return client.resources(kind).inAnyNamespace().inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(T object) {
                objects.put(object.getMetadata().getUid(), object);
                worker.execute(() -> examine(object));
            }

            @Override
            public void onUpdate(T oldObject, T object) {
                objects.put(object.getMetadata().getUid(), object);
                worker.execute(() -> examine(object));
            }

            @Override
            public void onDelete(T object, boolean deletedFinalStateUnknown) {
                objects.remove(object.getMetadata().getUid());
                worker.execute(() -> ownerGone(object));
            }
        }, 0);
    }

    private void examine(HasMetadata object) {
        try {
            var meta = object.getMetadata();
            if (meta.getDeletionTimestamp() == null && !meta.getOwnerReferences().isEmpty()) {
                verifyOwners(object);
            }
            if (meta.getDeletionTimestamp() != null) {
                if (meta.getFinalizers().contains(SimulatedApiServer.FOREGROUND)) {
                    deleteDependentsInForeground(object);
                }
                if (meta.getFinalizers().contains(SimulatedApiServer.ORPHAN)) {
                    orphanDependents(object);
                }
                if (object instanceof PersistentVolumeClaim pvc
                        && meta.getFinalizers().contains(SimulatedApiServer.PVC_PROTECTION) && !inUse(pvc)) {
                    removeFinalizer(object, SimulatedApiServer.PVC_PROTECTION);
                }
            }
            if (object instanceof Pod pod && isTerminal(pod)) {
                releaseClaims(pod);
            }
        } catch (RuntimeException e) {
            LOG.debug("garbage collector: {} {}: {}", object.getKind(), object.getMetadata().getName(), e.toString());
        }
    }

    /** Background deletion: the owner is gone, so are its dependents whose owners are all gone. */
    private void ownerGone(HasMetadata owner) {
        String uid = owner.getMetadata().getUid();
        for (HasMetadata dependent : List.copyOf(objects.values())) {
            if (dependent.getMetadata().getOwnerReferences().stream().anyMatch(r -> uid.equals(r.getUid()))) {
                try {
                    verifyOwners(dependent);
                } catch (RuntimeException e) {
                    LOG.debug("garbage collector: {}: {}", dependent.getMetadata().getName(), e.toString());
                }
            }
        }
        for (HasMetadata other : List.copyOf(objects.values())) {
            if (other.getMetadata().getDeletionTimestamp() != null) {
                worker.execute(() -> examine(other));
            }
        }
        if (owner instanceof Pod pod) {
            releaseClaims(pod);
        }
    }

    private void verifyOwners(HasMetadata dependent) {
        List<OwnerReference> refs = dependent.getMetadata().getOwnerReferences();
        List<OwnerReference> dangling = new ArrayList<>();
        for (OwnerReference ref : refs) {
            Class<? extends HasMetadata> kind = kindOf(ref);
            if (kind == null) {
                continue;
            }
            HasMetadata owner = client.resources(kind).inNamespace(dependent.getMetadata().getNamespace())
                    .withName(ref.getName()).get();
            if (owner == null || !Objects.equals(owner.getMetadata().getUid(), ref.getUid())) {
                dangling.add(ref);
            }
        }
        if (dangling.isEmpty()) {
            return;
        }
        var resource = client.resources(dependent.getClass()).inNamespace(dependent.getMetadata().getNamespace())
                .withName(dependent.getMetadata().getName());
        if (dangling.size() == refs.size()) {
            boolean owns = objects.values().stream().anyMatch(o -> o.getMetadata().getOwnerReferences().stream()
                    .anyMatch(r -> dependent.getMetadata().getUid().equals(r.getUid())));
            resource.withPropagationPolicy(owns ? DeletionPropagation.FOREGROUND : DeletionPropagation.BACKGROUND).delete();
        } else {
            resource.edit(o -> {
                o.getMetadata().getOwnerReferences().removeIf(r -> dangling.stream().anyMatch(d -> d.getUid().equals(r.getUid())));
                return o;
            });
        }
    }

    private void deleteDependentsInForeground(HasMetadata owner) {
        String uid = owner.getMetadata().getUid();
        boolean blocking = false;
        for (HasMetadata dependent : List.copyOf(objects.values())) {
            var ref = dependent.getMetadata().getOwnerReferences().stream().filter(r -> uid.equals(r.getUid())).findFirst();
            if (ref.isEmpty()) {
                continue;
            }
            if (Boolean.TRUE.equals(ref.get().getBlockOwnerDeletion())) {
                blocking = true;
            }
            if (dependent.getMetadata().getDeletionTimestamp() == null) {
                boolean owns = objects.values().stream().anyMatch(o -> o.getMetadata().getOwnerReferences().stream()
                        .anyMatch(r -> dependent.getMetadata().getUid().equals(r.getUid())));
                client.resources(dependent.getClass()).inNamespace(dependent.getMetadata().getNamespace())
                        .withName(dependent.getMetadata().getName())
                        .withPropagationPolicy(owns ? DeletionPropagation.FOREGROUND : DeletionPropagation.BACKGROUND)
                        .delete();
            }
        }
        if (!blocking) {
            removeFinalizer(owner, SimulatedApiServer.FOREGROUND);
        }
    }

    private void orphanDependents(HasMetadata owner) {
        String uid = owner.getMetadata().getUid();
        for (HasMetadata dependent : List.copyOf(objects.values())) {
            if (dependent.getMetadata().getOwnerReferences().stream().anyMatch(r -> uid.equals(r.getUid()))) {
                client.resources(dependent.getClass()).inNamespace(dependent.getMetadata().getNamespace())
                        .withName(dependent.getMetadata().getName()).edit(o -> {
                            o.getMetadata().getOwnerReferences().removeIf(r -> uid.equals(r.getUid()));
                            return o;
                        });
            }
        }
        removeFinalizer(owner, SimulatedApiServer.ORPHAN);
    }

    private void removeFinalizer(HasMetadata object, String finalizer) {
        client.resources(object.getClass()).inNamespace(object.getMetadata().getNamespace())
                .withName(object.getMetadata().getName()).edit(o -> {
                    o.getMetadata().getFinalizers().remove(finalizer);
                    return o;
                });
    }

    /** The PVC-protection controller: a claim being deleted goes once no running pod mounts it. */
    private boolean inUse(PersistentVolumeClaim pvc) {
        for (HasMetadata o : objects.values()) {
            if (o instanceof Pod pod && !isTerminal(pod)
                    && Objects.equals(pod.getMetadata().getNamespace(), pvc.getMetadata().getNamespace())
                    && pod.getSpec().getVolumes().stream().anyMatch(v -> v.getPersistentVolumeClaim() != null
                            && v.getPersistentVolumeClaim().getClaimName().equals(pvc.getMetadata().getName()))) {
                return true;
            }
        }
        return false;
    }

    private void releaseClaims(Pod pod) {
        for (HasMetadata o : List.copyOf(objects.values())) {
            if (o instanceof PersistentVolumeClaim pvc && pvc.getMetadata().getDeletionTimestamp() != null) {
                worker.execute(() -> examine(pvc));
            }
        }
    }

    private static boolean isTerminal(Pod pod) {
        String phase = pod.getStatus() == null ? "" : pod.getStatus().getPhase();
        return "Failed".equals(phase) || "Succeeded".equals(phase);
    }

    private static Class<? extends HasMetadata> kindOf(OwnerReference ref) {
        String apiVersion = Objects.requireNonNullElse(ref.getApiVersion(), "");
        for (Class<? extends HasMetadata> kind : KINDS) {
            if (kind.getSimpleName().equals(ref.getKind())
                    && apiVersion.equals(HasMetadata.getApiVersion(kind))) {
                return kind;
            }
        }
        return null;
    }

    @Override
    public void close() {
        informers.forEach(SharedIndexInformer::close);
        worker.shutdownNow();
    }
}
