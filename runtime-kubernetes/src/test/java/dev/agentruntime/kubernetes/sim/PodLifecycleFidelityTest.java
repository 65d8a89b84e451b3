package dev.agentruntime.kubernetes.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.kubernetes.Recordings;
import dev.agentruntime.testkit.RequiresDocker;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.PodResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Runs the recorded pods (scenarios 1-6) through the simulated cluster with a plain fabric8 client and compares what
 * the client sees — every watch step of the pod and every Event about it — with what the real v1.32 cluster did, as
 * {@link Shapes} (reasons and messages word for word; uids, IPs, times and grace durations masked). Where a run has
 * to be shortened (a 30 s grace, a 10 s deadline) the manifest or delete is changed as stated at that test and in
 * the README; the kubelet's own retry and back-off clocks run 10× faster ({@link KubeletTiming#scaled}), messages
 * keep the nominal seconds.
 */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PodLifecycleFidelityTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private SimulatedCluster cluster;
    private KubernetesClient client;

    @BeforeAll
    void startCluster() {
        SimulatedClusters.prepareWebImage();
        cluster = SimulatedCluster.builder().nodeName("vm").namespace("ref")
                .imageAlias("local.test/busybox:1.35", SimulatedClusters.WEB_IMAGE)
                .unreachableRegistry("127.0.0.1:5999")
                .allocatable("2", "24Gi", 50)
                .timing(KubeletTiming.scaled(0.1))
                .start();
        client = cluster.client();
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
            assertThat(cluster.leftovers()).as("containers and directories left by the simulated cluster").isEmpty();
        }
    }

    // ----------------------------------------------------------------------------------- scenario 1 ---

    @Test
    void normalStartThenDeleteWithGraceZeroMatchesRecording() {
        JsonNode record = variant("scenario-1-normal-start-and-delete", "1b_grace0_delete");
        runAndCompare(record, manifest(record), pod -> {
            awaitReady(pod);
            pod.resource().withGracePeriod(0).delete();
        }, true);
    }

    @Test
    void normalStartThenDeleteWithGraceFiveMatchesRecording() {
        JsonNode record = variant("scenario-1-normal-start-and-delete", "1c_grace5_delete");
        runAndCompare(record, manifest(record), pod -> {
            awaitReady(pod);
            pod.resource().withGracePeriod(5).delete();
        }, true);
    }

    /** 1a deleted with the pod's 30 s grace; here with 2 s: the same steps, the kill comes sooner. */
    @Test
    void normalStartThenDefaultDeleteMatchesRecording() {
        JsonNode record = variant("scenario-1-normal-start-and-delete", "1a_default_delete");
        runAndCompare(record, manifest(record), pod -> {
            awaitReady(pod);
            pod.resource().withGracePeriod(2).delete();
        }, true);
    }

    @Test
    void containerThatHandlesSigtermSucceedsOnDeleteMatchesRecording() {
        JsonNode record = variant("scenario-1-normal-start-and-delete", "1d_sigterm_handled_delete");
        runAndCompare(record, manifest(record), pod -> {
            awaitReady(pod);
            pod.resource().delete();
        }, true);
    }

    // ----------------------------------------------------------------------------------- scenario 2 ---

    @Test
    void missingImageAlternatesErrImagePullAndBackOffMatchesRecording() {
        imageScenario("2a_ifnotpresent_manifest_unknown");
    }

    @Test
    void unreachableRegistryMatchesRecording() {
        imageScenario("2b_ifnotpresent_registry_unreachable");
    }

    @Test
    void neverPullPolicyWithoutImageMatchesRecording() {
        imageScenario("2c_never_not_present");
    }

    /** Runs until the recorded steps and Events before the DELETE happened, deletes, and compares all of it. */
    private void imageScenario(String variantName) {
        JsonNode record = variant("scenario-2-image-not-found", variantName);
        double deleteAt = record.path("delete_requests").path(0).path("t_sent").asDouble();
        int stepsBefore = countBefore(record.path("watch"), deleteAt);
        int eventsBefore = countBefore(record.path("events_watch"), kubeletSawDeletion(record.path("watch")));
        runAndCompare(record, manifest(record), pod -> {
            pod.observation().awaitPod(stepsBefore + " watch steps", s -> s.size() >= stepsBefore, WAIT);
            pod.observation().awaitEvents(eventsBefore + " events", s -> s.size() >= eventsBefore, WAIT);
            pod.resource().delete();
        }, false);
    }

    // ----------------------------------------------------------------------------------- scenario 3 ---

    @Test
    void exitOneWithRestartNeverFailsMatchesRecording() {
        JsonNode record = variant("scenario-3-container-exits-1", "3a_exit1_restart_never");
        runAndCompare(record, manifest(record), pod -> {
            pod.observation().awaitPod("phase Failed", Observation.lastStartsWith("MODIFIED phase=Failed"), WAIT);
            pod.resource().delete();
        }, false);
    }

    /**
     * The termination message is the log's tail. Docker copies stdout and stderr on separate pipes, so two lines
     * written microseconds apart to different streams may come out in either order: the message is compared with
     * the recorded one as a set of lines (see the README).
     */
    @Test
    void fallbackToLogsOnErrorPutsTheOutputInTheTerminationMessage() {
        JsonNode record = variant("scenario-3-container-exits-1", "3a2_exit1_restart_never_fallback_to_logs");
        runAndCompare(record, manifest(record), pod -> {
            pod.observation().awaitPod("phase Failed", Observation.lastStartsWith("MODIFIED phase=Failed"), WAIT);
            pod.resource().delete();
        }, false, Shapes.recordedEvents(record.path("events_watch")),
                step -> step.replace("\"boom: agent failed to start\nagent starting\n\"",
                        "\"agent starting\nboom: agent failed to start\n\""));
    }

    @Test
    void exitOneWithRestartAlwaysCrashLoopsWithGrowingBackOffMatchesRecording() {
        JsonNode record = variant("scenario-3-container-exits-1", "3b_exit1_restart_always");
        double deleteAt = record.path("delete_requests").path(0).path("t_sent").asDouble();
        int stepsBefore = countBefore(record.path("watch"), deleteAt);
        int eventsBefore = countBefore(record.path("events_watch"), kubeletSawDeletion(record.path("watch")));
        runAndCompare(record, manifest(record), pod -> {
            pod.observation().awaitPod(stepsBefore + " watch steps", s -> s.size() >= stepsBefore, WAIT);
            pod.observation().awaitEvents(eventsBefore + " events", s -> s.size() >= eventsBefore, WAIT);
            pod.resource().delete();
        }, false);
    }

    // ----------------------------------------------------------------------------------- scenario 4 ---

    /**
     * The recording has a second FailedScheduling 40 s in, caused by other pods of the recording session
     * terminating; here nothing else runs, so only the first is expected.
     */
    @Test
    void podThatDoesNotFitIsUnschedulableMatchesRecording() {
        JsonNode record = Recordings.scenario("scenario-4-unschedulable").path("detail");
        List<String> expectedEvents = Shapes.recordedEvents(record.path("events_watch")).subList(0, 1);
        runAndCompare(record, manifest(record), pod -> {
            pod.observation().awaitPod("PodScheduled=False", Observation.any(s -> s.contains("PodScheduled=False")), WAIT);
            pod.observation().awaitEvents("FailedScheduling", s -> !s.isEmpty(), WAIT);
            pod.resource().delete();
        }, false, expectedEvents);
    }

    @Test
    void podWithUnboundClaimIsUnschedulableMatchesRecording() {
        JsonNode record = Recordings.scenario("scenario-4-unschedulable").path("variant_4b_unbound_pvc");
        PersistentVolumeClaim pvc = Serialization.unmarshal(clean(record.path("pvc_create").path("body")).toString(),
                PersistentVolumeClaim.class);
        client.persistentVolumeClaims().inNamespace("ref").resource(pvc).create();
        try {
            runAndCompare(record, manifest(record), pod -> {
                pod.observation().awaitPod("PodScheduled=False", Observation.any(s -> s.contains("PodScheduled=False")), WAIT);
                pod.observation().awaitEvents("FailedScheduling", s -> !s.isEmpty(), WAIT);
                pod.resource().delete();
            }, false);
        } finally {
            client.persistentVolumeClaims().inNamespace("ref").withName(pvc.getMetadata().getName()).delete();
        }
    }

    // ----------------------------------------------------------------------------------- scenario 5 ---

    /**
     * Recorded with the default 30 s grace (busybox sleep ignores SIGTERM, so the kill waited 30 s); run with
     * {@code terminationGracePeriodSeconds: 2}: the same steps and Events, sooner.
     */
    @Test
    void activeDeadlineFailsThePodWithDeadlineExceededMatchesRecording() {
        JsonNode record = Recordings.scenario("scenario-5-active-deadline").path("detail");
        ObjectNode manifest = (ObjectNode) record.path("manifest").deepCopy();
        ((ObjectNode) manifest.path("spec")).put("terminationGracePeriodSeconds", 2);
        int recordedEvents = record.path("events_watch").size();
        runAndCompare(record, Serialization.unmarshal(manifest.toString(), Pod.class), pod -> {
            pod.observation().awaitPod("phase Failed", Observation.lastStartsWith("MODIFIED phase=Failed"), WAIT);
            pod.observation().awaitEvents(recordedEvents + " events", s -> s.size() >= recordedEvents, WAIT);
            pod.resource().delete();
        }, false);
    }

    // ----------------------------------------------------------------------------------- scenario 6 ---

    @Test
    void readinessProbeRefusedKeepsThePodUnreadyMatchesRecording() {
        readinessScenario("6a_connection_refused");
    }

    @Test
    void readinessProbeAnswering404KeepsThePodUnreadyMatchesRecording() {
        readinessScenario("6b_http_404");
    }

    /**
     * Recorded for 60 s (25 Unhealthy events, then client-go's spam filter) and deleted with the 30 s grace; run
     * until the third Unhealthy and deleted with 2 s. Pod steps are compared whole, Events up to the third Unhealthy
     * plus the Killing.
     */
    private void readinessScenario(String variantName) {
        JsonNode record = variant("scenario-6-readiness-never-succeeds", variantName);
        List<String> recorded = Shapes.recordedEvents(record.path("events_watch"));
        List<String> expectedEvents = new ArrayList<>();
        int unhealthy = 0;
        for (String e : recorded) {
            if (e.contains(" Unhealthy ")) {
                if (++unhealthy > 3) {
                    continue;
                }
            }
            expectedEvents.add(e);
        }
        runAndCompare(record, manifest(record), pod -> {
            pod.observation().awaitEvents("3 Unhealthy events",
                    s -> s.stream().filter(e -> e.contains(" Unhealthy ")).count() >= 3, WAIT);
            pod.resource().withGracePeriod(2).delete();
        }, true, expectedEvents);
    }

    // -------------------------------------------------------------------------------------- harness ---

    /** The pod under test: its API handle and what the watching client saw. */
    record PodUnderTest(PodResource resource, Observation observation) {
    }

    private void runAndCompare(JsonNode record, Pod manifest, Consumer<PodUnderTest> script, boolean mergedStepOptional) {
        runAndCompare(record, manifest, script, mergedStepOptional, Shapes.recordedEvents(record.path("events_watch")));
    }

    private void runAndCompare(JsonNode record, Pod manifest, Consumer<PodUnderTest> script, boolean mergedStepOptional,
                               List<String> expectedEvents) {
        runAndCompare(record, manifest, script, mergedStepOptional, expectedEvents, step -> step);
    }

    private void runAndCompare(JsonNode record, Pod manifest, Consumer<PodUnderTest> script, boolean mergedStepOptional,
                               List<String> expectedEvents, java.util.function.UnaryOperator<String> normalize) {
        String name = manifest.getMetadata().getName();
        List<String> expectedSteps = Shapes.recordedPod(record.path("watch"));
        try (Observation observation = new Observation(client, "ref", name)) {
            long start = System.nanoTime();
            client.pods().inNamespace("ref").resource(manifest).create();
            PodResource resource = client.pods().inNamespace("ref").withName(name);
            script.accept(new PodUnderTest(resource, observation));
            List<String> steps = observation.awaitPod("DELETED", Observation.lastStartsWith("DELETED"), WAIT);
            cluster.flushEvents();
            List<String> events = observation.awaitEvents(expectedEvents.size() + " events",
                    s -> s.size() >= expectedEvents.size(), WAIT);
            List<String> observedSteps = new ArrayList<>();
            steps.forEach(step -> observedSteps.add(normalize.apply(step)));
            if (mergedStepOptional && expectedSteps.stream().noneMatch(PodLifecycleFidelityTest::isCreatingStep)) {
                // the recorded kubelet happened to merge its first status write into the next (SUMMARY: step 3)
                observedSteps.removeIf(PodLifecycleFidelityTest::isCreatingStep);
            }
            System.out.printf("fidelity %s: %d watch steps, %d events, %.1f s%n", name, observedSteps.size(),
                    events.size(), (System.nanoTime() - start) / 1e9);
            assertThat(observedSteps).as("watch steps of %s (simulated vs recorded)", name)
                    .containsExactlyElementsOf(expectedSteps);
            assertThat(events).as("Events about %s (simulated vs recorded)", name)
                    .containsExactlyElementsOf(expectedEvents);
        }
    }

    private static boolean isCreatingStep(String step) {
        return step.startsWith("MODIFIED phase=Pending") && step.contains("waiting(ContainerCreating)")
                && step.contains("PodReadyToStartContainers=False") && !step.contains("deleting");
    }

    private static void awaitReady(PodUnderTest pod) {
        pod.observation().awaitPod("Ready=True", Observation.any(s -> s.contains(" Ready=True")), WAIT);
    }

    /**
     * When the recorded kubelet acted on the DELETE: the time of its first status write after the API server's
     * deletion step. Events it wrote before that (a back-off event racing the DELETE) belong to the run.
     */
    private static double kubeletSawDeletion(JsonNode watch) {
        boolean deleting = false;
        for (JsonNode item : watch) {
            if (deleting) {
                return item.path("t").asDouble();
            }
            deleting = item.path("metadata").hasNonNull("deletionTimestamp");
        }
        return Double.MAX_VALUE;
    }

    private static int countBefore(JsonNode items, double t) {
        int n = 0;
        for (JsonNode item : items) {
            if (item.path("t").asDouble() < t && !item.path("type").asText().equals("BOOKMARK")) {
                n++;
            }
        }
        return n;
    }

    private static JsonNode variant(String scenario, String variant) {
        JsonNode node = Recordings.scenario(scenario).path("variants").path(variant);
        assertThat(node.isMissingNode()).as("variant %s of %s", variant, scenario).isFalse();
        return node;
    }

    private static Pod manifest(JsonNode record) {
        return Serialization.unmarshal(record.path("manifest").toString(), Pod.class);
    }

    /** A recorded object without what the server had set, ready to be created again. */
    private static ObjectNode clean(JsonNode recorded) {
        ObjectNode copy = recorded.deepCopy();
        ObjectNode metadata = (ObjectNode) copy.path("metadata");
        for (String field : List.of("uid", "resourceVersion", "creationTimestamp", "namespace", "finalizers",
                "managedFields")) {
            metadata.remove(field);
        }
        copy.remove("status");
        return copy;
    }
}
