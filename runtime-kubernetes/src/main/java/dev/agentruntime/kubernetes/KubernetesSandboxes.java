package dev.agentruntime.kubernetes;

import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.kubernetes.internal.KubernetesClients;
import dev.agentruntime.kubernetes.internal.KubernetesErrors;
import dev.agentruntime.spi.SessionLabels;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Housekeeping of the sandboxes in one namespace, by the kit's session labels (never by name): {@link #list()} shows
 * every session's pod (state = its phase, {@code Terminating} while it is deleted) and, for sessions without a pod,
 * what is left of them (a kept workspace claim, or objects a crashed start left before its pod existed);
 * {@link #delete(String)} removes all of a session including its workspace claim; {@link #reap()} removes the pods
 * whose owning process is gone or that have ended (their TTL passed, the server exited), keeping workspace claims.
 */
public final class KubernetesSandboxes implements SandboxHousekeeping {

    /** The state of a session that has only its kept workspace claim. */
    public static final String STATE_WORKSPACE_KEPT = "WorkspaceKept";

    private final KubernetesClients.Handle handle;

    private KubernetesSandboxes(KubernetesClients.Handle handle) {
        this.handle = handle;
    }

    public static KubernetesSandboxes connect(KubernetesConfig config) {
        return new KubernetesSandboxes(KubernetesClients.open(config));
    }

    public String namespace() {
        return handle.namespace();
    }

    private KubernetesClient client() {
        return handle.client();
    }

    @Override
    public List<SandboxInfo> list() {
        Map<String, String> managed = SessionLabels.kubernetesManagedSelector();
        String ns = handle.namespace();
        List<SandboxInfo> infos = new ArrayList<>();
        Set<String> withPod = new LinkedHashSet<>();
        for (Pod pod : call("listing pods", () -> client().pods().inNamespace(ns).withLabels(managed).list()
                .getItems())) {
            Optional<SessionLabels> labels = parse(pod);
            if (labels.isEmpty() || !SessionLabels.ROLE_SANDBOX.equals(labels.get().role())) {
                continue;
            }
            withPod.add(labels.get().sessionId());
            String state = pod.getMetadata().getDeletionTimestamp() != null ? "Terminating"
                    : Optional.ofNullable(pod.getStatus()).map(s -> s.getPhase()).orElse("Pending");
            infos.add(labels.get().toInfo(KubernetesRuntimeProvider.TYPE, pod.getMetadata().getName(), state,
                    merged(pod)));
        }
        // what sessions without a pod left behind
        Map<String, List<HasMetadata>> leftovers = new LinkedHashMap<>();
        for (HasMetadata object : dependents(managed)) {
            parse(object).filter(l -> !withPod.contains(l.sessionId()))
                    .ifPresent(l -> leftovers.computeIfAbsent(l.sessionId(), k -> new ArrayList<>()).add(object));
        }
        leftovers.forEach((session, objects) -> {
            Set<String> kinds = new TreeSet<>();
            objects.forEach(o -> kinds.add(o.getKind()));
            HasMetadata first = objects.get(0);
            String state = kinds.equals(Set.of("PersistentVolumeClaim")) ? STATE_WORKSPACE_KEPT
                    : "Leftover " + String.join(",", kinds);
            infos.add(parse(first).orElseThrow().toInfo(KubernetesRuntimeProvider.TYPE, first.getMetadata().getName(),
                    state, merged(first)));
        });
        return infos;
    }

    private List<HasMetadata> dependents(Map<String, String> selector) {
        String ns = handle.namespace();
        List<HasMetadata> all = new ArrayList<>();
        all.addAll(call("listing Secrets", () -> client().secrets().inNamespace(ns).withLabels(selector).list()
                .getItems()));
        all.addAll(call("listing Services", () -> client().services().inNamespace(ns).withLabels(selector).list()
                .getItems()));
        all.addAll(optional(() -> client().persistentVolumeClaims().inNamespace(ns).withLabels(selector).list()
                .getItems()));
        all.addAll(optional(() -> client().network().v1().ingresses().inNamespace(ns).withLabels(selector).list()
                .getItems()));
        all.addAll(optional(() -> client().network().v1().networkPolicies().inNamespace(ns).withLabels(selector)
                .list().getItems()));
        return all;
    }

    /** Kinds a user may not be allowed to list (no RBAC for them when the features are off): skipped on 403. */
    private static <T> List<T> optional(Supplier<List<T>> list) {
        try {
            return list.get();
        } catch (KubernetesClientException e) {
            if (e.getCode() == 403 || e.getCode() == 404) {
                return List.of();
            }
            throw e;
        }
    }

    private static Map<String, String> merged(HasMetadata object) {
        Map<String, String> all = new LinkedHashMap<>();
        Optional.ofNullable(object.getMetadata().getAnnotations()).ifPresent(all::putAll);
        Optional.ofNullable(object.getMetadata().getLabels()).ifPresent(all::putAll);
        return all;
    }

    private static Optional<SessionLabels> parse(HasMetadata object) {
        return SessionLabels.parse(merged(object));
    }

    /** Removes the session's pod, its dependents and its workspace claim. */
    @Override
    public boolean delete(String sessionId) {
        return remove(sessionId, true);
    }

    private boolean remove(String sessionId, boolean withClaim) {
        String ns = handle.namespace();
        Map<String, String> session = SessionLabels.kubernetesSessionSelector(sessionId);
        boolean removed = !call("deleting pods", () -> client().pods().inNamespace(ns).withLabels(session).delete())
                .isEmpty();
        removed |= !call("deleting Secrets", () -> client().secrets().inNamespace(ns).withLabels(session).delete())
                .isEmpty();
        removed |= !call("deleting Services", () -> client().services().inNamespace(ns).withLabels(session).delete())
                .isEmpty();
        removed |= !optional(() -> client().network().v1().ingresses().inNamespace(ns).withLabels(session).delete())
                .isEmpty();
        removed |= !optional(() -> client().network().v1().networkPolicies().inNamespace(ns).withLabels(session)
                .delete()).isEmpty();
        if (withClaim) {
            removed |= !optional(() -> client().persistentVolumeClaims().inNamespace(ns).withLabels(session)
                    .delete()).isEmpty();
        }
        return removed;
    }

    /**
     * Removes, except keep-alive ones, the sandboxes whose owning process is gone and those whose pod has ended (its
     * TTL passed or its server exited: a pod with restartPolicy Never never runs again), and the leftovers of gone owners'
     * starts that died before their pod existed; workspace claims are kept (remove them with {@link #delete(String)}).
     */
    @Override
    public List<SandboxInfo> reap() {
        List<SandboxInfo> reaped = new ArrayList<>();
        for (SandboxInfo info : list()) {
            if (STATE_WORKSPACE_KEPT.equals(info.state())) {
                continue;
            }
            boolean ended = info.state().equals("Failed") || info.state().equals("Succeeded");
            if ((info.ownerGone() || ended) && !info.keepAlive() && remove(info.sessionId(), false)) {
                reaped.add(info);
            }
        }
        return reaped;
    }

    private <T> T call(String what, Supplier<T> action) {
        try {
            return action.get();
        } catch (KubernetesClientException e) {
            throw KubernetesErrors.map(e, "Housekeeping: " + what + " in namespace " + handle.namespace(),
                    handle.where());
        }
    }

    /** Closes the client when this object made it (never a user-supplied one). */
    @Override
    public void close() {
        handle.close();
    }

    @Override
    public String toString() {
        return "KubernetesSandboxes[" + handle.where() + ", namespace " + handle.namespace() + "]";
    }
}
