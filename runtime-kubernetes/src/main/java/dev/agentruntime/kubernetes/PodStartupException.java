package dev.agentruntime.kubernetes;

import dev.agentruntime.RuntimeStartupException;
import java.util.Objects;

/**
 * A sandbox pod that will not become ready, and why: the message names the pod, what Kubernetes reported (the
 * waiting or terminated reason and message, the scheduler's reason, the pod's Events) and the last log lines of the
 * container that failed, and says what to fix.
 */
public class PodStartupException extends RuntimeStartupException {

    /** What went wrong, as Kubernetes reports it. */
    public enum Problem {
        /** {@code ErrImagePull}, {@code ImagePullBackOff}, {@code ErrImageNeverPull}, {@code InvalidImageName}. */
        IMAGE_PULL,
        /** {@code PodScheduled=False, reason Unschedulable}: no node fits (resources, selector, taints, volumes). */
        UNSCHEDULABLE,
        /** The sandbox or setup container exited (restartPolicy Never), e.g. the server refused to start. */
        CONTAINER_EXITED,
        /** {@code CrashLoopBackOff}: the container keeps exiting. */
        CRASH_LOOP,
        /** {@code CreateContainerConfigError} / {@code CreateContainerError}: the kubelet cannot create it. */
        CONTAINER_CONFIG,
        /** {@code activeDeadlineSeconds} passed (the TTL), or the pod failed with another pod-level reason. */
        POD_FAILED,
        /** Someone deleted the pod while it started. */
        DELETED
    }

    private final Problem problem;
    private final String podName;

    public PodStartupException(Problem problem, String podName, String message) {
        super(message);
        this.problem = Objects.requireNonNull(problem, "problem");
        this.podName = Objects.requireNonNull(podName, "podName");
    }

    public Problem problem() {
        return problem;
    }

    public String podName() {
        return podName;
    }
}
