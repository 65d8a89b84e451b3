package dev.agentruntime.kubernetes.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.kubernetes.Recordings;
import dev.agentruntime.testkit.RequiresDocker;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Scenario 7: dependents owned by a pod (Service, ConfigMap, Ingress, PVC) go the way the recorded garbage
 * collector sent them — after the owner with background propagation, before it with foreground, at once when the
 * owner reference does not resolve — with the same watch steps and the same 404 afterwards.
 */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OwnerReferenceFidelityTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private SimulatedCluster cluster;
    private KubernetesClient client;

    @BeforeAll
    void startCluster() {
        SimulatedClusters.prepareWebImage();
        cluster = SimulatedCluster.builder().nodeName("vm").namespace("ref")
                .imageAlias("local.test/busybox:1.35", SimulatedClusters.WEB_IMAGE)
                .timing(KubeletTiming.scaled(0.1)).start();
        client = cluster.client();
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
            assertThat(cluster.leftovers()).isEmpty();
        }
    }

    /** 7a: background (a DELETE without body); recorded with the 30 s grace, deleted here with 2 s. */
    @Test
    void backgroundDeletionRemovesDependentsOnlyAfterTheOwnerIsGone() throws Exception {
        JsonNode record = Recordings.scenario("scenario-7-owner-references").path("variants")
                .path("7a_background_delete_default");
        Pod pod = createReady(record);
        try (Steps service = new Steps(client, Service.class, "ref", name(record, "service_create"));
             Steps configMap = new Steps(client, ConfigMap.class, "ref", name(record, "configmap_create"))) {
            create(Service.class, record.path("service_create").path("body"), pod);
            create(ConfigMap.class, record.path("configmap_create").path("body"), pod);
            service.await(1);
            configMap.await(1);
            try (Observation observed = new Observation(client, "ref", pod.getMetadata().getName())) {
                client.pods().inNamespace("ref").withName(pod.getMetadata().getName()).withGracePeriod(2).delete();
                observed.awaitPod("DELETED", Observation.lastStartsWith("DELETED"), WAIT);
                assertThat(service.steps()).as("the Service waits for its owner to be gone").hasSize(1);
            }
            assertThat(service.await(2)).containsExactlyElementsOf(recorded(record.path("service_watch")));
            assertThat(configMap.await(2)).containsExactlyElementsOf(recorded(record.path("configmap_watch")));
        }
    }

    /**
     * 7b: foreground. The owner gets {@code foregroundDeletion}, its dependents go first, then the finalizer, then the
     * pod terminates as usual. One known difference: the recorded Service owned an EndpointSlice (no EndpointSlice
     * controller runs here), so it was itself deleted in the foreground (one more MODIFIED step).
     */
    @Test
    void foregroundDeletionRemovesDependentsFirst() throws Exception {
        JsonNode record = Recordings.scenario("scenario-7-owner-references").path("variants")
                .path("7b_foreground_delete");
        List<String> expectedPod = new ArrayList<>(Shapes.recordedPod(record.path("watch")));
        try (Observation observed = new Observation(client, "ref", record.path("manifest").path("metadata").path("name").asText());
             Steps service = new Steps(client, Service.class, "ref", name(record, "service_create"));
             Steps configMap = new Steps(client, ConfigMap.class, "ref", name(record, "configmap_create"))) {
            Pod pod = createReadyObserved(record, observed);
            create(Service.class, record.path("service_create").path("body"), pod);
            create(ConfigMap.class, record.path("configmap_create").path("body"), pod);
            service.await(1);
            configMap.await(1);
            client.pods().inNamespace("ref").withName(pod.getMetadata().getName())
                    .withPropagationPolicy(DeletionPropagation.FOREGROUND).withGracePeriod(2).delete();
            List<String> steps = new ArrayList<>(observed.awaitPod("DELETED", Observation.lastStartsWith("DELETED"), WAIT));
            steps.removeIf(s -> s.startsWith("MODIFIED phase=Pending") && s.contains("waiting(ContainerCreating)"));
            assertThat(steps).containsExactlyElementsOf(expectedPod);
            assertThat(configMap.await(2)).containsExactlyElementsOf(recorded(record.path("configmap_watch")));
            List<String> recordedService = recorded(record.path("service_watch"));
            assertThat(recordedService).containsExactly("ADDED", "MODIFIED deleting finalizers=[\"foregroundDeletion\"]",
                    "DELETED deleting finalizers=[\"foregroundDeletion\"]");
            assertThat(service.await(2)).as("without an EndpointSlice the Service goes in the background")
                    .containsExactly("ADDED", "DELETED");
        }
    }

    @Test
    void dependentOfAnAbsentOwnerIsDeletedAtOnce() throws Exception {
        danglingOwner("7c_owner_uid_does_not_exist", null);
    }

    @Test
    void dependentOfAnExistingNameWithAnotherUidIsDeletedAtOnce() throws Exception {
        JsonNode record = Recordings.scenario("scenario-7-owner-references").path("variants")
                .path("7d_owner_name_exists_uid_wrong");
        String owner = record.path("create").path("body").path("metadata").path("ownerReferences").path(0)
                .path("name").asText();
        Pod live = Serialization.unmarshal("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" + owner
                + "\"},\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"agent\",\"image\":"
                + "\"local.test/busybox:1.35\",\"command\":[\"sleep\",\"3600\"]}]}}", Pod.class);
        client.pods().inNamespace("ref").resource(live).create();
        try {
            danglingOwner("7d_owner_name_exists_uid_wrong", owner);
        } finally {
            client.pods().inNamespace("ref").withName(owner).withGracePeriod(0).delete();
        }
    }

    private void danglingOwner(String variant, String liveOwner) throws Exception {
        JsonNode record = Recordings.scenario("scenario-7-owner-references").path("variants").path(variant);
        ObjectNode body = clean(record.path("create").path("body"));
        String name = body.path("metadata").path("name").asText();
        try (Steps service = new Steps(client, Service.class, "ref", name)) {
            client.services().inNamespace("ref").resource(Serialization.unmarshal(body.toString(), Service.class)).create();
            assertThat(service.await(2)).containsExactlyElementsOf(recorded(record.path("service_watch")));
        }
        JsonNode expected = Recordings.json().readTree(record.path("after_get").get(1).toString());
        try {
            client.services().inNamespace("ref").withName(name).require();
            throw new AssertionError("service " + name + " still exists");
        } catch (KubernetesClientException e) {
            assertThat(e.getCode()).isEqualTo(record.path("after_get").get(0).asInt());
            assertThat(e.getStatus().getMessage()).isEqualTo(expected.path("message").asText());
            assertThat(e.getStatus().getReason()).isEqualTo(expected.path("reason").asText());
        } catch (io.fabric8.kubernetes.client.ResourceNotFoundException e) {
            assertThat(client.services().inNamespace("ref").withName(name).get()).isNull();
        }
    }

    /** 7e: an Ingress and a PVC owned by the pod go 10-20 ms after it; the PVC passes through pvc-protection. */
    @Test
    void ingressAndClaimOwnedByThePodGoWithIt() throws Exception {
        JsonNode record = Recordings.scenario("scenario-7-owner-references").path("variants")
                .path("7e_ingress_and_pvc_owned");
        Pod pod = createReady(record);
        try (Steps ingress = new Steps(client, Ingress.class, "ref", name(record, "ingress_create"));
             Steps claim = new Steps(client, PersistentVolumeClaim.class, "ref", name(record, "pvc_create"))) {
            create(Ingress.class, record.path("ingress_create").path("body"), pod);
            create(PersistentVolumeClaim.class, record.path("pvc_create").path("body"), pod);
            ingress.await(1);
            claim.await(1);
            client.pods().inNamespace("ref").withName(pod.getMetadata().getName()).withGracePeriod(0).delete();
            assertThat(ingress.await(2)).containsExactlyElementsOf(recorded(record.path("ingress_watch")));
            assertThat(claim.await(3)).containsExactlyElementsOf(recorded(record.path("pvc_watch")));
        }
    }

    // --------------------------------------------------------------------------------------- helpers ---

    private Pod createReady(JsonNode record) {
        try (Observation observed = new Observation(client, "ref", record.path("manifest").path("metadata").path("name").asText())) {
            return createReadyObserved(record, observed);
        }
    }

    private Pod createReadyObserved(JsonNode record, Observation observed) {
        Pod manifest = Serialization.unmarshal(record.path("manifest").toString(), Pod.class);
        Pod created = client.pods().inNamespace("ref").resource(manifest).create();
        if (manifest.getSpec().getContainers().get(0).getReadinessProbe() != null) {
            observed.awaitPod("Ready", Observation.any(s -> s.contains(" Ready=True")), WAIT);
        } else {
            observed.awaitPod("Running", Observation.any(s -> s.contains("phase=Running")), WAIT);
        }
        return created;
    }

    /** Creates a recorded object again, owned by {@code owner} (the recorded owner reference, our pod's uid). */
    private <T extends HasMetadata> void create(Class<T> kind, JsonNode recordedBody, Pod owner) {
        ObjectNode body = clean(recordedBody);
        ArrayNode refs = (ArrayNode) body.path("metadata").path("ownerReferences");
        for (JsonNode ref : refs) {
            ((ObjectNode) ref).put("uid", owner.getMetadata().getUid());
        }
        if (kind == Service.class) {
            ObjectNode spec = (ObjectNode) body.path("spec");
            for (String field : List.of("clusterIP", "clusterIPs")) {
                spec.remove(field);
            }
        }
        client.resources(kind).inNamespace("ref").resource(Serialization.unmarshal(body.toString(), kind)).create();
    }

    private static String name(JsonNode record, String create) {
        return record.path(create).path("body").path("metadata").path("name").asText();
    }

    private static ObjectNode clean(JsonNode recorded) {
        ObjectNode copy = recorded.deepCopy();
        ObjectNode metadata = (ObjectNode) copy.path("metadata");
        for (String field : List.of("uid", "resourceVersion", "creationTimestamp", "namespace", "finalizers",
                "managedFields", "generation")) {
            metadata.remove(field);
        }
        copy.remove("status");
        return copy;
    }

    /** A recorded watch of a dependent: {@code [{type, metadata}]} or {@code [{type, object: {metadata}}]}. */
    private static List<String> recorded(JsonNode watch) {
        List<String> out = new ArrayList<>();
        for (JsonNode item : watch) {
            JsonNode metadata = item.has("object") ? item.path("object").path("metadata") : item.path("metadata");
            out.add(step(item.path("type").asText(), metadata));
        }
        return out;
    }

    private static String step(String type, JsonNode metadata) {
        StringBuilder s = new StringBuilder(type);
        if (metadata.hasNonNull("deletionTimestamp")) {
            s.append(" deleting");
        }
        if (metadata.path("finalizers").isArray() && !metadata.path("finalizers").isEmpty()) {
            s.append(" finalizers=").append(metadata.path("finalizers"));
        }
        return s.toString();
    }

    /** The watch steps of every object of one kind in a namespace. */
    static final class Steps implements AutoCloseable {
        private final List<String> steps = new ArrayList<>();
        private final Watch watch;

        <T extends HasMetadata> Steps(KubernetesClient client, Class<T> kind, String namespace, String name) {
            watch = client.resources(kind).inNamespace(namespace).withName(name).watch(new Watcher<T>() {
                @Override
                public void eventReceived(Action action, T object) {
                    synchronized (Steps.this) {
                        steps.add(step(action.name(), Serialization.jsonMapper().valueToTree(object.getMetadata())));
                        Steps.this.notifyAll();
                    }
                }

                @Override
                public void onClose(WatcherException cause) {
                }
            });
        }

        synchronized List<String> steps() {
            return List.copyOf(steps);
        }

        synchronized List<String> await(int count) throws InterruptedException {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (steps.size() < count) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("expected " + count + " watch steps, saw " + steps);
                }
                wait(Math.max(1, left / 1_000_000));
            }
            return List.copyOf(steps);
        }

        @Override
        public void close() {
            watch.close();
        }
    }
}
