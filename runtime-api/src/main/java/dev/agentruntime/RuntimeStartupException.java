package dev.agentruntime;

/** A sandbox failed to start; the message carries the last lines of its log and what to check. */
public class RuntimeStartupException extends AgentRuntimeException {

    public RuntimeStartupException(String message) {
        super(message, false);
    }

    public RuntimeStartupException(String message, Throwable cause) {
        super(message, cause, false);
    }
}
