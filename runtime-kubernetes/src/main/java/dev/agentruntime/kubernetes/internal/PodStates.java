package dev.agentruntime.kubernetes.internal;

import dev.agentruntime.kubernetes.PodStartupException.Problem;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Reads a pod's status the way a real v1.32 kubelet and scheduler write it (see the module's recordings): whether the
 * sandbox is ready, has failed for good (and why), or is still on its way.
 */
public final class PodStates {

    /** Waiting reasons that will not go away by waiting: the kubelet keeps retrying, but the answer is known. */
    private static final Set<String> IMAGE_REASONS = Set.of("ImagePullBackOff", "ErrImageNeverPull",
            "InvalidImageName");
    private static final Set<String> CONFIG_REASONS = Set.of("CreateContainerConfigError", "CreateContainerError",
            "RunContainerError");

    private PodStates() {
    }

    /**
     * The verdict on one pod state.
     *
     * @param container the container the failure is about (for its logs), when one is
     */
    public record Verdict(boolean ready, Optional<Problem> problem, String summary, Optional<String> container) {
        static Verdict ready(String summary) {
            return new Verdict(true, Optional.empty(), summary, Optional.empty());
        }

        static Verdict waiting(String summary) {
            return new Verdict(false, Optional.empty(), summary, Optional.empty());
        }

        static Verdict failed(Problem problem, String summary, String container) {
            return new Verdict(false, Optional.of(problem), summary, Optional.ofNullable(container));
        }

        public boolean failed() {
            return problem.isPresent();
        }
    }

    public static boolean terminal(Pod pod) {
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        return "Failed".equals(phase) || "Succeeded".equals(phase);
    }

    public static Verdict judge(Pod pod) {
        PodStatus status = pod.getStatus() == null ? new PodStatus() : pod.getStatus();
        String phase = Optional.ofNullable(status.getPhase()).orElse("Pending");
        if (pod.getMetadata().getDeletionTimestamp() != null) {
            return Verdict.failed(Problem.DELETED, "the pod is being deleted (deletionTimestamp "
                    + pod.getMetadata().getDeletionTimestamp() + ")", null);
        }
        if ("Failed".equals(phase) || "Succeeded".equals(phase)) {
            if (status.getReason() != null) {
                return Verdict.failed(Problem.POD_FAILED, "phase " + phase + ", reason " + status.getReason()
                        + Optional.ofNullable(status.getMessage()).map(m -> ": " + m).orElse(""), null);
            }
        }
        for (PodCondition c : conditions(status)) {
            if ("PodScheduled".equals(c.getType()) && "False".equals(c.getStatus())
                    && "Unschedulable".equals(c.getReason())) {
                return Verdict.failed(Problem.UNSCHEDULABLE, "unschedulable: " + c.getMessage(), null);
            }
        }
        for (ContainerStatus s : allStatuses(status)) {
            boolean init = status.getInitContainerStatuses() != null && status.getInitContainerStatuses().contains(s);
            String which = (init ? "init container " : "container ") + s.getName();
            ContainerStateWaiting waiting = s.getState() == null ? null : s.getState().getWaiting();
            if (waiting != null && waiting.getReason() != null) {
                String reason = waiting.getReason();
                String text = which + " waiting: " + reason + Optional.ofNullable(waiting.getMessage())
                        .map(m -> " (" + m + ")").orElse("");
                if (IMAGE_REASONS.contains(reason) || ("ErrImagePull".equals(reason) && definitelyMissing(waiting))) {
                    return Verdict.failed(Problem.IMAGE_PULL, text, null);
                }
                if (CONFIG_REASONS.contains(reason)) {
                    return Verdict.failed(Problem.CONTAINER_CONFIG, text, s.getName());
                }
                if ("CrashLoopBackOff".equals(reason)) {
                    return Verdict.failed(Problem.CRASH_LOOP, text + lastTermination(s), s.getName());
                }
            }
            ContainerStateTerminated terminated = s.getState() == null ? null : s.getState().getTerminated();
            if (terminated != null && !(init && Integer.valueOf(0).equals(terminated.getExitCode()))) {
                return Verdict.failed(Problem.CONTAINER_EXITED, which + " exited with code "
                        + terminated.getExitCode() + " (" + terminated.getReason() + ")", s.getName());
            }
        }
        if ("Failed".equals(phase) || "Succeeded".equals(phase)) {
            return Verdict.failed(Problem.POD_FAILED, "phase " + phase, null);
        }
        boolean ready = conditions(status).stream().anyMatch(c -> "Ready".equals(c.getType())
                && "True".equals(c.getStatus()));
        if ("Running".equals(phase) && ready) {
            return Verdict.ready("Running and Ready, pod IP " + status.getPodIP());
        }
        return Verdict.waiting(describe(pod));
    }

    /** ErrImagePull whose message says the image or tag does not exist (not a registry hiccup worth a retry). */
    private static boolean definitelyMissing(ContainerStateWaiting waiting) {
        String m = Optional.ofNullable(waiting.getMessage()).orElse("").toLowerCase(java.util.Locale.ROOT);
        return m.contains("not found") || m.contains("manifest unknown") || m.contains("notfound")
                || m.contains("pull access denied") || m.contains("unauthorized");
    }

    private static String lastTermination(ContainerStatus s) {
        if (s.getLastState() != null && s.getLastState().getTerminated() != null) {
            ContainerStateTerminated t = s.getLastState().getTerminated();
            return "; last exit code " + t.getExitCode() + " (" + t.getReason() + "), " + s.getRestartCount()
                    + " restarts";
        }
        return "";
    }

    private static List<PodCondition> conditions(PodStatus status) {
        return status.getConditions() == null ? List.of() : status.getConditions();
    }

    private static List<ContainerStatus> allStatuses(PodStatus status) {
        List<ContainerStatus> all = new ArrayList<>();
        if (status.getInitContainerStatuses() != null) {
            all.addAll(status.getInitContainerStatuses());
        }
        if (status.getContainerStatuses() != null) {
            all.addAll(status.getContainerStatuses());
        }
        return all;
    }

    /** One line: phase, the conditions that are not True (with reasons), each container's state. */
    public static String describe(Pod pod) {
        PodStatus status = pod.getStatus() == null ? new PodStatus() : pod.getStatus();
        StringBuilder text = new StringBuilder("phase ").append(Optional.ofNullable(status.getPhase()).orElse("(none)"));
        if (status.getReason() != null) {
            text.append(" (").append(status.getReason()).append(')');
        }
        if (pod.getSpec() != null && pod.getSpec().getNodeName() != null) {
            text.append(", node ").append(pod.getSpec().getNodeName());
        }
        for (PodCondition c : conditions(status)) {
            if (!"True".equals(c.getStatus())) {
                text.append(", ").append(c.getType()).append('=').append(c.getStatus());
                if (c.getReason() != null) {
                    text.append(" (").append(c.getReason()).append(')');
                }
            }
        }
        for (ContainerStatus s : allStatuses(status)) {
            text.append(", ").append(s.getName()).append(' ');
            if (s.getState() == null) {
                text.append("unknown");
            } else if (s.getState().getWaiting() != null) {
                text.append("waiting ").append(s.getState().getWaiting().getReason());
            } else if (s.getState().getRunning() != null) {
                text.append(Boolean.TRUE.equals(s.getReady()) ? "running, ready" : "running, not ready");
            } else if (s.getState().getTerminated() != null) {
                text.append("terminated ").append(s.getState().getTerminated().getReason()).append(" exit ")
                        .append(s.getState().getTerminated().getExitCode());
            }
        }
        return text.toString();
    }
}
