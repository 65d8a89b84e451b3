package dev.agentruntime;

/** The sandbox asked for (e.g. attaching to a session id) does not exist. */
public class RuntimeNotFoundException extends AgentRuntimeException {

    public RuntimeNotFoundException(String message) {
        super(message, false);
    }

    public RuntimeNotFoundException(String message, Throwable cause) {
        super(message, cause, false);
    }
}
