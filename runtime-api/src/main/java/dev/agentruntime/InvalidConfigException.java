package dev.agentruntime;

/** A configuration value is missing, malformed or unknown; the message names the key and the valid choices. */
public class InvalidConfigException extends AgentRuntimeException {

    public InvalidConfigException(String message) {
        super(message, false);
    }

    public InvalidConfigException(String message, Throwable cause) {
        super(message, cause, false);
    }
}
