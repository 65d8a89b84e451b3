package dev.agentruntime;

/** A backend's own infrastructure (Docker daemon, cluster API, vendor API) refused a request. */
public class BackendException extends AgentRuntimeException {

    public BackendException(String message) {
        super(message, false);
    }

    public BackendException(String message, Throwable cause) {
        super(message, cause, false);
    }
}
