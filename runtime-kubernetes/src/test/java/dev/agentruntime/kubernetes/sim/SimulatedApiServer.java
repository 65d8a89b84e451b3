package dev.agentruntime.kubernetes.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.kubernetes.internal.KubernetesNames;
import dev.agentruntime.kubernetes.sim.ApiStatus.Cause;
import dev.agentruntime.kubernetes.sim.ObjectStore.Stored;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.WebSocketListener;
import io.fabric8.mockwebserver.internal.MockDispatcher;
import io.fabric8.mockwebserver.internal.SimpleRequest;
import io.fabric8.zjsonpatch.JsonPatch;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The API server of the simulated cluster: fabric8's CRUD store and watch fan-out underneath, and on top the rules a
 * real v1.32 API server applies that the CRUD mock does not (scenarios 1, 7, 8 and 9 of the recordings):
 * validation with the recorded 422 bodies, defaulting and admission (service-account volume, default tolerations,
 * qosClass, {@code status.phase Pending}), immutable pod fields, graceful pod deletion ({@code deletionTimestamp} +
 * grace, removal on the kubelet's grace-0 delete, the recorded timestamp arithmetic), finalizers and propagation
 * policies, namespaces that must exist, binding, and the pod {@code log}/{@code exec}/{@code portforward}
 * subresources (served by the simulated node). Expectations added to the mock server ({@code server.expect()...})
 * answer first, so tests can still inject faults.
 *
 * <p>Every request is handled under one lock, as one linearizable store: writes and their watch events happen in one
 * order. Vert.x calls {@link #dispatch} on its event loop, so nothing here blocks for long (logs and exec hand off to
 * the node).
 */
final class SimulatedApiServer extends Dispatcher {

    static final String FOREGROUND = "foregroundDeletion";
    static final String ORPHAN = "orphan";
    static final String PVC_PROTECTION = "kubernetes.io/pvc-protection";

    private final Map<ServerRequest, Queue<ServerResponse>> expectations;
    private final MockDispatcher expectationDispatcher;
    private final ObjectStore store = new ObjectStore();
    private final ReentrantLock lock = new ReentrantLock();
    private final WatchHub watches = new WatchHub(lock);
    private final Clock clock;
    private final String versionJson;
    private final AtomicInteger nextClusterIp = new AtomicInteger(1);
    private volatile PodRuntime podRuntime;
    private volatile boolean provisionVolumes;

    /** What only a node can answer: container logs, exec and port-forward streams. */
    interface PodRuntime {

        /** The log text of a container ({@code previous}: the instance before the current one), or empty. */
        String logs(ObjectNode pod, String container, boolean previous, ApiPath request);

        /** Whether the container has a previous (restarted-from) instance whose log can be read. */
        boolean hasPrevious(ObjectNode pod, String container);

        /** A websocket speaking {@code v4.channel.k8s.io} for one exec, or empty when the container cannot exec. */
        Optional<WebSocketListener> exec(ObjectNode pod, String container, List<String> command, ApiPath request);

        /** A websocket speaking the port-forward channel protocol to the pod's IP. */
        WebSocketListener portForward(ObjectNode pod, List<Integer> ports);
    }

    SimulatedApiServer(Map<ServerRequest, Queue<ServerResponse>> expectations, Clock clock, String versionJson) {
        this.expectations = expectations;
        this.expectationDispatcher = new MockDispatcher(expectations);
        this.clock = clock;
        this.versionJson = versionJson;
        store.hub(watches);
    }

    void podRuntime(PodRuntime runtime) {
        this.podRuntime = runtime;
    }

    /** With a provisioner, every PVC is Bound at creation (a host directory on the node backs it). */
    void provisionVolumes(boolean provision) {
        this.provisionVolumes = provision;
    }

    /** Writes an object straight into the store (used to seed namespaces and the node). */
    void seed(String objectPath, ObjectNode object) {
        lock.lock();
        try {
            ObjectNode metadata = (ObjectNode) object.path("metadata");
            metadata.put("uid", UUID.randomUUID().toString());
            metadata.put("creationTimestamp", timestamp(now()));
            store.write(objectPath, store.get(objectPath), object);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
        if (request.getPath().equals("/version")) {
            return new MockResponse().setResponseCode(200).setHeader("Content-Type", "application/json")
                    .setBody(versionJson);
        }
        Queue<ServerResponse> queued = expectations.get(
                new SimpleRequest(HttpMethod.valueOf(request.getMethod()), request.getPath()));
        if (queued != null && !queued.isEmpty()) {
            return expectationDispatcher.dispatch(request);
        }
        Optional<ApiPath> parsed = ApiPath.parse(request.getPath());
        if (parsed.isEmpty()) {
            return store.dispatch(request);
        }
        ApiPath path = parsed.get();
        lock.lock();
        try {
            return route(request, path);
        } catch (BadBody e) {
            return e.response;
        } finally {
            lock.unlock();
        }
    }

    private MockResponse route(RecordedRequest request, ApiPath path) {
        String method = request.getMethod().toUpperCase(Locale.ROOT);
        if (method.equals("GET") && path.watch()) {
            return watch(request, path);
        }
        if (path.core() && path.resource().equals("pods")) {
            return pods(request, method, path);
        }
        if (path.core() && path.resource().equals("bindings") && method.equals("POST")) {
            ObjectNode binding = body(request, "Binding");
            return bind(path, binding.path("metadata").path("name").asText(), binding);
        }
        if (path.name() != null && path.subresource() == null && !method.equals("POST")
                && store.get(path.objectPath(path.name())) == null) {
            return ApiStatus.notFound(path.resource(), path.name());
        }
        switch (method) {
            case "POST":
                return create(request, path);
            case "DELETE":
                if (path.name() != null) {
                    return deleteOther(request, path);
                }
                return store.dispatch(request);
            default:
                return store.dispatch(request);
        }
    }

    // ------------------------------------------------------------------------------------------- generic ---

    private MockResponse create(RecordedRequest request, ApiPath path) {
        if (path.name() != null) {
            return store.dispatch(request);
        }
        String kind = kindOf(path);
        ObjectNode object = body(request, kind);
        if (path.namespace() != null && !namespaceExists(path.namespace())) {
            return ApiStatus.notFound("namespaces", path.namespace());
        }
        ObjectNode metadata = object.has("metadata") ? (ObjectNode) object.get("metadata") : object.putObject("metadata");
        if (metadata.path("name").asText("").isEmpty() && metadata.has("generateName")) {
            metadata.put("name", ApiRules.generatedName(metadata.path("generateName").asText()));
        }
        List<Cause> causes;
        if (path.is("", "services")) {
            causes = ApiRules.validateService(object);
        } else if (path.is("", "namespaces")) {
            causes = ApiRules.validateMetadata(metadata, KubernetesNames::dns1123LabelErrors);
        } else if (path.is("", "events")) {
            causes = List.of();
        } else {
            causes = ApiRules.validateMetadata(metadata, KubernetesNames::dns1123SubdomainErrors);
        }
        String name = metadata.path("name").asText("");
        if (!causes.isEmpty()) {
            return ApiStatus.invalid(kind, name, causes);
        }
        if (store.get(path.objectPath(name)) != null) {
            return ApiStatus.alreadyExists(path.resource(), name);
        }
        if (path.is("", "services")) {
            int n = nextClusterIp.getAndIncrement();
            ApiRules.defaultService(object, "10.96." + (n / 250) + "." + (n % 250 + 1));
        } else if (path.is("", "persistentvolumeclaims")) {
            ArrayNode finalizers = metadata.has("finalizers") ? (ArrayNode) metadata.get("finalizers")
                    : metadata.putArray("finalizers");
            if (!contains(finalizers, PVC_PROTECTION)) {
                finalizers.add(PVC_PROTECTION);
            }
            ObjectNode spec = (ObjectNode) object.path("spec");
            if (!spec.has("volumeMode")) {
                spec.put("volumeMode", "Filesystem");
            }
            ObjectNode status = object.putObject("status");
            status.put("phase", provisionVolumes ? "Bound" : "Pending");
            if (provisionVolumes) {
                status.set("accessModes", spec.path("accessModes"));
                status.set("capacity", spec.path("resources").path("requests"));
            }
        }
        return store.dispatch(withBody(request, object));
    }

    /** DELETE of a non-pod object: propagation policies become finalizers, as the API server does it. */
    private MockResponse deleteOther(RecordedRequest request, ApiPath path) {
        String objectPath = path.objectPath(path.name());
        Stored stored = store.get(objectPath);
        if (stored == null) {
            return ApiStatus.notFound(path.resource(), path.name());
        }
        DeleteOptions options = DeleteOptions.of(request, path);
        Optional<MockResponse> precondition = options.checkPreconditions(stored.object(), kindOf(path), path.name());
        if (precondition.isPresent()) {
            return precondition.get();
        }
        ObjectNode object = stored.object();
        ObjectNode metadata = (ObjectNode) object.path("metadata");
        String finalizer = options.propagationFinalizer();
        if (finalizer != null && !metadata.has("deletionTimestamp")) {
            ArrayNode finalizers = metadata.has("finalizers") ? (ArrayNode) metadata.get("finalizers")
                    : metadata.putArray("finalizers");
            if (!contains(finalizers, finalizer)) {
                finalizers.add(finalizer);
            }
            metadata.put("deletionTimestamp", timestamp(now()));
            metadata.put("deletionGracePeriodSeconds", 0);
            return ok(store.write(objectPath, stored, object));
        }
        if (metadata.has("finalizers") && !metadata.path("finalizers").isEmpty()) {
            if (!metadata.has("deletionTimestamp")) {
                metadata.put("deletionTimestamp", timestamp(now()));
                metadata.put("deletionGracePeriodSeconds", 0);
                store.write(objectPath, stored, object);
            }
            return ok(object);
        }
        return ok(store.remove(objectPath, stored, object));
    }

    // ---------------------------------------------------------------------------------------------- pods ---

    private MockResponse pods(RecordedRequest request, String method, ApiPath path) {
        if (path.name() == null) {
            return switch (method) {
                case "POST" -> createPod(request, path);
                case "DELETE" -> deletePods(request, path);
                default -> store.dispatch(request);
            };
        }
        String sub = path.subresource() == null ? "" : path.subresource();
        if (!path.watch() && store.get(path.objectPath(path.name())) == null) {
            return ApiStatus.notFound("pods", path.name());
        }
        return switch (method + " " + sub) {
            case "GET " -> store.dispatch(request);
            case "PUT " -> updatePod(path, body(request, "Pod"), false);
            case "PUT status" -> updatePod(path, body(request, "Pod"), true);
            case "PATCH ", "PATCH status" -> patchPod(request, path, sub.equals("status"));
            case "DELETE " -> deletePod(path, DeleteOptions.of(request, path));
            case "POST binding" -> bind(path, path.name(), body(request, "Binding"));
            case "GET log" -> logs(path);
            case "GET exec", "POST exec" -> exec(request, path);
            case "GET portforward", "POST portforward" -> portForward(request, path);
            default -> ApiStatus.failure(404, "NotFound", "the server could not find the requested resource", null);
        };
    }

    private MockResponse createPod(RecordedRequest request, ApiPath path) {
        ObjectNode pod = body(request, "Pod");
        if (!namespaceExists(path.namespace())) {
            return ApiStatus.notFound("namespaces", path.namespace());
        }
        ObjectNode metadata = pod.has("metadata") ? (ObjectNode) pod.get("metadata") : pod.putObject("metadata");
        if (metadata.path("name").asText("").isEmpty() && metadata.has("generateName")) {
            metadata.put("name", ApiRules.generatedName(metadata.path("generateName").asText()));
        }
        List<Cause> causes = ApiRules.validatePod(pod);
        String name = metadata.path("name").asText("");
        if (!causes.isEmpty()) {
            return ApiStatus.invalid("Pod", name, causes);
        }
        String objectPath = path.objectPath(name);
        if (store.get(objectPath) != null) {
            return ApiStatus.alreadyExists("pods", name);
        }
        metadata.put("namespace", path.namespace());
        metadata.put("uid", UUID.randomUUID().toString());
        metadata.put("creationTimestamp", timestamp(now()));
        for (String field : List.of("generation", "deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion")) {
            metadata.remove(field);
        }
        pod.put("kind", "Pod");
        pod.put("apiVersion", "v1");
        ApiRules.defaultPod(pod);
        if (pod.path("spec").has("nodeName") && !pod.path("spec").path("nodeName").asText().isEmpty()) {
            // bound at creation: the scheduler is bypassed, as with spec.nodeName on a real cluster
            ((ObjectNode) pod.path("status")).putArray("conditions");
        }
        return created(store.write(objectPath, null, pod));
    }

    private MockResponse patchPod(RecordedRequest request, ApiPath path, boolean status) {
        Stored stored = store.get(path.objectPath(path.name()));
        if (stored == null) {
            return ApiStatus.notFound("pods", path.name());
        }
        String contentType = Optional.ofNullable(request.getHeader("Content-Type")).orElse("application/json-patch+json");
        JsonNode patch = parseJson(text(request), "Pod");
        ObjectNode patched;
        try {
            if (contentType.contains("json-patch")) {
                patched = (ObjectNode) JsonPatch.apply(patch, stored.object());
            } else {
                // merge-patch; strategic-merge-patch is applied as a merge patch (see the README)
                patched = (ObjectNode) mergePatch(stored.object().deepCopy(), patch);
            }
        } catch (RuntimeException e) {
            return ApiStatus.failure(422, "Invalid", "the server rejected our request due to an error in our request: "
                    + e.getMessage(), null);
        }
        if (!patch.path("metadata").has("resourceVersion") && !contentType.contains("json-patch")) {
            ((ObjectNode) patched.path("metadata")).set("resourceVersion",
                    stored.object().path("metadata").path("resourceVersion"));
        }
        return updatePod(path, patched, status);
    }

    private MockResponse updatePod(ApiPath path, ObjectNode updated, boolean statusOnly) {
        String objectPath = path.objectPath(path.name());
        Stored stored = store.get(objectPath);
        if (stored == null) {
            return ApiStatus.notFound("pods", path.name());
        }
        ObjectNode current = stored.object();
        String rv = updated.path("metadata").path("resourceVersion").asText("");
        if (!rv.isEmpty() && !rv.equals(current.path("metadata").path("resourceVersion").asText())) {
            return ApiStatus.conflict("pods", path.name());
        }
        ObjectNode next = current.deepCopy();
        if (statusOnly) {
            next.set("status", updated.path("status").isObject() ? updated.get("status") : next.path("status"));
        } else {
            List<Cause> causes = ApiRules.validatePodUpdate(current, updated);
            ObjectNode metadata = (ObjectNode) updated.path("metadata");
            ApiRules.validateMetadata(metadata, KubernetesNames::dns1123SubdomainErrors).stream()
                    .filter(c -> !c.field().equals("metadata.name"))
                    .forEach(causes::add);
            if (!causes.isEmpty()) {
                return ApiStatus.invalid("Pod", path.name(), causes);
            }
            next.set("spec", updated.get("spec"));
            ObjectNode nextMeta = (ObjectNode) next.path("metadata");
            for (String field : List.of("labels", "annotations", "finalizers", "ownerReferences")) {
                if (metadata.has(field) && !metadata.get(field).isNull()) {
                    nextMeta.set(field, metadata.get(field));
                } else {
                    nextMeta.remove(field);
                }
            }
        }
        if (next.equals(current)) {
            return ok(current);
        }
        ObjectNode meta = (ObjectNode) next.path("metadata");
        if (meta.has("deletionTimestamp") && meta.path("deletionGracePeriodSeconds").asLong(0) == 0
                && (!meta.has("finalizers") || meta.path("finalizers").isEmpty())) {
            meta.remove("finalizers");
            return ok(store.remove(objectPath, stored, next));
        }
        if (meta.has("finalizers") && meta.path("finalizers").isEmpty()) {
            meta.remove("finalizers");
        }
        return ok(store.write(objectPath, stored, next));
    }

    private MockResponse deletePods(RecordedRequest request, ApiPath path) {
        DeleteOptions options = DeleteOptions.of(request, path);
        ObjectNode list = Serialization.jsonMapper().createObjectNode();
        list.put("kind", "PodList");
        list.put("apiVersion", "v1");
        ArrayNode items = list.putArray("items");
        String query = request.getPath().contains("?") ? request.getPath().substring(request.getPath().indexOf('?')) : "";
        for (ObjectNode pod : store.list(path.collectionPath() + query)) {
            String namespace = pod.path("metadata").path("namespace").asText();
            String name = pod.path("metadata").path("name").asText();
            ApiPath one = new ApiPath("", "v1", namespace, "pods", name, null, Map.of());
            MockResponse response = deletePod(one, options);
            if (response.code() == 200) {
                items.add(ObjectStore.parse(new String(response.getBody().getBytes(), StandardCharsets.UTF_8)));
            }
        }
        list.putObject("metadata");
        return ok(list);
    }

    /**
     * Graceful pod deletion as the API server does it: a scheduled, non-terminal pod gets {@code deletionTimestamp =
     * now + grace} and stays for the kubelet; a later delete may only shorten the grace ({@code deletionTimestamp}
     * moves by the difference); grace 0 (or an unscheduled or terminal pod) removes it once no finalizer is left.
     */
    private MockResponse deletePod(ApiPath path, DeleteOptions options) {
        String objectPath = path.objectPath(path.name());
        Stored stored = store.get(objectPath);
        if (stored == null) {
            return ApiStatus.notFound("pods", path.name());
        }
        ObjectNode pod = stored.object();
        Optional<MockResponse> precondition = options.checkPreconditions(pod, "Pod", path.name());
        if (precondition.isPresent()) {
            return precondition.get();
        }
        ObjectNode metadata = (ObjectNode) pod.path("metadata");
        String phase = pod.path("status").path("phase").asText("");
        boolean scheduled = !pod.path("spec").path("nodeName").asText("").isEmpty();
        long grace = options.gracePeriodSeconds()
                .orElse(pod.path("spec").path("terminationGracePeriodSeconds").asLong(30));
        if (!scheduled || phase.equals("Failed") || phase.equals("Succeeded")) {
            grace = 0;
        }
        grace = Math.max(0, grace);
        String finalizer = options.propagationFinalizer();
        boolean changed = false;
        if (finalizer != null && !metadata.has("deletionTimestamp")) {
            ArrayNode finalizers = metadata.has("finalizers") ? (ArrayNode) metadata.get("finalizers")
                    : metadata.putArray("finalizers");
            if (!contains(finalizers, finalizer)) {
                finalizers.add(finalizer);
                changed = true;
            }
        }
        Instant now = now();
        if (!metadata.has("deletionTimestamp")) {
            metadata.put("deletionTimestamp", timestamp(now.plusSeconds(grace)));
            metadata.put("deletionGracePeriodSeconds", grace);
            changed = true;
        } else {
            long currentGrace = metadata.path("deletionGracePeriodSeconds").asLong(0);
            if (grace < currentGrace) {
                Instant deadline = Instant.parse(metadata.path("deletionTimestamp").asText());
                metadata.put("deletionTimestamp", timestamp(deadline.minusSeconds(currentGrace).plusSeconds(grace)));
                metadata.put("deletionGracePeriodSeconds", grace);
                changed = true;
            }
        }
        boolean finalizersLeft = metadata.has("finalizers") && !metadata.path("finalizers").isEmpty();
        if (metadata.path("deletionGracePeriodSeconds").asLong() == 0 && !finalizersLeft) {
            if (changed) {
                pod = store.write(objectPath, stored, pod);
                stored = store.get(objectPath);
            }
            return ok(store.remove(objectPath, stored, pod));
        }
        return ok(changed ? store.write(objectPath, stored, pod) : pod);
    }

    private MockResponse bind(ApiPath path, String name, ObjectNode binding) {
        String objectPath = new ApiPath("", "v1", path.namespace(), "pods", name, null, Map.of()).objectPath(name);
        Stored stored = store.get(objectPath);
        if (stored == null) {
            return ApiStatus.notFound("pods", name);
        }
        ObjectNode pod = stored.object();
        String node = binding.path("target").path("name").asText();
        String current = pod.path("spec").path("nodeName").asText("");
        if (!current.isEmpty()) {
            return ApiStatus.failure(409, "Conflict", "pod " + name + " is already assigned to node \"" + current + "\"",
                    ApiStatus.details(name, "pods"));
        }
        if (pod.path("metadata").has("deletionTimestamp")) {
            return ApiStatus.failure(409, "Conflict", "pod " + name + " is being deleted, cannot be assigned to a host",
                    ApiStatus.details(name, "pods"));
        }
        ((ObjectNode) pod.path("spec")).put("nodeName", node);
        ObjectNode status = (ObjectNode) pod.path("status");
        ArrayNode conditions = status.has("conditions") ? (ArrayNode) status.get("conditions") : status.putArray("conditions");
        for (Iterator<JsonNode> it = conditions.iterator(); it.hasNext();) {
            if (it.next().path("type").asText().equals("PodScheduled")) {
                it.remove();
            }
        }
        ObjectNode scheduled = conditions.addObject();
        scheduled.put("type", "PodScheduled");
        scheduled.put("status", "True");
        scheduled.putNull("lastProbeTime");
        scheduled.put("lastTransitionTime", timestamp(now()));
        store.write(objectPath, stored, pod);
        return ApiStatus.success();
    }

    // ------------------------------------------------------------------------------- log / exec / forward ---

    private MockResponse logs(ApiPath path) {
        Stored stored = store.get(path.objectPath(path.name()));
        if (stored == null) {
            return ApiStatus.notFound("pods", path.name());
        }
        ObjectNode pod = stored.object();
        Optional<String> containerParam = path.param("container");
        List<String> containers = containerNames(pod, "containers");
        List<String> initContainers = containerNames(pod, "initContainers");
        String container;
        if (containerParam.isPresent()) {
            container = containerParam.get();
            if (!containers.contains(container) && !initContainers.contains(container)) {
                return ApiStatus.badRequest("container " + container + " is not valid for pod " + path.name());
            }
        } else if (containers.size() == 1) {
            container = containers.get(0);
        } else {
            return ApiStatus.badRequest("a container name must be specified for pod " + path.name()
                    + ", choose one of: " + goList(containers)
                    + (initContainers.isEmpty() ? "" : " or one of the init containers: " + goList(initContainers)));
        }
        if (pod.path("spec").path("nodeName").asText("").isEmpty()) {
            return new MockResponse().setResponseCode(204);
        }
        boolean previous = path.flag("previous");
        PodRuntime runtime = podRuntime;
        if (previous) {
            if (runtime == null || !runtime.hasPrevious(pod, container)) {
                return ApiStatus.badRequest("previous terminated container \"" + container + "\" in pod \""
                        + path.name() + "\" not found");
            }
        } else {
            JsonNode status = containerStatus(pod, container);
            JsonNode waiting = status == null ? null : status.path("state").path("waiting");
            boolean neverRan = status == null || (waiting.isObject() && !status.path("containerID").isTextual());
            if (neverRan) {
                String reason = waiting == null ? "ContainerCreating" : waiting.path("reason").asText("ContainerCreating");
                return ApiStatus.badRequest("container \"" + container + "\" in pod \"" + path.name()
                        + "\" is waiting to start: " + reason);
            }
        }
        String text = runtime == null ? "" : runtime.logs(pod, container, previous, path);
        return new MockResponse().setResponseCode(200).setHeader("Content-Type", "text/plain")
                .setBody(text);
    }

    private MockResponse exec(RecordedRequest request, ApiPath path) {
        Stored stored = store.get(path.objectPath(path.name()));
        if (stored == null) {
            return ApiStatus.notFound("pods", path.name());
        }
        if (!upgradeRequested(request)) {
            return ApiStatus.badRequest("Upgrade request required");
        }
        ObjectNode pod = stored.object();
        String container = path.param("container").orElse(containerNames(pod, "containers").get(0));
        if (!containerNames(pod, "containers").contains(container) && !containerNames(pod, "initContainers").contains(container)) {
            return ApiStatus.badRequest("container " + container + " is not valid for pod " + path.name());
        }
        PodRuntime runtime = podRuntime;
        Optional<WebSocketListener> listener = runtime == null ? Optional.empty()
                : runtime.exec(pod, container, path.params("command"), path);
        if (listener.isEmpty()) {
            return new MockResponse().setResponseCode(500).setHeader("Content-Type", "text/plain")
                    .setBody("container not found (\"" + container + "\")");
        }
        return new MockResponse().withWebSocketUpgrade(listener.get());
    }

    private MockResponse portForward(RecordedRequest request, ApiPath path) {
        Stored stored = store.get(path.objectPath(path.name()));
        if (stored == null) {
            return ApiStatus.notFound("pods", path.name());
        }
        if (!upgradeRequested(request)) {
            return ApiStatus.badRequest("Upgrade request required");
        }
        List<Integer> ports = new ArrayList<>();
        for (String p : path.params("ports")) {
            for (String one : p.split(",")) {
                ports.add(Integer.parseInt(one.trim()));
            }
        }
        PodRuntime runtime = podRuntime;
        if (runtime == null || stored.object().path("status").path("podIP").asText("").isEmpty()) {
            return ApiStatus.failure(500, "InternalError", "pod " + path.name() + " has no IP to forward to", null);
        }
        return new MockResponse().withWebSocketUpgrade(runtime.portForward(stored.object(), ports));
    }

    private static boolean upgradeRequested(RecordedRequest request) {
        String upgrade = request.getHeader("Upgrade");
        return upgrade != null && !upgrade.isEmpty();
    }

    /** Field selectors a v1.32 API server accepts on pods; only metadata.name and metadata.namespace are applied. */
    private static final java.util.Set<String> POD_FIELDS = java.util.Set.of("metadata.name", "metadata.namespace",
            "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
            "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName");

    private MockResponse watch(RecordedRequest request, ApiPath path) {
        // Events: the CRUD store would match involvedObject.* selectors against attributes it never extracts (and so
        // deliver nothing); the simulation ignores them on watches and delivers every Event of the namespace
        // (clients filter by involvedObject, as the backend does).
        AttributeSetHolder query = new AttributeSetHolder(store.getKey(path.is("", "events")
                ? request.getPath().replaceAll("([?&])fieldSelector=[^&]*&?", "$1").replaceAll("[?&]$", "")
                : request.getPath()));
        for (String selector : path.params("fieldSelector")) {
            for (String term : selector.split(",")) {
                String[] kv = term.split("!=|==|=", 2);
                String field = kv[0].trim();
                if (path.is("", "events")) {
                    break;
                }
                if (path.is("", "pods") && !POD_FIELDS.contains(field)) {
                    return ApiStatus.badRequest("field label not supported: " + field);
                }
                if (field.equals("metadata.name") && kv.length == 2 && !term.contains("!=")) {
                    query.set(query.get().add(new io.fabric8.mockwebserver.crud.Attribute("name", kv[1].trim())));
                }
            }
        }
        String rv = path.param("resourceVersion").orElse(null);
        return new MockResponse().withWebSocketUpgrade(watches.open(query.get(), rv,
                path.flag("allowWatchBookmarks") ? kindOf(path) : null, store::snapshot, store::currentVersion));
    }

    /** A mutable holder (lambdas above need an effectively final reference). */
    private static final class AttributeSetHolder {
        private io.fabric8.mockwebserver.crud.AttributeSet value;

        AttributeSetHolder(io.fabric8.mockwebserver.crud.AttributeSet value) {
            this.value = value;
        }

        io.fabric8.mockwebserver.crud.AttributeSet get() {
            return value;
        }

        void set(io.fabric8.mockwebserver.crud.AttributeSet v) {
            value = v;
        }
    }

    // ----------------------------------------------------------------------------------------- helpers ---

    private boolean namespaceExists(String namespace) {
        return store.get("/api/v1/namespaces/" + namespace) != null;
    }

    private static String kindOf(ApiPath path) {
        return switch (path.resource()) {
            case "pods" -> "Pod";
            case "services" -> "Service";
            case "configmaps" -> "ConfigMap";
            case "secrets" -> "Secret";
            case "persistentvolumeclaims" -> "PersistentVolumeClaim";
            case "ingresses" -> "Ingress";
            case "networkpolicies" -> "NetworkPolicy";
            case "namespaces" -> "Namespace";
            case "serviceaccounts" -> "ServiceAccount";
            case "events" -> "Event";
            case "endpointslices" -> "EndpointSlice";
            default -> {
                String r = path.resource();
                String singular = r.endsWith("ies") ? r.substring(0, r.length() - 3) + "y"
                        : r.endsWith("s") ? r.substring(0, r.length() - 1) : r;
                yield Character.toUpperCase(singular.charAt(0)) + singular.substring(1);
            }
        };
    }

    /** The request body as an object of {@code kind}, or the API server's 400 for unparsable or foreign bodies. */
    private static ObjectNode body(RecordedRequest request, String kind) {
        String text = text(request);
        JsonNode node = parseJson(text, kind);
        if (!node.isObject()) {
            throw new BadBody(ApiStatus.badRequest("the object provided is unrecognized (must be of type " + kind
                    + "): couldn't get version/kind; json parse error: expected an object (" + preview(text) + ")"));
        }
        String bodyKind = node.path("kind").asText("");
        if (!bodyKind.isEmpty() && !bodyKind.equals(kind) && !kind.equals("Binding")) {
            throw new BadBody(ApiStatus.badRequest(bodyKind + " in version \"" + node.path("apiVersion").asText("v1")
                    + "\" cannot be handled as a " + kind + ": converting (" + node.path("apiVersion").asText("v1")
                    + "." + bodyKind + ") to (core." + kind + "): unknown conversion"));
        }
        return (ObjectNode) node;
    }

    private static JsonNode parseJson(String text, String kind) {
        try {
            return Serialization.jsonMapper().readTree(text);
        } catch (JsonProcessingException e) {
            String error = e instanceof com.fasterxml.jackson.core.io.JsonEOFException
                    || String.valueOf(e.getOriginalMessage()).contains("end-of-input")
                    ? "unexpected end of JSON input" : e.getOriginalMessage();
            throw new BadBody(ApiStatus.badRequest("the object provided is unrecognized (must be of type " + kind
                    + "): couldn't get version/kind; json parse error: " + error + " (" + preview(text) + ")"));
        }
    }

    /** The request body without consuming it (fabric8's Buffer reads are destructive). */
    static String text(RecordedRequest request) {
        return request.getBody() == null ? "" : new String(request.getBody().getBytes(), StandardCharsets.UTF_8);
    }

    private static String preview(String text) {
        return text.length() > 30 ? text.substring(0, 30) + " ..." : text;
    }

    private static RecordedRequest withBody(RecordedRequest request, ObjectNode body) {
        return new RecordedRequest(request.getHttpVersion(), request.method(), request.getPath(), request.getHeaders(),
                new Buffer(body.toString().getBytes(StandardCharsets.UTF_8)));
    }

    /** RFC 7386 JSON merge patch. */
    static JsonNode mergePatch(JsonNode target, JsonNode patch) {
        if (!patch.isObject()) {
            return patch;
        }
        ObjectNode result = target.isObject() ? (ObjectNode) target : Serialization.jsonMapper().createObjectNode();
        patch.fields().forEachRemaining(field -> {
            if (field.getValue().isNull()) {
                result.remove(field.getKey());
            } else {
                result.set(field.getKey(), mergePatch(result.path(field.getKey()), field.getValue()));
            }
        });
        return result;
    }

    private static List<String> containerNames(JsonNode pod, String list) {
        List<String> names = new ArrayList<>();
        pod.path("spec").path(list).forEach(c -> names.add(c.path("name").asText()));
        return names;
    }

    private static JsonNode containerStatus(JsonNode pod, String container) {
        for (String list : List.of("containerStatuses", "initContainerStatuses")) {
            for (JsonNode s : pod.path("status").path(list)) {
                if (s.path("name").asText().equals(container)) {
                    return s;
                }
            }
        }
        return null;
    }

    private static String goList(List<String> items) {
        return "[" + String.join(" ", items) + "]";
    }

    private static boolean contains(ArrayNode array, String value) {
        for (JsonNode n : array) {
            if (n.asText().equals(value)) {
                return true;
            }
        }
        return false;
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.SECONDS);
    }

    static String timestamp(Instant instant) {
        return instant.truncatedTo(ChronoUnit.SECONDS).toString();
    }

    private static MockResponse ok(ObjectNode body) {
        return new MockResponse().setResponseCode(200).setHeader("Content-Type", "application/json")
                .setBody(body.toString());
    }

    private static MockResponse created(ObjectNode body) {
        return new MockResponse().setResponseCode(201).setHeader("Content-Type", "application/json")
                .setBody(body.toString());
    }

    /** A body the API server rejects before looking at it. */
    private static final class BadBody extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient MockResponse response;

        BadBody(MockResponse response) {
            super(null, null, false, false);
            this.response = response;
        }
    }

    /** {@code DeleteOptions} from the body or the query, as the API server reads them. */
    record DeleteOptions(Optional<Long> gracePeriodSeconds, String propagationPolicy, String uid, String resourceVersion) {

        static DeleteOptions of(RecordedRequest request, ApiPath path) {
            JsonNode body = Serialization.jsonMapper().createObjectNode();
            String text = text(request);
            if (!text.isBlank()) {
                try {
                    body = Serialization.jsonMapper().readTree(text);
                } catch (JsonProcessingException e) {
                    throw new BadBody(ApiStatus.badRequest("the object provided is unrecognized (must be of type "
                            + "DeleteOptions): " + e.getOriginalMessage()));
                }
            }
            Optional<Long> grace = body.has("gracePeriodSeconds") && !body.get("gracePeriodSeconds").isNull()
                    ? Optional.of(body.get("gracePeriodSeconds").asLong())
                    : path.param("gracePeriodSeconds").map(Long::parseLong);
            String policy = body.path("propagationPolicy").asText(path.param("propagationPolicy").orElse(""));
            if (policy.isEmpty() && body.path("orphanDependents").asBoolean(false)) {
                policy = "Orphan";
            }
            return new DeleteOptions(grace, policy, body.path("preconditions").path("uid").asText(""),
                    body.path("preconditions").path("resourceVersion").asText(""));
        }

        String propagationFinalizer() {
            return switch (propagationPolicy) {
                case "Foreground" -> FOREGROUND;
                case "Orphan" -> ORPHAN;
                default -> null;
            };
        }

        Optional<MockResponse> checkPreconditions(JsonNode object, String kind, String name) {
            String actualUid = object.path("metadata").path("uid").asText();
            if (!uid.isEmpty() && !uid.equals(actualUid)) {
                return Optional.of(ApiStatus.failure(409, "Conflict", "Operation cannot be fulfilled on " + kind + " \""
                        + name + "\": the UID in the precondition (" + uid + ") does not match the UID in record ("
                        + actualUid + "). The object might have been deleted and then recreated",
                        ApiStatus.details(name, kind)));
            }
            String actualRv = object.path("metadata").path("resourceVersion").asText();
            if (!resourceVersion.isEmpty() && !resourceVersion.equals(actualRv)) {
                return Optional.of(ApiStatus.failure(409, "Conflict", "Operation cannot be fulfilled on " + kind + " \""
                        + name + "\": the ResourceVersion in the precondition (" + resourceVersion
                        + ") does not match the ResourceVersion in record (" + actualRv
                        + "). The object might have been modified", ApiStatus.details(name, kind)));
            }
            return Optional.empty();
        }
    }
}
