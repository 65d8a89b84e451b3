package dev.agentruntime;

/** The backend cannot do what was asked (see {@link Runtime#capabilities()} to ask first). */
public class UnsupportedCapabilityException extends AgentRuntimeException {

    public UnsupportedCapabilityException(String message) {
        super(message, false);
    }

    public UnsupportedCapabilityException(String message, Throwable cause) {
        super(message, cause, false);
    }
}
