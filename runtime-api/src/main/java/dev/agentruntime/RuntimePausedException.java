package dev.agentruntime;

/**
 * An action was sent to a paused sandbox. Nothing was sent to it: {@link Runtime#resume()} it first. Thrown at
 * once, instead of waiting for an action timeout that would not mention the pause.
 */
public class RuntimePausedException extends AgentRuntimeException {

    public RuntimePausedException(String message) {
        super(message, false);
    }
}
