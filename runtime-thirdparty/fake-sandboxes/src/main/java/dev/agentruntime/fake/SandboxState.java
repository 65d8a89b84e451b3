package dev.agentruntime.fake;

import java.time.Instant;
import java.util.Optional;

/**
 * Where a sandbox is in its life, as one immutable value swapped whole.
 *
 * @param status running, paused (frozen: processes and memory kept), stopped (memory lost, files kept) or dead
 * @param reason why it is paused or dead when that was not an explicit call: a timeout, its main process exiting,
 *     running out of memory; {@link Reason#REQUESTED} otherwise
 * @param exitCode the main process's exit code when it exited on its own
 * @param since when it entered this state
 */
public record SandboxState(Status status, Reason reason, Optional<Integer> exitCode, Instant since) {

    public enum Status {
        RUNNING, PAUSED, STOPPED, DEAD
    }

    public enum Reason {
        /** A call of the fake (create, pause, stop, kill ...). */
        REQUESTED,
        /** The hard timeout passed (the sandbox was killed, or paused for {@link TimeoutAction#PAUSE}). */
        TIMED_OUT,
        /** The sandbox's main process exited on its own. */
        MAIN_PROCESS_EXITED,
        /** The kernel killed the main process for lack of memory. */
        OUT_OF_MEMORY,
        /** The host closed. */
        HOST_CLOSED
    }

    static SandboxState of(Status status, Reason reason) {
        return new SandboxState(status, reason, Optional.empty(), Instant.now());
    }

    public boolean isRunning() {
        return status == Status.RUNNING;
    }

    @Override
    public String toString() {
        return status.name().toLowerCase(java.util.Locale.ROOT)
                + (reason == Reason.REQUESTED ? "" : " (" + reason.name().toLowerCase(java.util.Locale.ROOT)
                        + exitCode.map(c -> ", exit code " + c).orElse("") + ")");
    }
}
