package dev.agentruntime;

/**
 * A backend refused a request because of the sandbox's current state (HTTP 409): it already exists, is being
 * paused or removed, or is in a state the call does not apply to. The message names the sandbox and its state.
 */
public class BackendConflictException extends BackendException {

    public BackendConflictException(String message) {
        super(message);
    }

    public BackendConflictException(String message, Throwable cause) {
        super(message, cause);
    }
}
