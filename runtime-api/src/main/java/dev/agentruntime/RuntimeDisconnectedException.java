package dev.agentruntime;

/** The connection to a running sandbox broke during a call, or the sandbox went away. Transient: the action may or may not have run. */
public class RuntimeDisconnectedException extends AgentRuntimeException {

    public RuntimeDisconnectedException(String message) {
        super(message, true);
    }

    public RuntimeDisconnectedException(String message, Throwable cause) {
        super(message, cause, true);
    }
}
