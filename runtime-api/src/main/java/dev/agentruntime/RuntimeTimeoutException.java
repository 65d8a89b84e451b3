package dev.agentruntime;

/** The sandbox did not answer within the allowed time (action timeout + 5 s, or the startup deadline). Transient. */
public class RuntimeTimeoutException extends AgentRuntimeException {

    public RuntimeTimeoutException(String message) {
        super(message, true);
    }

    public RuntimeTimeoutException(String message, Throwable cause) {
        super(message, cause, true);
    }
}
