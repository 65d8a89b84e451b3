package dev.agentruntime;

/**
 * The root of every infrastructure failure this library throws. {@link #isTransient()} tells whether trying again
 * may succeed (a sandbox still starting, a dropped connection) or not (a bad configuration, a missing image).
 * Messages say what was attempted, on which sandbox, and what to check next.
 */
public class AgentRuntimeException extends RuntimeException {

    private final boolean transientFailure;

    public AgentRuntimeException(String message, boolean transientFailure) {
        this(message, null, transientFailure);
    }

    public AgentRuntimeException(String message, Throwable cause, boolean transientFailure) {
        super(message, cause);
        this.transientFailure = transientFailure;
    }

    /** True when the same call may succeed if tried again later. */
    public boolean isTransient() {
        return transientFailure;
    }
}
