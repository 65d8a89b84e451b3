package dev.agentruntime.kubernetes;

import dev.agentruntime.Capability;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.Secret;
import dev.agentruntime.kubernetes.internal.KubernetesClients;
import dev.agentruntime.kubernetes.internal.KubernetesErrors;
import dev.agentruntime.kubernetes.internal.PodEvents;
import dev.agentruntime.kubernetes.internal.PodStates;
import dev.agentruntime.kubernetes.internal.PodWatch;
import dev.agentruntime.kubernetes.internal.SandboxManifests;
import dev.agentruntime.kubernetes.internal.ServerAccess;
import dev.agentruntime.spi.ActionServerRuntime;
import dev.agentruntime.spi.ServerEndpoint;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.SessionLabels;
import dev.agentruntime.spi.StartupLog;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sandbox as a Kubernetes pod. Usually made by {@link dev.agentruntime.RuntimeFactory} for
 * {@code type("kubernetes")}:
 *
 * <pre>{@code
 * RuntimeConfig config = RuntimeConfig.builder().type("kubernetes")
 *         .backendConfig(KubernetesConfig.builder().namespace("sandboxes")
 *                 .image("python:3.12-slim").serverImage("registry.example/agent-runtime-server:0.1.0").build())
 *         .build();
 * try (dev.agentruntime.Runtime sandbox = RuntimeFactory.create(config)) {
 *     sandbox.connect();
 *     System.out.println(sandbox.run("uname -a").content());
 * }
 * }</pre>
 *
 * <h2>Lifecycle</h2>
 * {@link #connect()} creates, against one deadline: the workspace claim (when configured and absent), a Secret with
 * the session key, the pod ({@link SandboxManifests}: restartPolicy Never, readiness probe on {@code /alive},
 * {@code activeDeadlineSeconds} as a hard TTL, the service account's token not mounted), then the Service and the
 * optional Ingress and NetworkPolicy owned by the pod. It then follows the pod by WATCH until it is Ready or fails
 * for good ({@link PodStartupException} with the pod's Events and the failed container's last log lines; the deadline
 * gives a {@link RuntimeTimeoutException} with the same), and chooses how to reach the server
 * ({@link KubernetesConfig.Access}). {@link #close()} deletes the pod (the garbage collector removes what it owns)
 * unless keep-alive; the workspace claim stays until {@link KubernetesSandboxes#delete(String)}.
 * {@link RuntimeConfig#attachToExisting()} finds the session's pod by its labels and reads the key from its Secret.
 *
 * <h2>No pause</h2>
 * Kubernetes cannot freeze a pod: {@link Capability#PAUSE_RESUME} is not declared. What a user gets instead: keep the
 * sandbox with keep-alive and attach to it later by session id, or close it and start again on the kept workspace
 * claim (files survive, processes do not).
 */
public final class KubernetesRuntime extends ActionServerRuntime {

    private static final Logger log = LoggerFactory.getLogger(KubernetesRuntime.class);
    private static final int LOG_LINES = 40;
    private static final java.time.Duration EVENT_PATIENCE = java.time.Duration.ofSeconds(2);

    /**
     * What this runtime knows of its pod, replaced as a whole.
     *
     * @param createdHere made by this runtime (a failed start removes it; an attached one is left to its owner)
     */
    private record Sandbox(String uid, boolean createdHere, Optional<ServerAccess.Route> route) {
    }

    private final KubernetesConfig k8s;
    private final Secret sessionApiKey;
    private volatile KubernetesClients.Handle handle;
    private volatile SandboxManifests manifests;
    private volatile Sandbox sandbox;
    /** The last pod state seen, for {@link #sandboxRunning()} and failure messages. */
    private volatile Pod lastSeen;
    /** The pod's Events while it starts (closed once it is ready). */
    private volatile PodEvents events;

    public KubernetesRuntime(RuntimeConfig config) {
        super(config);
        this.k8s = KubernetesConfig.from(config);
        this.sessionApiKey = config.sessionApiKeyOrGenerate();
    }

    public KubernetesConfig kubernetesConfig() {
        return k8s;
    }

    /** The pod's name, {@code <namePrefix>-<session>} (see {@link SandboxManifests#podName(String, String)}). */
    public String podName() {
        return SandboxManifests.podName(k8s.namePrefix(), config.sessionId());
    }

    /** How the server is reached, once connected. */
    public Optional<KubernetesConfig.Access> access() {
        Sandbox current = sandbox;
        return current == null ? Optional.empty() : current.route().map(ServerAccess.Route::access);
    }

    @Override
    public Set<Capability> capabilities() {
        EnumSet<Capability> caps = serverCapabilities();
        caps.addAll(EnumSet.of(Capability.WEB_HOSTS, Capability.ATTACH, Capability.ISOLATION));
        return Collections.unmodifiableSet(caps);
    }

    @Override
    public Map<String, Integer> webHosts() {
        Sandbox current = sandbox;
        return current == null || current.route().isEmpty() ? Map.of() : current.route().get().webHosts();
    }

    // ------------------------------------------------------------------------------------------------ start ---

    @Override
    protected ServerEndpoint startSandbox(Instant deadline) {
        KubernetesClients.Handle h = KubernetesClients.open(k8s);
        handle = h;
        SessionLabels labels = SessionLabels.forSession(config);
        SandboxManifests m = new SandboxManifests(k8s, h.namespace(), config.sessionId(), labels);
        manifests = m;
        Secret key;
        Pod pod;
        events = PodEvents.follow(h.client(), m.namespace(), m.podName());
        if (config.attachToExisting()) {
            pod = findForAttach(h, m);
            events.podUid(pod.getMetadata().getUid());
            sandbox = new Sandbox(pod.getMetadata().getUid(), false, Optional.empty());
            key = config.sessionApiKey().orElseGet(() -> keyFromSecret(h, m));
        } else {
            key = sessionApiKey;
            pod = create(h, m, labels, key);
        }
        setStatus(RuntimeStatus.STARTING_RUNTIME, "Waiting for pod " + m.podName() + " in namespace "
                + m.namespace() + " to become ready");
        PodWatch.Outcome outcome = PodWatch.awaitReady(h.client(), m.namespace(), pod, deadline, seen -> lastSeen = seen);
        if (!outcome.verdict().ready()) {
            throw failure(outcome, deadline);
        }
        closeEvents();
        Pod ready = outcome.pod().orElseThrow();
        ServerAccess.Route route = new ServerAccess(h.client(), k8s, m).open(ready, KubernetesClients.runningInCluster());
        sandbox = new Sandbox(sandbox.uid(), sandbox.createdHere(), Optional.of(route));
        log.info("sandbox {}: pod {} ready, server reached by {} at {}", id(), m.podName(), route.access(),
                route.server());
        return ServerEndpoint.of(route.server(), key);
    }

    private Pod create(KubernetesClients.Handle h, SandboxManifests m, SessionLabels labels, Secret key) {
        KubernetesClient client = h.client();
        String ns = m.namespace();
        ServerLaunch launch = ServerLaunch.forSession(config).sessionApiKey(key)
                .java(m.serverDir() + "/jre/bin/java").jar(m.serverDir() + "/runtime-server.jar")
                .port(KubernetesConfig.SERVER_PORT)
                .appPorts(KubernetesConfig.VSCODE_PORT, KubernetesConfig.APP_PORT_1, KubernetesConfig.APP_PORT_2)
                .keyDelivery(new ServerLaunch.KeyDelivery.File(SandboxManifests.KEY_FILE)).build();
        Pod manifest = m.pod(launch, config.sandboxWorkspace());
        if (k8s.pvcSize().isPresent()) {
            call("reading the workspace claim " + m.claimName(), h, () -> {
                if (client.persistentVolumeClaims().inNamespace(ns).withName(m.claimName()).get() == null) {
                    client.persistentVolumeClaims().inNamespace(ns).resource(m.claim()).create();
                }
                return null;
            });
        }
        io.fabric8.kubernetes.api.model.Secret secret = m.keySecret(key);
        call("creating Secret " + m.secretName(), h, () -> {
            try {
                return client.secrets().inNamespace(ns).resource(secret).create();
            } catch (KubernetesClientException e) {
                if (e.getCode() == 409 && client.pods().inNamespace(ns).withName(m.podName()).get() == null) {
                    // left by a start that died before its pod existed: ours by its labels, replace it
                    client.secrets().inNamespace(ns).withName(m.secretName()).delete();
                    return client.secrets().inNamespace(ns).resource(secret).create();
                }
                throw e;
            }
        });
        Pod pod;
        try {
            pod = client.pods().inNamespace(ns).resource(manifest).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                throw new RuntimeStartupException("Pod " + m.podName() + " already exists in namespace " + ns
                        + ", so session " + config.sessionId() + " is in use. Attach to it with attachToExisting(true),"
                        + " choose another session id, or remove it with KubernetesSandboxes.delete(\""
                        + config.sessionId() + "\").", e);
            }
            deleteQuietly(() -> client.secrets().inNamespace(ns).withName(m.secretName()).delete());
            throw KubernetesErrors.map(e, "Creating pod " + m.podName() + " in namespace " + ns, h.where());
        }
        sandbox = new Sandbox(pod.getMetadata().getUid(), true, Optional.empty());
        events.podUid(pod.getMetadata().getUid());
        lastSeen = pod;
        log.info("sandbox {}: created pod {} in namespace {} from {}", id(), m.podName(), ns, k8s.image());
        call("owning Secret " + m.secretName() + " by the pod", h, () -> client.secrets().inNamespace(ns)
                .withName(m.secretName()).edit(s -> {
                    s.getMetadata().setOwnerReferences(List.of(SandboxManifests.ownedBy(pod)));
                    return s;
                }));
        List<HasMetadata> dependents = new ArrayList<>();
        dependents.add(m.service(pod));
        k8s.ingressDomain().ifPresent(d -> dependents.add(m.ingress(pod)));
        if (k8s.networkPolicy()) {
            dependents.add(m.networkPolicy(pod));
        }
        for (HasMetadata dependent : dependents) {
            call("creating " + dependent.getKind() + " " + dependent.getMetadata().getName(), h,
                    () -> client.resource(dependent).inNamespace(ns).create());
        }
        return pod;
    }

    private Pod findForAttach(KubernetesClients.Handle h, SandboxManifests m) {
        List<Pod> pods = call("listing the pods of session " + config.sessionId(), h, () -> h.client().pods()
                .inNamespace(m.namespace()).withLabels(sandboxSelector()).list().getItems());
        if (pods.isEmpty()) {
            throw new RuntimeNotFoundException("No sandbox to attach to for session " + config.sessionId()
                    + ": no pod in namespace " + m.namespace() + " carries its labels " + sandboxSelector()
                    + ". It was removed (closed without keep-alive, its TTL " + k8s.ttl() + " passed, reaped) or never"
                    + " created; connect without attachToExisting to create one.");
        }
        Pod pod = pods.get(0);
        lastSeen = pod;
        if (pod.getMetadata().getDeletionTimestamp() != null || PodStates.terminal(pod)) {
            throw new RuntimeNotFoundException("The sandbox pod " + pod.getMetadata().getName() + " of session "
                    + config.sessionId() + " has ended (" + PodStates.describe(pod) + "); a pod with restartPolicy"
                    + " Never does not start again. Delete it (KubernetesSandboxes.delete) and connect anew.");
        }
        log.info("sandbox {}: attaching to pod {} ({})", id(), pod.getMetadata().getName(), PodStates.describe(pod));
        return pod;
    }

    private Map<String, String> sandboxSelector() {
        Map<String, String> selector = new LinkedHashMap<>(SessionLabels.kubernetesSessionSelector(config.sessionId()));
        selector.put(SessionLabels.KUBERNETES_PREFIX + SessionLabels.ROLE, SessionLabels.ROLE_SANDBOX);
        return selector;
    }

    private Secret keyFromSecret(KubernetesClients.Handle h, SandboxManifests m) {
        io.fabric8.kubernetes.api.model.Secret secret = call("reading Secret " + m.secretName(), h,
                () -> h.client().secrets().inNamespace(m.namespace()).withName(m.secretName()).get());
        if (secret == null || secret.getData() == null || secret.getData().get(SandboxManifests.SECRET_KEY) == null) {
            throw new InvalidConfigException("Attaching to session " + config.sessionId() + " needs its session key:"
                    + " Secret " + m.secretName() + " is missing, so set RuntimeConfig.sessionApiKey to the key it was"
                    + " created with.");
        }
        return Secret.of(new String(Base64.getDecoder().decode(secret.getData().get(SandboxManifests.SECRET_KEY)),
                StandardCharsets.UTF_8));
    }

    private <T> T call(String what, KubernetesClients.Handle h, Supplier<T> action) {
        try {
            return action.get();
        } catch (KubernetesClientException e) {
            throw KubernetesErrors.map(e, what + " in namespace " + manifests.namespace(), h.where());
        }
    }

    // ---------------------------------------------------------------------------------------------- failure ---

    private RuntimeException failure(PodWatch.Outcome outcome, Instant deadline) {
        SandboxManifests m = manifests;
        PodStates.Verdict verdict = outcome.verdict();
        Optional<String> container = verdict.container();
        if (container.isEmpty() && verdict.problem().isEmpty()) {
            container = Optional.of(SandboxManifests.SANDBOX_CONTAINER);
        }
        StartupLog tail = useStartupLog(new StartupLog(null));
        container.ifPresent(c -> podLog(c).forEach(tail::line));
        tail.end();
        PodEvents seen = events;
        String eventText = "";
        if (seen != null) {
            // the Warning that explains the failure is written just after the status that shows it
            verdict.problem().filter(p -> EnumSet.of(PodStartupException.Problem.IMAGE_PULL,
                    PodStartupException.Problem.UNSCHEDULABLE, PodStartupException.Problem.CONTAINER_CONFIG,
                    PodStartupException.Problem.CRASH_LOOP).contains(p)).ifPresent(p -> seen.await(
                            e -> "Warning".equals(e.getType()), EVENT_PATIENCE));
            eventText = seen.describe();
        }
        String events = eventText;
        if (outcome.timedOut()) {
            return new RuntimeTimeoutException("Sandbox " + id() + ": pod " + m.podName() + " in namespace "
                    + m.namespace() + " was not ready within the startup timeout " + config.startupTimeout()
                    + " (deadline " + deadline + "): " + verdict.summary() + "." + events + " " + tail.describe());
        }
        PodStartupException.Problem problem = verdict.problem().orElseThrow();
        String advice = switch (problem) {
            case IMAGE_PULL -> " Check the image name and tag, that the node can reach its registry, and"
                    + " imagePullSecrets for a private one.";
            case UNSCHEDULABLE -> " No node can take the pod: lower its requests, or fix nodeSelector/tolerations.";
            case CONTAINER_EXITED, CRASH_LOOP -> " The container's last log lines say why it stopped.";
            case CONTAINER_CONFIG -> " The kubelet could not create the container.";
            case POD_FAILED -> " The pod ended (its TTL, activeDeadlineSeconds " + k8s.ttl().getSeconds()
                    + " s, or an eviction).";
            case DELETED -> " Something else deleted it (a user, a namespace deletion, a reaper).";
        };
        return new PodStartupException(problem, m.podName(), "Sandbox " + id() + ": pod " + m.podName()
                + " in namespace " + m.namespace() + " failed to start: " + verdict.summary() + "." + advice + events
                + (tail.lastLines().isEmpty() ? "" : " " + tail.describe()));
    }

    private List<String> podLog(String container) {
        KubernetesClients.Handle h = handle;
        SandboxManifests m = manifests;
        if (h == null || m == null) {
            return List.of();
        }
        try {
            String text = h.client().pods().inNamespace(m.namespace()).withName(m.podName()).inContainer(container)
                    .tailingLines(LOG_LINES).getLog();
            return text == null || text.isEmpty() ? List.of() : List.of(text.split("\n"));
        } catch (KubernetesClientException e) {
            return List.of(); // a container that never started has no log
        }
    }

    @Override
    protected boolean sandboxRunning() {
        Pod pod = lastSeen;
        return pod == null || !PodStates.terminal(pod);
    }

    @Override
    protected String failureContext() {
        Pod pod = lastSeen;
        SandboxManifests m = manifests;
        if (pod == null || m == null) {
            return "";
        }
        return "Pod " + m.podName() + " in namespace " + m.namespace() + ": " + PodStates.describe(pod) + ".";
    }

    private void closeEvents() {
        PodEvents current = events;
        events = null;
        if (current != null) {
            current.close();
        }
    }

    // ------------------------------------------------------------------------------------------------- stop ---

    @Override
    protected void stopSandbox() {
        KubernetesClients.Handle h = handle;
        SandboxManifests m = manifests;
        Sandbox current = sandbox;
        closeEvents();
        try {
            if (current != null) {
                current.route().ifPresent(ServerAccess.Route::close);
            }
            if (h == null || m == null) {
                return;
            }
            boolean failedStart = !isClosed();
            boolean remove = failedStart ? current == null || current.createdHere() : !config.keepAlive();
            if (remove) {
                remove(h, m);
            } else if (config.keepAlive()) {
                log.info("sandbox {}: keep-alive: pod {} left running (until its TTL of {})", id(), m.podName(),
                        k8s.ttl());
            }
        } finally {
            sandbox = null;
            handle = null;
            if (h != null) {
                h.close();
            }
        }
    }

    /** Deletes the pod (its dependents follow it) and anything of this session the owner reference missed. */
    private void remove(KubernetesClients.Handle h, SandboxManifests m) {
        KubernetesClient client = h.client();
        String ns = m.namespace();
        Map<String, String> session = SessionLabels.kubernetesSessionSelector(config.sessionId());
        deleteQuietly(() -> client.pods().inNamespace(ns).withName(m.podName()).delete());
        deleteQuietly(() -> client.secrets().inNamespace(ns).withLabels(session).delete());
        deleteQuietly(() -> client.services().inNamespace(ns).withLabels(session).delete());
        if (k8s.ingressDomain().isPresent()) {
            deleteQuietly(() -> client.network().v1().ingresses().inNamespace(ns).withLabels(session).delete());
        }
        if (k8s.networkPolicy()) {
            deleteQuietly(() -> client.network().v1().networkPolicies().inNamespace(ns).withLabels(session).delete());
        }
        log.info("sandbox {}: deleted pod {} in namespace {}", id(), m.podName(), ns);
    }

    private void deleteQuietly(Runnable delete) {
        try {
            delete.run();
        } catch (KubernetesClientException e) {
            log.warn("sandbox {}: cleaning up failed: {}. Remove what is left with KubernetesSandboxes.delete(\"{}\")",
                    id(), e.getMessage(), config.sessionId());
        }
    }

    @Override
    public String toString() {
        return "KubernetesRuntime[" + id() + ", pod=" + podName() + ", status=" + status() + "]";
    }
}
