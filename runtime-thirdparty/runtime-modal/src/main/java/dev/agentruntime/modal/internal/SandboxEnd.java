package dev.agentruntime.modal.internal;

import dev.agentruntime.modal.ModalSandboxEndedException.Reason;
import dev.agentruntime.modal.internal.proto.GenericResult;

/** How a Modal sandbox (or image build) ended, from its {@code GenericResult}. */
public record SandboxEnd(Reason reason, String exception, int exitCode) {

    static SandboxEnd of(GenericResult result) {
        Reason reason = switch (result.getStatus()) {
            case GENERIC_STATUS_TIMEOUT -> Reason.TIMEOUT;
            case GENERIC_STATUS_IDLE_TIMEOUT -> Reason.IDLE_TIMEOUT;
            case GENERIC_STATUS_TERMINATED -> Reason.TERMINATED;
            case GENERIC_STATUS_SUCCESS -> Reason.SUCCESS;
            case GENERIC_STATUS_FAILURE -> Reason.FAILURE;
            case GENERIC_STATUS_INIT_FAILURE -> Reason.INIT_FAILURE;
            case GENERIC_STATUS_INTERNAL_FAILURE -> Reason.INTERNAL_FAILURE;
            case GENERIC_STATUS_MEMORY_MANAGER_EVICTION -> Reason.MEMORY_EVICTION;
            default -> Reason.UNKNOWN;
        };
        return new SandboxEnd(reason, result.getException(), result.getExitcode());
    }

    static String describe(GenericResult result) {
        return of(result).describe();
    }

    /** A sentence part: "it reached its timeout (the fixed lifetime set at create)". */
    public String describe() {
        String what = switch (reason) {
            case TIMEOUT -> "it reached its timeout (the fixed lifetime set at create)";
            case IDLE_TIMEOUT -> "it reached its idle timeout (no activity)";
            case TERMINATED -> "it was terminated";
            case SUCCESS -> "its entry point ended";
            case FAILURE -> "it failed" + (exitCode != 0 ? " with exit code " + exitCode : "");
            case INIT_FAILURE -> "it failed to start";
            case INTERNAL_FAILURE -> "Modal failed internally";
            case MEMORY_EVICTION -> "Modal's memory manager evicted it (out of memory)";
            case UNKNOWN -> "it ended";
        };
        return what + (exception == null || exception.isBlank() ? "" : " (" + exception.strip() + ")");
    }
}
