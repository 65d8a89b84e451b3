package dev.agentruntime.modal;

import dev.agentruntime.RuntimeDisconnectedException;

/**
 * The Modal sandbox has ended, and why: its fixed lifetime ({@code timeout}) or its idle timeout passed, it was
 * terminated, or it failed. Modal has no way to extend or revive a sandbox, so this is not transient: a new session
 * is needed (see the module README on lifetimes).
 */
public class ModalSandboxEndedException extends RuntimeDisconnectedException {

    /** Why a sandbox ended, from Modal's {@code GenericResult} status. */
    public enum Reason {
        /** Its {@code timeout} (the fixed lifetime set at create) passed. */
        TIMEOUT,
        /** It was idle for its {@code idle.timeout}. */
        IDLE_TIMEOUT,
        /** It was terminated ({@code SandboxTerminate}, the dashboard, {@code modal sandbox stop}). */
        TERMINATED,
        /** Its entry point ended successfully. */
        SUCCESS,
        /** Its entry point failed. */
        FAILURE,
        /** It could not start (image, resources). */
        INIT_FAILURE,
        /** Modal failed internally. */
        INTERNAL_FAILURE,
        /** Modal's memory manager evicted it (out of memory). */
        MEMORY_EVICTION,
        /** A status this client does not know. */
        UNKNOWN
    }

    private final String sandboxId;
    private final Reason reason;

    public ModalSandboxEndedException(String sandboxId, Reason reason, String message) {
        this(sandboxId, reason, message, null);
    }

    public ModalSandboxEndedException(String sandboxId, Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.sandboxId = sandboxId;
        this.reason = reason;
    }

    /** Transient as a disconnect is, but this sandbox will not come back: never for a retry. */
    @Override
    public boolean isTransient() {
        return false;
    }

    public String sandboxId() {
        return sandboxId;
    }

    public Reason reason() {
        return reason;
    }
}
