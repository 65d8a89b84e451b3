package dev.agentruntime.kubernetes.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.kubernetes.PodStartupException.Problem;
import dev.agentruntime.kubernetes.Recordings;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The verdicts on every pod state a real v1.32 kubelet and scheduler wrote in the recordings: the first decisive
 * state of each sequence (ready, or failed and why), and that nothing before it is judged decisive.
 */
class PodStatesTest {

    private record Decision(int step, PodStates.Verdict verdict) {
    }

    private static List<Pod> pods(JsonNode record) {
        List<Pod> pods = new ArrayList<>();
        for (JsonNode step : record.path("watch")) {
            if (step.path("type").asText().equals("BOOKMARK")) {
                continue; // skipped by PodWatch too
            }
            ObjectNode pod = Recordings.json().createObjectNode().put("apiVersion", "v1").put("kind", "Pod");
            ObjectNode metadata = ((ObjectNode) step.path("metadata").deepCopy()).put("name", "recorded");
            pod.set("metadata", metadata);
            pod.putObject("spec").set("nodeName", step.path("spec.nodeName"));
            pod.set("status", step.path("status"));
            pods.add(Serialization.unmarshal(pod.toString(), Pod.class));
        }
        assertThat(pods).isNotEmpty();
        return pods;
    }

    private static Optional<Decision> firstDecision(JsonNode record) {
        List<Pod> pods = pods(record);
        for (int i = 0; i < pods.size(); i++) {
            PodStates.Verdict v = PodStates.judge(pods.get(i));
            if (v.ready() || v.failed()) {
                return Optional.of(new Decision(i, v));
            }
        }
        return Optional.empty();
    }

    private static JsonNode variant(String scenario, String variant) {
        return Recordings.scenario(scenario).path("variants").path(variant);
    }

    @Test
    void aNormalStartIsReadyAtTheRecordedReadyStepAndADeletedPodIsNoLongerWaitedFor() {
        JsonNode record = variant("scenario-1-normal-start-and-delete", "1a_default_delete");
        Decision first = firstDecision(record).orElseThrow();
        assertThat(first.verdict().ready()).isTrue();
        Pod readyPod = pods(record).get(first.step());
        assertThat(readyPod.getStatus().getPhase()).isEqualTo("Running");
        List<Pod> all = pods(record);
        assertThat(PodStates.judge(all.get(all.size() - 1)).problem()).contains(Problem.DELETED);
    }

    @Test
    void imagesThatCannotBeHadAreJudgedAsTheKubeletReportsThem() {
        PodStates.Verdict notFound = firstDecision(variant("scenario-2-image-not-found",
                "2a_ifnotpresent_manifest_unknown")).orElseThrow().verdict();
        assertThat(notFound.problem()).contains(Problem.IMAGE_PULL);
        assertThat(notFound.summary()).contains("ErrImagePull").contains("not found");

        // a registry that refuses connections may be a hiccup: the first ErrImagePull is waited out, the back-off is not
        PodStates.Verdict unreachable = firstDecision(variant("scenario-2-image-not-found",
                "2b_ifnotpresent_registry_unreachable")).orElseThrow().verdict();
        assertThat(unreachable.problem()).contains(Problem.IMAGE_PULL);
        assertThat(unreachable.summary()).contains("ImagePullBackOff").contains("connection refused");

        PodStates.Verdict never = firstDecision(variant("scenario-2-image-not-found", "2c_never_not_present"))
                .orElseThrow().verdict();
        assertThat(never.problem()).contains(Problem.IMAGE_PULL);
        assertThat(never.summary()).contains("ErrImageNeverPull");
    }

    @Test
    void anExitingContainerFailsWhilePhaseIsStillPending() {
        JsonNode never = variant("scenario-3-container-exits-1", "3a_exit1_restart_never");
        Decision first = firstDecision(never).orElseThrow();
        assertThat(first.verdict().problem()).contains(Problem.CONTAINER_EXITED);
        assertThat(first.verdict().summary()).contains("exited with code 1 (Error)");
        assertThat(first.verdict().container()).contains("agent");
        assertThat(pods(never).get(first.step()).getStatus().getPhase()).isEqualTo("Pending");

        Decision always = firstDecision(variant("scenario-3-container-exits-1", "3b_exit1_restart_always"))
                .orElseThrow();
        assertThat(always.verdict().problem().orElseThrow()).isIn(Problem.CONTAINER_EXITED, Problem.CRASH_LOOP);
        boolean crashLoopSeen = pods(variant("scenario-3-container-exits-1", "3b_exit1_restart_always")).stream()
                .map(PodStates::judge).anyMatch(v -> v.problem().equals(Optional.of(Problem.CRASH_LOOP))
                        && v.summary().contains("back-off 10s restarting failed container"));
        assertThat(crashLoopSeen).isTrue();
    }

    @Test
    void anUnschedulablePodCarriesTheSchedulersMessage() {
        PodStates.Verdict v = firstDecision(Recordings.scenario("scenario-4-unschedulable")).orElseThrow().verdict();
        assertThat(v.problem()).contains(Problem.UNSCHEDULABLE);
        assertThat(v.summary()).contains("0/1 nodes are available: 1 Insufficient cpu.");
        PodStates.Verdict pvc = firstDecision(Recordings.scenario("scenario-4-unschedulable")
                .path("variant_4b_unbound_pvc")).orElseThrow().verdict();
        assertThat(pvc.summary()).contains("pod has unbound immediate PersistentVolumeClaims");
    }

    @Test
    void theActiveDeadlineEndsAReadyPodWithDeadlineExceeded() {
        JsonNode record = Recordings.scenario("scenario-5-active-deadline");
        assertThat(firstDecision(record).orElseThrow().verdict().ready()).as("Ready before the deadline").isTrue();
        List<Pod> beforeDelete = pods(record).stream().filter(p -> p.getMetadata().getDeletionTimestamp() == null)
                .toList();
        PodStates.Verdict last = PodStates.judge(beforeDelete.get(beforeDelete.size() - 1));
        assertThat(last.problem()).contains(Problem.POD_FAILED);
        assertThat(last.summary()).contains("DeadlineExceeded")
                .contains("Pod was active on the node longer than the specified deadline");
    }

    @Test
    void aReadinessProbeThatNeverPassesIsNeverDecisiveSoOnlyTheDeadlineEndsTheWait() {
        for (String variant : List.of("6a_connection_refused", "6b_http_404")) {
            JsonNode record = variant("scenario-6-readiness-never-succeeds", variant);
            List<Pod> all = pods(record);
            // every state until the test deleted the pod is "still starting"
            for (Pod pod : all) {
                if (pod.getMetadata().getDeletionTimestamp() == null) {
                    PodStates.Verdict v = PodStates.judge(pod);
                    assertThat(v.ready() || v.failed()).as(variant + ": " + v.summary()).isFalse();
                }
            }
            Pod lastBeforeDelete = all.stream().filter(p -> p.getMetadata().getDeletionTimestamp() == null)
                    .reduce((a, b) -> b).orElseThrow();
            assertThat(PodStates.describe(lastBeforeDelete)).contains("phase Running")
                    .contains("Ready=False (ContainersNotReady)").contains("agent running, not ready");
        }
    }
}
