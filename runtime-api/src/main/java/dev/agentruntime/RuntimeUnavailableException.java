package dev.agentruntime;

/** The sandbox or its action server cannot be reached right now (not started yet, restarting, refused the connection). Transient. */
public class RuntimeUnavailableException extends AgentRuntimeException {

    public RuntimeUnavailableException(String message) {
        super(message, true);
    }

    public RuntimeUnavailableException(String message, Throwable cause) {
        super(message, cause, true);
    }
}
