package dev.agentruntime.kubernetes.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Volume;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kubelet's pod worker for one pod: every state change of the pod happens on its own thread, in {@link #sync}
 * passes triggered by the pod's API object changing, its containers starting or dying, timers (retry, deadline) and
 * probe results, as the kubelet's pod worker does. The status it writes follows the kubelet's rules that the
 * recordings pin down:
 * <ul>
 *   <li>a sync first writes the status computed from what the previous sync found (its "reason cache": {@code
 *       ErrImagePull}, {@code ImagePullBackOff}, {@code CrashLoopBackOff}, ...), then acts — so status reasons lag
 *       one sync behind the events, exactly as recorded in scenarios 2 and 3;</li>
 *   <li>a terminal phase is only reported once the pod worker has stopped the pod (phase stays Pending/Running
 *       while {@code Ready} already says {@code PodFailed}/{@code PodCompleted});</li>
 *   <li>termination writes the pod's status before the kill, after the kill (terminal phase,
 *       {@code PodReadyToStartContainers=False}), then marks containers that never ran {@code
 *       ContainerStatusUnknown}, and finally confirms the deletion with a grace-0 DELETE.</li>
 * </ul>
 */
final class PodWorker {

    private static final Logger LOG = LoggerFactory.getLogger(PodWorker.class);
    private static final Pattern VAR_REF = Pattern.compile("\\$\\$|\\$\\(([A-Za-z_][A-Za-z0-9_.\\-]*)\\)");
    private static final int MINIMUM_GRACE_SECONDS = 2;

    /** One instance of a container (a restart makes a new one). */
    static final class Run {
        final String name;
        final int attempt;
        final boolean init;
        volatile String dockerId;
        String imageId = "";
        Instant startedAt;
        Instant finishedAt;
        volatile Long exitCode;
        String reason;
        String message;
        volatile boolean running;
        Path terminationLog;
        final List<ScheduledFuture<?>> probeTasks = new CopyOnWriteArrayList<>();
        volatile boolean ready;
        volatile boolean started;
        boolean probesStarted;
        int readinessSuccesses;
        int readinessFailures;
        int livenessFailures;
        int startupSuccesses;

        Run(String name, int attempt, boolean init) {
            this.name = name;
            this.attempt = attempt;
            this.init = init;
        }

        boolean exited() {
            return exitCode != null;
        }
    }

    private final SimulatedNode node;
    private final String uid;
    private final ScheduledExecutorService loop;
    private final BackOff crashBackOff;
    private final BackOff imageBackOff;
    private final Map<String, List<Run>> runs = new ConcurrentHashMap<>();
    private final Map<String, String[]> reasonCache = new HashMap<>();
    private final Map<String, String> lastPullError = new HashMap<>();
    private volatile Pod latest;
    private volatile boolean gone;
    private boolean syncQueued;
    private boolean volumesReady;
    private String sandboxId;
    private String podIp;
    private boolean sandboxReady;
    private Instant startTime;
    private boolean terminationRequested;
    private boolean terminating;
    private boolean finished;
    private boolean deletionConfirmed;
    private boolean cleanedUp;
    private ObjectNode lastWritten;
    private String lastFingerprint = "";
    private long syncs;
    private String reportedPhase = "Pending";
    private String reportedReason;
    private String reportedMessage;
    private ScheduledFuture<?> retry;
    private ScheduledFuture<?> deadline;

    PodWorker(SimulatedNode node, Pod pod) {
        this.node = node;
        this.uid = pod.getMetadata().getUid();
        this.latest = pod;
        this.crashBackOff = new BackOff(node.timing());
        this.imageBackOff = new BackOff(node.timing());
        this.loop = node.newPodLoop(pod.getMetadata().getName());
    }

    // ------------------------------------------------------------------------------------- triggers ---

    /**
     * A new version of the pod from the API. As in the kubelet, a change of the status alone (our own writes coming
     * back) does not start a sync; spec, labels, annotations and deletion do.
     */
    void updated(Pod pod) {
        Pod previous = latest;
        latest = pod;
        if (previous == null || !Objects.equals(previous.getSpec(), pod.getSpec())
                || !Objects.equals(previous.getMetadata().getDeletionTimestamp(), pod.getMetadata().getDeletionTimestamp())
                || !Objects.equals(previous.getMetadata().getDeletionGracePeriodSeconds(),
                        pod.getMetadata().getDeletionGracePeriodSeconds())
                || !Objects.equals(previous.getMetadata().getLabels(), pod.getMetadata().getLabels())
                || !Objects.equals(previous.getMetadata().getAnnotations(), pod.getMetadata().getAnnotations())) {
            signal();
        }
    }

    void deleted(Pod pod) {
        latest = pod;
        gone = true;
        signal();
    }

    /**
     * The PLEG: a container of this pod died (a Docker event) or the periodic relist runs. A sync follows only when
     * the containers' states differ from what the last sync saw, so one death is one sync, as in the kubelet.
     */
    void containerEvent() {
        try {
            loop.execute(() -> {
                if (cleanedUp || finished) {
                    return;
                }
                refresh();
                if (!fingerprint().equals(lastFingerprint)) {
                    runSync();
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // shutting down
        }
    }

    private String fingerprint() {
        StringBuilder s = new StringBuilder();
        for (Map.Entry<String, List<Run>> e : runs.entrySet()) {
            for (Run run : e.getValue()) {
                s.append(e.getKey()).append('/').append(run.attempt).append(run.running ? 'R' : run.exited() ? 'X' : '-');
            }
        }
        return s.toString();
    }

    /** Requests a sync pass; passes requested while one is queued coalesce. */
    void signal() {
        synchronized (this) {
            if (syncQueued || loop.isShutdown()) {
                return;
            }
            syncQueued = true;
        }
        try {
            loop.execute(this::runSync);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // shutting down
        }
    }

    private void runSync() {
        synchronized (this) {
            syncQueued = false;
        }
        try {
            syncs++;
            sync();
            lastFingerprint = fingerprint();
        } catch (RuntimeException e) {
            LOG.warn("simulated kubelet: sync of pod {} failed: {}", name(), e.toString(), e);
            scheduleRetry();
        }
    }

    /** Stops everything this worker runs and removes its containers and files (cluster close). */
    void shutdown() {
        try {
            loop.submit(this::cleanup).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.debug("pod worker {} did not clean up in time: {}", name(), e.toString());
        }
        loop.shutdownNow();
    }

    // ----------------------------------------------------------------------------------------- sync ---

    private void sync() {
        if (cleanedUp) {
            return;
        }
        Pod pod = latest;
        if (gone) {
            if (!finished) {
                killAll(pod, MINIMUM_GRACE_SECONDS);
            }
            cleanup();
            node.forget(uid);
            return;
        }
        if (finished) {
            confirmDeletion(pod);
            return;
        }
        refresh();
        if (terminationRequested) {
            terminate(pod);
            return;
        }
        if (startTime == null) {
            startTime = node.clock().instant().truncatedTo(ChronoUnit.SECONDS);
            scheduleDeadline(pod);
        }
        writeStatus(pod, generate(pod, false));
        startProbesOfReportedContainers(pod);
        if (pod.getMetadata().getDeletionTimestamp() != null || deadlineExceeded(pod) || terminalByRestartPolicy(pod)) {
            terminationRequested = true;
            signal();
            return;
        }
        boolean error = false;
        boolean changed = false;
        if (!volumesReady) {
            String failure = setUpVolumes(pod);
            if (failure != null) {
                node.recorder().record(pod, null, "Warning", "FailedMount", failure);
                scheduleRetry();
                return;
            }
            volumesReady = true;
        }
        if (!sandboxReady) {
            try {
                long t = System.nanoTime();
                createSandbox(pod);
                LOG.debug("pod {}: sandbox up in {} ms", name(), (System.nanoTime() - t) / 1_000_000);
                changed = true;
            } catch (RuntimeException e) {
                node.recorder().record(pod, null, "Warning", "FailedCreatePodSandBox",
                        "Failed to create pod sandbox: " + e.getMessage());
                scheduleRetry();
                return;
            }
        }
        Boolean init = runInitContainers(pod);
        if (init == null) {
            error = true;
        } else if (init) {
            for (Container container : pod.getSpec().getContainers()) {
                Boolean started = ensureRunning(pod, container, false);
                if (started == null) {
                    error = true;
                } else if (started) {
                    changed = true;
                }
            }
        } else {
            changed = true;
        }
        if (changed) {
            // the PLEG notices the started container a little later, unless a container event got here first
            long pleg = node.timing().plegDelay().toMillis();
            long seen = syncs;
            loop.schedule(() -> {
                if (syncs == seen) {
                    signal();
                }
            }, pleg, TimeUnit.MILLISECONDS);
        }
        if (error) {
            scheduleRetry();
        }
    }

    /** True when all init containers are done, false while one runs, null on an error. */
    private Boolean runInitContainers(Pod pod) {
        for (Container container : pod.getSpec().getInitContainers()) {
            Run current = current(container.getName());
            if (current != null && current.exited() && current.exitCode == 0) {
                continue;
            }
            if (current != null && current.running) {
                return false;
            }
            Boolean started = ensureRunning(pod, container, true);
            return started == null ? null : false;
        }
        return true;
    }

    /** Starts the container if it should run: true when started, false when nothing to do, null on an error. */
    private Boolean ensureRunning(Pod pod, Container container, boolean init) {
        Run current = current(container.getName());
        if (current != null && current.running) {
            return false;
        }
        if (current != null) {
            String policy = pod.getSpec().getRestartPolicy();
            boolean restart = policy.equals("Always") || (policy.equals("OnFailure") && current.exitCode != 0);
            if (init && current.exitCode != 0 && policy.equals("Never")) {
                return false;
            }
            if (!restart) {
                return false;
            }
            Instant finishedAt = current.finishedAt == null ? node.clock().instant() : current.finishedAt;
            String key = container.getName();
            Instant now = node.clock().instant();
            if (crashBackOff.inBackOffSince(key, finishedAt, now)) {
                String podRef = formatPod(pod);
                node.recorder().record(pod, fieldPath(container, init), "Warning", "BackOff",
                        "Back-off restarting failed container " + container.getName() + " in pod " + podRef);
                reasonCache.put(container.getName(), new String[] {"CrashLoopBackOff", "back-off "
                        + seconds(crashBackOff.get(key)) + " restarting failed container=" + container.getName()
                        + " pod=" + podRef});
                return null;
            }
            crashBackOff.next(key, finishedAt, now);
        }
        return startContainer(pod, container, init) ? Boolean.TRUE : null;
    }

    // ------------------------------------------------------------------------------------ termination ---

    private void terminate(Pod pod) {
        terminating = true;
        reasonCache.clear();
        writeStatus(pod, generate(pod, false));
        long grace = pod.getMetadata().getDeletionGracePeriodSeconds() != null
                ? pod.getMetadata().getDeletionGracePeriodSeconds()
                : Objects.requireNonNullElse(pod.getSpec().getTerminationGracePeriodSeconds(), 30L);
        killAll(pod, grace);
        killSandbox();
        refresh();
        writeStatus(pod, generate(pod, true));
        ObjectNode terminated = generate(pod, true);
        markUnknownContainers(terminated);
        writeStatus(pod, terminated);
        finished = true;
        cancelTimers();
        node.podTerminated();
        confirmDeletion(latest);
    }

    /** The status manager's grace-0 DELETE once a deleted pod's containers are gone. */
    private void confirmDeletion(Pod pod) {
        if (deletionConfirmed || pod.getMetadata().getDeletionTimestamp() == null) {
            return;
        }
        deletionConfirmed = true;
        try {
            node.client().pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
                    .withGracePeriod(0).delete();
        } catch (RuntimeException e) {
            LOG.debug("grace-0 delete of {} failed: {}", name(), e.toString());
            deletionConfirmed = false;
            scheduleRetry();
        }
    }

    private void killAll(Pod pod, long graceSeconds) {
        long grace = Math.max(graceSeconds, MINIMUM_GRACE_SECONDS);
        List<Run> running = new ArrayList<>();
        for (List<Run> list : runs.values()) {
            for (Run run : list) {
                if (run.running) {
                    running.add(run);
                }
            }
        }
        for (Run run : running) {
            Container spec = spec(pod, run.name);
            node.recorder().record(pod, spec == null ? null : fieldPath(spec, run.init), "Normal", "Killing",
                    "Stopping container " + run.name);
        }
        List<Thread> stoppers = new ArrayList<>();
        for (Run run : running) {
            cancelProbes(run);
            Thread t = new Thread(() -> node.docker().stop(run.dockerId, grace), "agent-runtime-k8s-sim-kill-" + run.name);
            t.setDaemon(true);
            t.start();
            stoppers.add(t);
        }
        for (Thread t : stoppers) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        refresh();
    }

    private void killSandbox() {
        if (sandboxId != null && sandboxReady) {
            node.docker().stop(sandboxId, 0);
        }
        sandboxReady = false;
    }

    private void cleanup() {
        if (cleanedUp) {
            return;
        }
        cleanedUp = true;
        cancelTimers();
        for (List<Run> list : runs.values()) {
            for (Run run : list) {
                cancelProbes(run);
                if (run.dockerId != null) {
                    node.docker().remove(run.dockerId);
                }
            }
        }
        if (sandboxId != null) {
            node.docker().remove(sandboxId);
        }
        SimDocker.deleteTree(node.podDir(uid));
        loop.shutdown();
    }

    // -------------------------------------------------------------------------------------- status ---

    /**
     * The pod status as the kubelet's {@code generateAPIPodStatus} computes it; {@code podIsTerminal} once the pod
     * worker has stopped the pod. Emits {@code DeadlineExceeded} each time it finds the deadline passed.
     */
    private ObjectNode generate(Pod pod, boolean podIsTerminal) {
        ObjectNode status = Serialization.jsonMapper().createObjectNode();
        ArrayNode initStatuses = Serialization.jsonMapper().createArrayNode();
        ArrayNode statuses = Serialization.jsonMapper().createArrayNode();
        boolean hasInit = !pod.getSpec().getInitContainers().isEmpty();
        for (Container c : pod.getSpec().getInitContainers()) {
            initStatuses.add(containerStatus(pod, c, true, hasInit));
        }
        for (Container c : pod.getSpec().getContainers()) {
            statuses.add(containerStatus(pod, c, false, hasInit));
        }
        String phase = phase(pod, initStatuses, statuses, podIsTerminal);
        String reason = null;
        String message = null;
        if (deadlineExceeded(pod)) {
            phase = "Failed";
            reason = "DeadlineExceeded";
            message = "Pod was active on the node longer than the specified deadline";
            node.recorder().record(pod, null, "Normal", "DeadlineExceeded", message);
        }
        String computedPhase = phase;
        if (isTerminal(reportedPhase)) {
            phase = reportedPhase;
        }
        if (!podIsTerminal && isTerminal(phase) && !isTerminal(reportedPhase)) {
            phase = reportedPhase;
            reason = reportedReason;
            message = reportedMessage;
        }
        status.put("phase", phase);
        ArrayNode conditions = status.putArray("conditions");
        conditions.add(condition("PodReadyToStartContainers", sandboxReady, null, null));
        List<String> incomplete = new ArrayList<>();
        for (JsonNode s : initStatuses) {
            JsonNode t = s.path("state").path("terminated");
            if (!(t.isObject() && t.path("exitCode").asInt(-1) == 0)) {
                incomplete.add(s.path("name").asText());
            }
        }
        if (incomplete.isEmpty()) {
            conditions.add(condition("Initialized", true, computedPhase.equals("Succeeded") ? "PodCompleted" : null, null));
        } else {
            conditions.add(condition("Initialized", false, "ContainersNotInitialized",
                    "containers with incomplete status: " + goList(incomplete)));
        }
        List<String> unready = new ArrayList<>();
        for (JsonNode s : statuses) {
            if (!s.path("ready").asBoolean()) {
                unready.add(s.path("name").asText());
            }
        }
        for (String type : List.of("Ready", "ContainersReady")) {
            if (computedPhase.equals("Succeeded")) {
                conditions.add(condition(type, false, "PodCompleted", null));
            } else if (computedPhase.equals("Failed")) {
                conditions.add(condition(type, false, "PodFailed", null));
            } else if (unready.isEmpty()) {
                conditions.add(condition(type, true, null, null));
            } else {
                conditions.add(condition(type, false, "ContainersNotReady",
                        "containers with unready status: " + goList(unready)));
            }
        }
        conditions.add(condition("PodScheduled", true, null, null));
        if (message != null) {
            status.put("message", message);
        }
        if (reason != null) {
            status.put("reason", reason);
        }
        status.put("hostIP", node.hostIp());
        status.putArray("hostIPs").addObject().put("ip", node.hostIp());
        if (podIp != null) {
            status.put("podIP", podIp);
            status.putArray("podIPs").addObject().put("ip", podIp);
        }
        status.put("startTime", startTime.toString());
        if (hasInit) {
            status.set("initContainerStatuses", initStatuses);
        }
        status.set("containerStatuses", statuses);
        status.put("qosClass", ApiRules.qosClass(Serialization.jsonMapper().valueToTree(pod.getSpec())));
        return status;
    }

    private ObjectNode containerStatus(Pod pod, Container spec, boolean init, boolean podHasInit) {
        ObjectNode s = Serialization.jsonMapper().createObjectNode();
        s.put("name", spec.getName());
        List<Run> list = runs.getOrDefault(spec.getName(), List.of());
        Run current = list.isEmpty() ? null : list.get(list.size() - 1);
        Run previous = list.size() > 1 ? list.get(list.size() - 2) : null;
        String[] cached = reasonCache.get(spec.getName());
        ObjectNode state = s.putObject("state");
        ObjectNode lastState = Serialization.jsonMapper().createObjectNode();
        if (current != null && current.running) {
            state.putObject("running").put("startedAt", current.startedAt.truncatedTo(ChronoUnit.SECONDS).toString());
            if (previous != null && !terminating) {
                lastState.set("terminated", terminated(previous));
            }
        } else if (cached != null) {
            ObjectNode waiting = state.putObject("waiting");
            waiting.put("reason", cached[0]);
            if (cached[1] != null) {
                waiting.put("message", cached[1]);
            }
            if (current != null && !terminating) {
                lastState.set("terminated", terminated(current));
            }
        } else if (current != null && current.exited()) {
            state.set("terminated", terminated(current));
            if (previous != null && !terminating) {
                lastState.set("terminated", terminated(previous));
            }
        } else {
            state.putObject("waiting").put("reason", podHasInit && !init ? "PodInitializing"
                    : podHasInit ? "PodInitializing" : "ContainerCreating");
        }
        s.set("lastState", lastState);
        boolean running = current != null && current.running;
        boolean ready;
        if (init) {
            ready = current != null && current.exited() && current.exitCode == 0;
        } else {
            ready = running && (spec.getReadinessProbe() == null || current.ready);
        }
        s.put("ready", ready);
        s.put("restartCount", Math.max(0, list.size() - 1));
        s.put("image", normalizedImage(spec.getImage()));
        s.put("imageID", current == null ? "" : current.imageId);
        if (current != null && current.dockerId != null) {
            s.put("containerID", "containerd://" + current.dockerId);
        }
        s.put("started", running && (spec.getStartupProbe() == null || current.started));
        ArrayNode mounts = s.putArray("volumeMounts");
        for (VolumeMount m : spec.getVolumeMounts()) {
            ObjectNode mount = mounts.addObject();
            mount.put("name", m.getName());
            mount.put("mountPath", m.getMountPath());
            if (Boolean.TRUE.equals(m.getReadOnly())) {
                mount.put("readOnly", true);
            }
            mount.put("recursiveReadOnly", "Disabled");
        }
        if (mounts.isEmpty()) {
            s.remove("volumeMounts");
        }
        return s;
    }

    private static ObjectNode terminated(Run run) {
        ObjectNode t = Serialization.jsonMapper().createObjectNode();
        t.put("exitCode", run.exitCode);
        t.put("reason", run.reason);
        if (run.message != null && !run.message.isEmpty()) {
            t.put("message", run.message);
        }
        t.put("startedAt", run.startedAt == null ? null : run.startedAt.truncatedTo(ChronoUnit.SECONDS).toString());
        t.put("finishedAt", run.finishedAt == null ? null : run.finishedAt.truncatedTo(ChronoUnit.SECONDS).toString());
        if (run.dockerId != null) {
            t.put("containerID", "containerd://" + run.dockerId);
        }
        return t;
    }

    /** The status manager's TerminatePod: a container that never reached a terminated state is reported lost. */
    private static void markUnknownContainers(ObjectNode status) {
        for (String list : List.of("initContainerStatuses", "containerStatuses")) {
            for (JsonNode s : status.path(list)) {
                if (!s.path("state").has("terminated")) {
                    ObjectNode state = ((ObjectNode) s).putObject("state");
                    ObjectNode t = state.putObject("terminated");
                    t.put("exitCode", 137);
                    t.put("reason", "ContainerStatusUnknown");
                    t.put("message", "The container could not be located when the pod was terminated");
                    t.putNull("startedAt");
                    t.putNull("finishedAt");
                    ((ObjectNode) s).put("ready", false);
                    ((ObjectNode) s).put("started", false);
                }
            }
        }
        if (!isTerminal(status.path("phase").asText())) {
            status.put("phase", "Failed");
        }
    }

    /** The kubelet's {@code getPhase} (v1.32), over the statuses just generated. */
    private static String phase(Pod pod, ArrayNode initStatuses, ArrayNode statuses, boolean podIsTerminal) {
        String policy = pod.getSpec().getRestartPolicy();
        int pendingInit = 0;
        int failedInit = 0;
        for (JsonNode s : initStatuses) {
            JsonNode state = s.path("state");
            if (state.has("running")) {
                pendingInit++;
            } else if (state.has("terminated")) {
                if (state.path("terminated").path("exitCode").asInt() != 0) {
                    failedInit++;
                }
            } else if (s.path("lastState").has("terminated")) {
                if (s.path("lastState").path("terminated").path("exitCode").asInt() != 0) {
                    failedInit++;
                }
            } else {
                pendingInit++;
            }
        }
        int running = 0;
        int waiting = 0;
        int stopped = 0;
        int succeeded = 0;
        for (JsonNode s : statuses) {
            JsonNode state = s.path("state");
            if (state.has("running")) {
                running++;
            } else if (state.has("terminated")) {
                stopped++;
                if (state.path("terminated").path("exitCode").asInt() == 0) {
                    succeeded++;
                }
            } else if (s.path("lastState").has("terminated")) {
                stopped++;
            } else {
                waiting++;
            }
        }
        if (failedInit > 0 && policy.equals("Never")) {
            return "Failed";
        }
        if (pendingInit > 0 || (failedInit > 0 && !podIsTerminal)) {
            return failedInit > 0 && podIsTerminal ? "Failed" : "Pending";
        }
        if (waiting > 0) {
            return "Pending";
        }
        if (running > 0) {
            return "Running";
        }
        if (stopped > 0) {
            if (podIsTerminal) {
                return stopped == succeeded ? "Succeeded" : "Failed";
            }
            if (policy.equals("Always")) {
                return "Running";
            }
            if (stopped == succeeded) {
                return "Succeeded";
            }
            if (policy.equals("Never")) {
                return "Failed";
            }
            return "Running";
        }
        return "Pending";
    }

    private ObjectNode condition(String type, boolean value, String reason, String message) {
        ObjectNode c = Serialization.jsonMapper().createObjectNode();
        c.put("type", type);
        String status = value ? "True" : "False";
        c.put("status", status);
        c.putNull("lastProbeTime");
        String transition = null;
        JsonNode previous = lastWritten == null ? null : findCondition(lastWritten, type);
        if (previous == null && type.equals("PodScheduled")) {
            Pod pod = latest;
            if (pod.getStatus() != null) {
                for (var existing : pod.getStatus().getConditions()) {
                    if (existing.getType().equals(type) && status.equals(existing.getStatus())) {
                        transition = existing.getLastTransitionTime();
                    }
                }
            }
        }
        if (previous != null && previous.path("status").asText().equals(status)) {
            transition = previous.path("lastTransitionTime").asText();
        }
        c.put("lastTransitionTime", transition != null ? transition
                : node.clock().instant().truncatedTo(ChronoUnit.SECONDS).toString());
        if (reason != null) {
            c.put("reason", reason);
        }
        if (message != null) {
            c.put("message", message);
        }
        return c;
    }

    private static JsonNode findCondition(JsonNode status, String type) {
        for (JsonNode c : status.path("conditions")) {
            if (c.path("type").asText().equals(type)) {
                return c;
            }
        }
        return null;
    }

    /** The status manager: writes through the status subresource only when something changed. */
    private void writeStatus(Pod pod, ObjectNode status) {
        if (status.equals(lastWritten)) {
            return;
        }
        ObjectNode patchStatus = status.deepCopy();
        JsonNode current = Serialization.jsonMapper().valueToTree(pod.getStatus());
        current.fieldNames().forEachRemaining(field -> {
            if (!patchStatus.has(field)) {
                patchStatus.putNull(field);
            }
        });
        ObjectNode patch = Serialization.jsonMapper().createObjectNode();
        patch.set("status", patchStatus);
        try {
            node.client().pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
                    .subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
            lastWritten = status;
            reportedPhase = status.path("phase").asText();
            reportedReason = status.has("reason") ? status.path("reason").asText() : null;
            reportedMessage = status.has("message") ? status.path("message").asText() : null;
        } catch (RuntimeException e) {
            LOG.debug("status write of {} failed: {}", name(), e.toString());
        }
    }

    // ------------------------------------------------------------------------------------ containers ---

    private boolean startContainer(Pod pod, Container spec, boolean init) {
        String field = fieldPath(spec, init);
        String image = spec.getImage();
        String local = node.localImage(image);
        String policy = spec.getImagePullPolicy() == null ? ApiRules.defaultPullPolicy(image) : spec.getImagePullPolicy();
        String imageId = node.docker().imageId(local).orElse(null);
        String backOffKey = uid + "_" + image;
        EventRecorder events = node.recorder();
        if (policy.equals("Never") && imageId == null) {
            String message = "Container image \"" + image + "\" is not present with pull policy of Never";
            events.record(pod, field, "Warning", "ErrImageNeverPull", message);
            events.record(pod, field, "Warning", "Failed", "Error: ErrImageNeverPull");
            reasonCache.put(spec.getName(), new String[] {"ErrImageNeverPull", message});
            return false;
        }
        if (!policy.equals("Always") && imageId != null) {
            events.record(pod, field, "Normal", "Pulled", "Container image \"" + image + "\" already present on machine");
        } else {
            Instant now = node.clock().instant();
            if (imageBackOff.inBackOffSinceUpdate(backOffKey, now)) {
                events.record(pod, field, "Normal", "BackOff", "Back-off pulling image \"" + image + "\"");
                events.record(pod, field, "Warning", "Failed", "Error: ImagePullBackOff");
                reasonCache.put(spec.getName(), new String[] {"ImagePullBackOff", "Back-off pulling image \"" + image
                        + "\": ErrImagePull: " + lastPullError.getOrDefault(backOffKey, "")});
                return false;
            }
            events.record(pod, field, "Normal", "Pulling", "Pulling image \"" + image + "\"");
            if (imageId == null) {
                String error = pullError(image);
                events.record(pod, field, "Warning", "Failed", "Failed to pull image \"" + image + "\": " + error);
                imageBackOff.next(backOffKey, now, now);
                lastPullError.put(backOffKey, error);
                events.record(pod, field, "Warning", "Failed", "Error: ErrImagePull");
                reasonCache.put(spec.getName(), new String[] {"ErrImagePull", error});
                return false;
            }
            long ms = Math.max(1, Duration.between(now, node.clock().instant()).toMillis());
            events.record(pod, field, "Normal", "Pulled", "Successfully pulled image \"" + image + "\" in " + ms
                    + "ms (" + ms + "ms including waiting). Image size: " + node.imageSize(local) + " bytes.");
        }
        Run run = new Run(spec.getName(), runs.getOrDefault(spec.getName(), List.of()).size(), init);
        run.imageId = imageId;
        String configError;
        CreateContainerCmd create;
        try {
            create = containerConfig(pod, spec, local, run);
            configError = null;
        } catch (ConfigError e) {
            configError = e.getMessage();
            create = null;
        }
        if (configError != null) {
            events.record(pod, field, "Warning", "Failed", "Error: " + configError);
            reasonCache.put(spec.getName(), new String[] {"CreateContainerConfigError", configError});
            return false;
        }
        try {
            run.dockerId = create.exec().getId();
        } catch (RuntimeException e) {
            events.record(pod, field, "Warning", "Failed", "Error: " + e.getMessage());
            reasonCache.put(spec.getName(), new String[] {"CreateContainerError", e.getMessage()});
            return false;
        }
        runs.computeIfAbsent(spec.getName(), k -> new CopyOnWriteArrayList<>()).add(run);
        reasonCache.remove(spec.getName());
        events.record(pod, field, "Normal", "Created", "Created container: " + spec.getName());
        try {
            node.docker().client().startContainerCmd(run.dockerId).exec();
        } catch (RuntimeException e) {
            run.exitCode = 128L;
            run.reason = "StartError";
            run.message = e.getMessage();
            run.finishedAt = node.clock().instant();
            events.record(pod, field, "Warning", "Failed", "Error: " + e.getMessage());
            return true;
        }
        run.running = true;
        run.startedAt = node.clock().instant();
        events.record(pod, field, "Normal", "Started", "Started container " + spec.getName());
        LOG.debug("pod {}: container {} started", name(), spec.getName());
        return true;
    }

    /** The prober manager follows the pod status: probes start once a sync has reported the container running. */
    private void startProbesOfReportedContainers(Pod pod) {
        for (List<Run> list : runs.values()) {
            for (Run run : list) {
                if (run.running && !run.probesStarted) {
                    run.probesStarted = true;
                    Container spec = spec(pod, run.name);
                    if (spec != null) {
                        startProbes(pod, spec, run);
                    }
                }
            }
        }
    }

    /** Re-reads every live container from Docker (the kubelet's PLEG relist). */
    private void refresh() {
        Pod pod = latest;
        for (List<Run> list : runs.values()) {
            for (Run run : list) {
                if (run.running) {
                    refreshRun(run, spec(pod, run.name));
                }
            }
        }
    }

    private void refreshRun(Run run, Container spec) {
        InspectContainerResponse inspect = node.docker().inspect(run.dockerId).orElse(null);
        if (inspect == null) {
            run.running = false;
            run.exitCode = 137L;
            run.reason = "ContainerStatusUnknown";
            run.message = "The container could not be located when the pod was terminated";
            return;
        }
        var state = inspect.getState();
        if (Boolean.TRUE.equals(state.getRunning())) {
            Instant started = SimDocker.time(state.getStartedAt());
            if (started != null) {
                run.startedAt = started;
            }
            return;
        }
        run.running = false;
        cancelProbes(run);
        run.ready = false;
        run.exitCode = state.getExitCodeLong() == null ? 0 : state.getExitCodeLong();
        Instant started = SimDocker.time(state.getStartedAt());
        if (started != null) {
            run.startedAt = started;
        }
        run.finishedAt = Objects.requireNonNullElse(SimDocker.time(state.getFinishedAt()), node.clock().instant());
        run.reason = Boolean.TRUE.equals(state.getOOMKilled()) ? "OOMKilled" : run.exitCode == 0 ? "Completed" : "Error";
        run.message = terminationMessage(run, spec);
    }

    private String terminationMessage(Run run, Container spec) {
        String message = "";
        try {
            if (run.terminationLog != null && Files.exists(run.terminationLog)) {
                byte[] bytes = Files.readAllBytes(run.terminationLog);
                message = new String(bytes, 0, Math.min(bytes.length, 4096), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            message = "";
        }
        if (message.isEmpty() && run.exitCode != 0 && spec != null
                && "FallbackToLogsOnError".equals(spec.getTerminationMessagePolicy())) {
            String logs = node.docker().logs(run.dockerId, false, 80, null);
            message = logs.length() > 2048 ? logs.substring(logs.length() - 2048) : logs;
        }
        return message;
    }

    private CreateContainerCmd containerConfig(Pod pod, Container spec, String image, Run run) {
        PodSecurityContext podSc = pod.getSpec().getSecurityContext();
        SecurityContext sc = spec.getSecurityContext();
        Long runAsUser = sc != null && sc.getRunAsUser() != null ? sc.getRunAsUser()
                : podSc == null ? null : podSc.getRunAsUser();
        Long runAsGroup = sc != null && sc.getRunAsGroup() != null ? sc.getRunAsGroup()
                : podSc == null ? null : podSc.getRunAsGroup();
        Boolean nonRoot = sc != null && sc.getRunAsNonRoot() != null ? sc.getRunAsNonRoot()
                : podSc == null ? null : podSc.getRunAsNonRoot();
        String podRef = "(pod: \"" + formatPod(pod) + "\", container: " + spec.getName() + ")";
        if (Boolean.TRUE.equals(nonRoot)) {
            if (runAsUser != null && runAsUser == 0) {
                throw new ConfigError("container's runAsUser breaks non-root policy " + podRef);
            }
            if (runAsUser == null) {
                String user = node.docker().imageUser(image);
                String uidPart = user.contains(":") ? user.substring(0, user.indexOf(':')) : user;
                if (uidPart.isEmpty() || uidPart.equals("0") || uidPart.equals("root")) {
                    throw new ConfigError("container has runAsNonRoot and image will run as root " + podRef);
                }
                if (!uidPart.chars().allMatch(Character::isDigit)) {
                    throw new ConfigError("container has runAsNonRoot and image has non-numeric user (" + uidPart
                            + "), cannot verify user is non-root " + podRef);
                }
            }
        }
        Map<String, String> env = environment(pod, spec);
        List<String> envList = new ArrayList<>();
        env.forEach((k, v) -> envList.add(k + "=" + v));
        Path containerDir = node.podDir(uid).resolve("containers").resolve(spec.getName() + "-" + run.attempt);
        run.terminationLog = containerDir.resolve("termination-log");
        try {
            Files.createDirectories(containerDir);
            Files.writeString(run.terminationLog, "");
            Files.setPosixFilePermissions(run.terminationLog, EnumSet.allOf(PosixFilePermission.class));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Bind> binds = new ArrayList<>();
        for (VolumeMount mount : spec.getVolumeMounts()) {
            Path host = node.podDir(uid).resolve("volumes").resolve(mount.getName());
            Path hostPath = hostPathVolume(pod, mount.getName());
            Path pvc = pvcVolume(pod, mount.getName());
            if (hostPath != null) {
                host = hostPath;
            } else if (pvc != null) {
                host = pvc;
            }
            if (mount.getSubPath() != null && !mount.getSubPath().isEmpty()) {
                host = host.resolve(mount.getSubPath());
                try {
                    Files.createDirectories(host);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            binds.add(new Bind(host.toString(), new Volume(mount.getMountPath()),
                    Boolean.TRUE.equals(mount.getReadOnly()) ? AccessMode.ro : AccessMode.rw));
        }
        binds.add(new Bind(run.terminationLog.toString(), new Volume(
                Objects.requireNonNullElse(spec.getTerminationMessagePath(), "/dev/termination-log"))));
        HostConfig host = HostConfig.newHostConfig()
                .withNetworkMode("container:" + sandboxId)
                .withIpcMode("container:" + sandboxId)
                .withBinds(binds);
        if (spec.getResources() != null) {
            Quantity memory = spec.getResources().getLimits().get("memory");
            if (memory != null) {
                long bytes = Quantity.getAmountInBytes(memory).longValue();
                host.withMemory(bytes).withMemorySwap(bytes);
            }
            Quantity cpu = spec.getResources().getLimits().get("cpu");
            if (cpu != null) {
                host.withNanoCPUs(Quantity.getAmountInBytes(cpu).multiply(BigDecimal.valueOf(1_000_000_000L)).longValue());
            }
            Quantity cpuRequest = spec.getResources().getRequests().get("cpu");
            if (cpuRequest != null) {
                long shares = Quantity.getAmountInBytes(cpuRequest).multiply(BigDecimal.valueOf(1024)).longValue();
                host.withCpuShares((int) Math.max(2, shares));
            }
        }
        if (sc != null) {
            if (Boolean.TRUE.equals(sc.getPrivileged())) {
                host.withPrivileged(true);
            }
            if (Boolean.FALSE.equals(sc.getAllowPrivilegeEscalation())) {
                host.withSecurityOpts(List.of("no-new-privileges"));
            }
            if (Boolean.TRUE.equals(sc.getReadOnlyRootFilesystem())) {
                host.withReadonlyRootfs(true);
            }
            if (sc.getCapabilities() != null) {
                host.withCapAdd(capabilities(sc.getCapabilities().getAdd()).toArray(Capability[]::new));
                host.withCapDrop(capabilities(sc.getCapabilities().getDrop()).toArray(Capability[]::new));
            }
        }
        if (podSc != null) {
            List<String> groups = new ArrayList<>();
            if (podSc.getFsGroup() != null) {
                groups.add(String.valueOf(podSc.getFsGroup()));
            }
            podSc.getSupplementalGroups().forEach(g -> groups.add(String.valueOf(g)));
            if (!groups.isEmpty()) {
                host.withGroupAdd(groups);
            }
        }
        CreateContainerCmd create = node.docker().client().createContainerCmd(image)
                .withName(node.containerName(pod, spec.getName(), run.attempt))
                .withLabels(node.labels(pod, spec.getName()))
                .withEnv(envList)
                .withHostConfig(host)
                .withTty(Boolean.TRUE.equals(spec.getTty()))
                .withStdinOpen(Boolean.TRUE.equals(spec.getStdin()));
        if (!spec.getCommand().isEmpty()) {
            create.withEntrypoint(expand(spec.getCommand(), env));
            create.withCmd(expand(spec.getArgs(), env));
        } else if (!spec.getArgs().isEmpty()) {
            create.withCmd(expand(spec.getArgs(), env));
        }
        if (spec.getWorkingDir() != null && !spec.getWorkingDir().isEmpty()) {
            create.withWorkingDir(spec.getWorkingDir());
        }
        if (runAsUser != null) {
            create.withUser(runAsUser + (runAsGroup != null ? ":" + runAsGroup : ""));
        }
        return create;
    }

    private static List<Capability> capabilities(List<String> names) {
        List<Capability> out = new ArrayList<>();
        for (String name : names) {
            String n = name.toUpperCase().startsWith("CAP_") ? name.substring(4).toUpperCase() : name.toUpperCase();
            try {
                out.add(Capability.valueOf(n));
            } catch (IllegalArgumentException e) {
                // Docker has no such capability: ignored, as the runtime would reject it
            }
        }
        return out;
    }

    /** The container's environment: {@code env} in order with {@code $(VAR)} expansion and the supported sources. */
    private Map<String, String> environment(Pod pod, Container spec) {
        Map<String, String> env = new LinkedHashMap<>();
        String ns = pod.getMetadata().getNamespace();
        for (var from : spec.getEnvFrom()) {
            String prefix = Objects.requireNonNullElse(from.getPrefix(), "");
            if (from.getConfigMapRef() != null) {
                ConfigMap cm = node.client().configMaps().inNamespace(ns).withName(from.getConfigMapRef().getName()).get();
                if (cm == null) {
                    if (!Boolean.TRUE.equals(from.getConfigMapRef().getOptional())) {
                        throw new ConfigError("configmap \"" + from.getConfigMapRef().getName() + "\" not found");
                    }
                } else {
                    cm.getData().forEach((k, v) -> env.put(prefix + k, v));
                }
            }
            if (from.getSecretRef() != null) {
                Secret secret = node.client().secrets().inNamespace(ns).withName(from.getSecretRef().getName()).get();
                if (secret == null) {
                    if (!Boolean.TRUE.equals(from.getSecretRef().getOptional())) {
                        throw new ConfigError("secret \"" + from.getSecretRef().getName() + "\" not found");
                    }
                } else {
                    secretData(secret).forEach((k, v) -> env.put(prefix + k, new String(v, StandardCharsets.UTF_8)));
                }
            }
        }
        for (EnvVar var : spec.getEnv()) {
            String value;
            if (var.getValueFrom() == null) {
                value = expand(Objects.requireNonNullElse(var.getValue(), ""), env);
            } else if (var.getValueFrom().getFieldRef() != null) {
                value = fieldValue(pod, var.getValueFrom().getFieldRef().getFieldPath());
            } else if (var.getValueFrom().getConfigMapKeyRef() != null) {
                var ref = var.getValueFrom().getConfigMapKeyRef();
                ConfigMap cm = node.client().configMaps().inNamespace(ns).withName(ref.getName()).get();
                if (cm == null) {
                    if (Boolean.TRUE.equals(ref.getOptional())) {
                        continue;
                    }
                    throw new ConfigError("configmap \"" + ref.getName() + "\" not found");
                }
                value = cm.getData().get(ref.getKey());
                if (value == null) {
                    if (Boolean.TRUE.equals(ref.getOptional())) {
                        continue;
                    }
                    throw new ConfigError("couldn't find key " + ref.getKey() + " in ConfigMap " + ns + "/" + ref.getName());
                }
            } else if (var.getValueFrom().getSecretKeyRef() != null) {
                var ref = var.getValueFrom().getSecretKeyRef();
                Secret secret = node.client().secrets().inNamespace(ns).withName(ref.getName()).get();
                if (secret == null) {
                    if (Boolean.TRUE.equals(ref.getOptional())) {
                        continue;
                    }
                    throw new ConfigError("secret \"" + ref.getName() + "\" not found");
                }
                byte[] bytes = secretData(secret).get(ref.getKey());
                if (bytes == null) {
                    if (Boolean.TRUE.equals(ref.getOptional())) {
                        continue;
                    }
                    throw new ConfigError("couldn't find key " + ref.getKey() + " in Secret " + ns + "/" + ref.getName());
                }
                value = new String(bytes, StandardCharsets.UTF_8);
            } else {
                value = "";
            }
            env.put(var.getName(), value);
        }
        return env;
    }

    private String fieldValue(Pod pod, String fieldPath) {
        return switch (fieldPath) {
            case "metadata.name" -> pod.getMetadata().getName();
            case "metadata.namespace" -> pod.getMetadata().getNamespace();
            case "metadata.uid" -> pod.getMetadata().getUid();
            case "spec.nodeName" -> pod.getSpec().getNodeName();
            case "spec.serviceAccountName" -> pod.getSpec().getServiceAccountName();
            case "status.podIP" -> Objects.requireNonNullElse(podIp, "");
            case "status.hostIP" -> node.hostIp();
            default -> {
                Matcher m = Pattern.compile("metadata\\.(labels|annotations)\\['(.+)']").matcher(fieldPath);
                if (m.matches()) {
                    Map<String, String> map = m.group(1).equals("labels") ? pod.getMetadata().getLabels()
                            : pod.getMetadata().getAnnotations();
                    yield map == null ? "" : Objects.requireNonNullElse(map.get(m.group(2)), "");
                }
                yield "";
            }
        };
    }

    private static Map<String, byte[]> secretData(Secret secret) {
        Map<String, byte[]> data = new LinkedHashMap<>();
        secret.getData().forEach((k, v) -> data.put(k, Base64.getDecoder().decode(v)));
        secret.getStringData().forEach((k, v) -> data.put(k, v.getBytes(StandardCharsets.UTF_8)));
        return data;
    }

    private static List<String> expand(List<String> values, Map<String, String> env) {
        List<String> out = new ArrayList<>();
        values.forEach(v -> out.add(expand(v, env)));
        return out;
    }

    /** Kubernetes' {@code $(VAR)} expansion: defined references are replaced, {@code $$} is a literal {@code $}. */
    static String expand(String value, Map<String, String> env) {
        Matcher m = VAR_REF.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String replacement = m.group().equals("$$") ? "$"
                    : env.containsKey(m.group(1)) ? env.get(m.group(1)) : m.group();
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    // --------------------------------------------------------------------------------- volumes/sandbox ---

    /** Materialises the pod's volumes as host directories; returns the kubelet's FailedMount text on failure. */
    private String setUpVolumes(Pod pod) {
        String ns = pod.getMetadata().getNamespace();
        for (var volume : pod.getSpec().getVolumes()) {
            Path dir = node.podDir(uid).resolve("volumes").resolve(volume.getName());
            try {
                Files.createDirectories(dir);
                Files.setPosixFilePermissions(dir, EnumSet.allOf(PosixFilePermission.class));
                if (volume.getConfigMap() != null) {
                    ConfigMap cm = node.client().configMaps().inNamespace(ns).withName(volume.getConfigMap().getName()).get();
                    if (cm == null) {
                        if (Boolean.TRUE.equals(volume.getConfigMap().getOptional())) {
                            continue;
                        }
                        return "MountVolume.SetUp failed for volume \"" + volume.getName() + "\" : configmap \""
                                + volume.getConfigMap().getName() + "\" not found";
                    }
                    Map<String, byte[]> data = new LinkedHashMap<>();
                    cm.getData().forEach((k, v) -> data.put(k, v.getBytes(StandardCharsets.UTF_8)));
                    writeItems(dir, data, volume.getConfigMap().getItems(), volume.getConfigMap().getDefaultMode());
                } else if (volume.getSecret() != null) {
                    Secret secret = node.client().secrets().inNamespace(ns).withName(volume.getSecret().getSecretName()).get();
                    if (secret == null) {
                        if (Boolean.TRUE.equals(volume.getSecret().getOptional())) {
                            continue;
                        }
                        return "MountVolume.SetUp failed for volume \"" + volume.getName() + "\" : secret \""
                                + volume.getSecret().getSecretName() + "\" not found";
                    }
                    writeItems(dir, secretData(secret), volume.getSecret().getItems(), volume.getSecret().getDefaultMode());
                } else if (volume.getProjected() != null) {
                    for (VolumeProjection source : volume.getProjected().getSources()) {
                        if (source.getServiceAccountToken() != null) {
                            write(dir.resolve(source.getServiceAccountToken().getPath()),
                                    "simulated-service-account-token".getBytes(StandardCharsets.UTF_8), 0644);
                        } else if (source.getConfigMap() != null) {
                            ConfigMap cm = node.client().configMaps().inNamespace(ns)
                                    .withName(source.getConfigMap().getName()).get();
                            Map<String, byte[]> data = new LinkedHashMap<>();
                            if (cm != null) {
                                cm.getData().forEach((k, v) -> data.put(k, v.getBytes(StandardCharsets.UTF_8)));
                            }
                            for (KeyToPath item : source.getConfigMap().getItems()) {
                                data.putIfAbsent(item.getKey(), new byte[0]);
                            }
                            writeItems(dir, data, source.getConfigMap().getItems(), 0644);
                        } else if (source.getDownwardAPI() != null) {
                            for (var item : source.getDownwardAPI().getItems()) {
                                if (item.getFieldRef() != null) {
                                    write(dir.resolve(item.getPath()), fieldValue(pod, item.getFieldRef().getFieldPath())
                                            .getBytes(StandardCharsets.UTF_8), 0644);
                                }
                            }
                        }
                    }
                } else if (volume.getDownwardAPI() != null) {
                    for (var item : volume.getDownwardAPI().getItems()) {
                        if (item.getFieldRef() != null) {
                            write(dir.resolve(item.getPath()), fieldValue(pod, item.getFieldRef().getFieldPath())
                                    .getBytes(StandardCharsets.UTF_8), 0644);
                        }
                    }
                } else if (volume.getHostPath() != null) {
                    Files.createDirectories(Path.of(volume.getHostPath().getPath()));
                } else if (volume.getPersistentVolumeClaim() != null) {
                    Files.createDirectories(node.claimDir(ns, volume.getPersistentVolumeClaim().getClaimName()));
                } else if (volume.getEmptyDir() == null) {
                    return "MountVolume.SetUp failed for volume \"" + volume.getName()
                            + "\" : the simulated node does not support this volume type";
                }
            } catch (IOException e) {
                return "MountVolume.SetUp failed for volume \"" + volume.getName() + "\" : " + e.getMessage();
            }
        }
        return null;
    }

    private Path hostPathVolume(Pod pod, String volumeName) {
        for (var v : pod.getSpec().getVolumes()) {
            if (v.getName().equals(volumeName) && v.getHostPath() != null) {
                return Path.of(v.getHostPath().getPath());
            }
        }
        return null;
    }

    private Path pvcVolume(Pod pod, String volumeName) {
        for (var v : pod.getSpec().getVolumes()) {
            if (v.getName().equals(volumeName) && v.getPersistentVolumeClaim() != null) {
                return node.claimDir(pod.getMetadata().getNamespace(), v.getPersistentVolumeClaim().getClaimName());
            }
        }
        return null;
    }

    private static void writeItems(Path dir, Map<String, byte[]> data, List<KeyToPath> items, Integer defaultMode)
            throws IOException {
        int mode = defaultMode == null ? 0644 : defaultMode;
        if (items == null || items.isEmpty()) {
            for (Map.Entry<String, byte[]> e : data.entrySet()) {
                write(dir.resolve(e.getKey()), e.getValue(), mode);
            }
        } else {
            for (KeyToPath item : items) {
                byte[] value = data.get(item.getKey());
                if (value != null) {
                    write(dir.resolve(item.getPath()), value, item.getMode() == null ? mode : item.getMode());
                }
            }
        }
    }

    private static void write(Path file, byte[] content, int mode) throws IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, content);
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.GROUP_READ, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < order.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                perms.add(order[bit]);
            }
        }
        Files.setPosixFilePermissions(file, perms);
    }

    private void createSandbox(Pod pod) {
        if (sandboxId != null) {
            node.docker().remove(sandboxId);
        }
        String hostname = pod.getSpec().getHostname() != null ? pod.getSpec().getHostname() : pod.getMetadata().getName();
        if (hostname.length() > 63) {
            hostname = hostname.substring(0, 63);
        }
        sandboxId = node.docker().client().createContainerCmd(node.pauseImage())
                .withName(node.containerName(pod, "POD", 0))
                .withLabels(node.labels(pod, "POD"))
                .withHostName(hostname)
                .withEntrypoint("sleep")
                .withCmd("2147483647")
                .withHostConfig(HostConfig.newHostConfig().withIpcMode("shareable"))
                .exec().getId();
        node.docker().client().startContainerCmd(sandboxId).exec();
        InspectContainerResponse inspect = node.docker().inspect(sandboxId).orElseThrow();
        podIp = inspect.getNetworkSettings().getIpAddress();
        sandboxReady = true;
    }

    // ---------------------------------------------------------------------------------------- probes ---

    private void startProbes(Pod pod, Container spec, Run run) {
        ScheduledExecutorService probes = node.probeExecutor();
        if (spec.getStartupProbe() != null) {
            schedule(probes, run, spec, spec.getStartupProbe(), "Startup");
        } else {
            run.started = true;
        }
        if (spec.getReadinessProbe() != null) {
            schedule(probes, run, spec, spec.getReadinessProbe(), "Readiness");
        }
        if (spec.getLivenessProbe() != null) {
            schedule(probes, run, spec, spec.getLivenessProbe(), "Liveness");
        }
    }

    private void schedule(ScheduledExecutorService probes, Run run, Container spec, Probe probe, String type) {
        long initial = Objects.requireNonNullElse(probe.getInitialDelaySeconds(), 0) * 1000L;
        long period = Math.max(1, Objects.requireNonNullElse(probe.getPeriodSeconds(), 10)) * 1000L;
        run.probeTasks.add(probes.scheduleWithFixedDelay(() -> {
            if (!run.running || (!type.equals("Startup") && !run.started)) {
                return;
            }
            String failure = probe(spec, probe);
            try {
                loop.execute(() -> onProbeResult(run, spec, probe, type, failure));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // worker shut down
            }
        }, initial, period, TimeUnit.MILLISECONDS));
    }

    /** Runs one probe; returns null on success, else the kubelet's failure output. */
    private String probe(Container spec, Probe probe) {
        int timeoutMs = Math.max(1, Objects.requireNonNullElse(probe.getTimeoutSeconds(), 1)) * 1000;
        String ip = podIp;
        try {
            if (probe.getHttpGet() != null) {
                var get = probe.getHttpGet();
                String scheme = Objects.requireNonNullElse(get.getScheme(), "HTTP").toLowerCase();
                String host = get.getHost() != null && !get.getHost().isEmpty() ? get.getHost() : ip;
                int port = port(spec, get.getPort());
                String path = Objects.requireNonNullElse(get.getPath(), "/");
                String url = scheme + "://" + host + ":" + port + (path.startsWith("/") ? path : "/" + path);
                try {
                    HttpURLConnection connection = (HttpURLConnection) URI.create(url).toURL().openConnection();
                    connection.setConnectTimeout(timeoutMs);
                    connection.setReadTimeout(timeoutMs);
                    connection.setRequestProperty("User-Agent", "kube-probe/1.32");
                    connection.setRequestProperty("Accept", "*/*");
                    get.getHttpHeaders().forEach(h -> connection.setRequestProperty(h.getName(), h.getValue()));
                    int code = connection.getResponseCode();
                    connection.disconnect();
                    return code >= 200 && code < 400 ? null : "HTTP probe failed with statuscode: " + code;
                } catch (ConnectException e) {
                    return "Get \"" + url + "\": dial tcp " + host + ":" + port + ": connect: connection refused";
                } catch (SocketTimeoutException e) {
                    return "Get \"" + url + "\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)";
                }
            }
            if (probe.getTcpSocket() != null) {
                String host = probe.getTcpSocket().getHost() != null ? probe.getTcpSocket().getHost() : ip;
                int port = port(spec, probe.getTcpSocket().getPort());
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress(host, port), timeoutMs);
                    return null;
                } catch (ConnectException e) {
                    return "dial tcp " + host + ":" + port + ": connect: connection refused";
                } catch (SocketTimeoutException e) {
                    return "dial tcp " + host + ":" + port + ": i/o timeout";
                }
            }
            if (probe.getExec() != null) {
                Run current = current(spec.getName());
                if (current == null || !current.running) {
                    return "container not running";
                }
                SimDocker.ExecResult result = node.docker().exec(current.dockerId, probe.getExec().getCommand(),
                        Duration.ofMillis(timeoutMs));
                if (result.timedOut()) {
                    return "command " + String.join(" ", probe.getExec().getCommand()) + " timed out";
                }
                return result.exitCode() == 0 ? null : result.output();
            }
            return "the simulated node supports httpGet, tcpSocket and exec probes only";
        } catch (IOException | RuntimeException e) {
            return e.getMessage();
        }
    }

    private static int port(Container spec, io.fabric8.kubernetes.api.model.IntOrString port) {
        if (port.getIntVal() != null) {
            return port.getIntVal();
        }
        for (ContainerPort p : spec.getPorts()) {
            if (port.getStrVal().equals(p.getName())) {
                return p.getContainerPort();
            }
        }
        throw new IllegalArgumentException("port " + port.getStrVal() + " not found in container " + spec.getName());
    }

    private void onProbeResult(Run run, Container spec, Probe probe, String type, String failure) {
        if (!run.running || terminating) {
            return;
        }
        Pod pod = latest;
        int success = Math.max(1, Objects.requireNonNullElse(probe.getSuccessThreshold(), 1));
        int failures = Math.max(1, Objects.requireNonNullElse(probe.getFailureThreshold(), 3));
        if (failure != null) {
            node.recorder().record(pod, fieldPath(spec, run.init), "Warning", "Unhealthy",
                    type + " probe failed: " + failure);
        }
        switch (type) {
            case "Readiness" -> {
                if (failure == null) {
                    run.readinessFailures = 0;
                    if (++run.readinessSuccesses >= success && !run.ready) {
                        run.ready = true;
                        writeStatus(pod, generate(pod, false));
                    }
                } else {
                    run.readinessSuccesses = 0;
                    if (++run.readinessFailures >= failures && run.ready) {
                        run.ready = false;
                        writeStatus(pod, generate(pod, false));
                    }
                }
            }
            case "Startup" -> {
                if (failure == null && !run.started && ++run.startupSuccesses >= 1) {
                    run.started = true;
                    writeStatus(pod, generate(pod, false));
                } else if (failure != null && ++run.livenessFailures >= failures) {
                    restartForProbe(pod, spec, run, "startup");
                }
            }
            default -> {
                if (failure == null) {
                    run.livenessFailures = 0;
                } else if (++run.livenessFailures >= failures) {
                    restartForProbe(pod, spec, run, "liveness");
                }
            }
        }
    }

    private void restartForProbe(Pod pod, Container spec, Run run, String kind) {
        node.recorder().record(pod, fieldPath(spec, run.init), "Normal", "Killing",
                "Container " + spec.getName() + " failed " + kind + " probe, will be restarted");
        cancelProbes(run);
        long grace = Objects.requireNonNullElse(pod.getSpec().getTerminationGracePeriodSeconds(), 30L);
        node.docker().stop(run.dockerId, grace);
        refreshRun(run, spec);
        signal();
    }

    private static void cancelProbes(Run run) {
        run.probeTasks.forEach(t -> t.cancel(false));
        run.probeTasks.clear();
    }

    // --------------------------------------------------------------------------------------- helpers ---

    private boolean deadlineExceeded(Pod pod) {
        Long seconds = pod.getSpec().getActiveDeadlineSeconds();
        return seconds != null && startTime != null && !finished
                && !node.clock().instant().isBefore(startTime.plusSeconds(seconds));
    }

    private void scheduleDeadline(Pod pod) {
        Long seconds = pod.getSpec().getActiveDeadlineSeconds();
        if (seconds == null) {
            return;
        }
        long delay = Duration.between(node.clock().instant(), startTime.plusSeconds(seconds)).toMillis();
        deadline = loop.schedule(this::signal, Math.max(0, delay), TimeUnit.MILLISECONDS);
    }

    private boolean terminalByRestartPolicy(Pod pod) {
        String policy = pod.getSpec().getRestartPolicy();
        if (policy.equals("Always")) {
            return false;
        }
        for (Container c : pod.getSpec().getInitContainers()) {
            Run run = current(c.getName());
            if (run != null && run.exited() && run.exitCode != 0 && policy.equals("Never")) {
                return true;
            }
        }
        boolean allDone = true;
        for (Container c : pod.getSpec().getContainers()) {
            Run run = current(c.getName());
            boolean done = run != null && run.exited() && (policy.equals("Never") || run.exitCode == 0);
            allDone &= done;
        }
        return allDone;
    }

    private void scheduleRetry() {
        if (retry != null && !retry.isDone()) {
            return;
        }
        long delay = node.timing().actual(node.timing().syncRetry()).toMillis();
        retry = loop.schedule(this::signal, delay, TimeUnit.MILLISECONDS);
    }

    private void cancelTimers() {
        if (retry != null) {
            retry.cancel(false);
        }
        if (deadline != null) {
            deadline.cancel(false);
        }
    }

    private Run current(String container) {
        List<Run> list = runs.get(container);
        return list == null || list.isEmpty() ? null : list.get(list.size() - 1);
    }

    /** The instance whose log {@code previous=false/true} reads; null when there is none. */
    String logContainerId(String container, boolean previous) {
        List<Run> list = runs.get(container);
        if (list == null || list.isEmpty()) {
            return null;
        }
        int index = list.size() - (previous ? 2 : 1);
        return index < 0 ? null : list.get(index).dockerId;
    }

    String runningContainerId(String container) {
        Run run = current(container);
        return run != null && run.running ? run.dockerId : null;
    }

    String podIp() {
        return podIp;
    }

    private static Container spec(Pod pod, String name) {
        for (Container c : pod.getSpec().getInitContainers()) {
            if (c.getName().equals(name)) {
                return c;
            }
        }
        for (Container c : pod.getSpec().getContainers()) {
            if (c.getName().equals(name)) {
                return c;
            }
        }
        return null;
    }

    private static String fieldPath(Container spec, boolean init) {
        return (init ? "spec.initContainers{" : "spec.containers{") + spec.getName() + "}";
    }

    /** {@code format.Pod}: {@code name_namespace(uid)}. */
    static String formatPod(Pod pod) {
        return pod.getMetadata().getName() + "_" + pod.getMetadata().getNamespace() + "(" + pod.getMetadata().getUid() + ")";
    }

    /** containerd's reference normalisation: {@code busybox} is {@code docker.io/library/busybox:latest}. */
    static String normalizedImage(String image) {
        String name = image;
        int slash = name.indexOf('/');
        String first = slash < 0 ? "" : name.substring(0, slash);
        if (slash < 0 || !(first.contains(".") || first.contains(":") || first.equals("localhost"))) {
            name = "docker.io/" + (slash < 0 ? "library/" : "") + name;
        }
        int lastSlash = name.lastIndexOf('/');
        if (!name.contains("@") && name.indexOf(':', lastSlash) < 0) {
            name = name + ":latest";
        }
        return name;
    }

    /**
     * containerd's error for an image the node cannot pull: "not found" from a registry that answers (2a), or the
     * connection error for a registry listed as unreachable (2b).
     */
    private String pullError(String image) {
        String ref = normalizedImage(image);
        String registry = ref.substring(0, ref.indexOf('/'));
        String resolve = "failed to pull and unpack image \"" + ref + "\": failed to resolve reference \"" + ref + "\": ";
        if (node.unreachableRegistries().contains(registry)) {
            String rest = ref.substring(ref.indexOf('/') + 1);
            int colon = rest.lastIndexOf(':');
            String repo = colon < 0 ? rest : rest.substring(0, colon);
            String tag = colon < 0 ? "latest" : rest.substring(colon + 1);
            return resolve + "failed to do request: Head \"http://" + registry + "/v2/" + repo + "/manifests/" + tag
                    + "\": dial tcp " + registry + ": connect: connection refused";
        }
        return "rpc error: code = NotFound desc = " + resolve + ref + ": not found";
    }

    private static String seconds(Duration d) {
        long s = d.getSeconds();
        return s >= 60 && s % 60 == 0 ? (s / 60) + "m0s" : s >= 60 ? (s / 60) + "m" + (s % 60) + "s" : s + "s";
    }

    private static String goList(List<String> items) {
        return "[" + String.join(" ", items) + "]";
    }

    private static boolean isTerminal(String phase) {
        return "Failed".equals(phase) || "Succeeded".equals(phase);
    }

    private String name() {
        Pod pod = latest;
        return pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
    }

    /** A container that cannot be configured: {@code CreateContainerConfigError}. */
    private static final class ConfigError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ConfigError(String message) {
            super(message, null, false, false);
        }
    }
}
