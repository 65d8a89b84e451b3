package dev.agentruntime;

/**
 * A backend refused our credentials (HTTP 401/403 from a control plane, a rejected token): trying again will not
 * help until the API key, token or permissions are fixed. The message names the call and what to check.
 */
public class BackendAuthenticationException extends BackendException {

    public BackendAuthenticationException(String message) {
        super(message);
    }

    public BackendAuthenticationException(String message, Throwable cause) {
        super(message, cause);
    }
}
