package dev.agentruntime.internal;

/** A JSON document that is not a valid OpenHands action or observation; {@link #status()} is the HTTP status to answer with. */
public final class WireFormatException extends IllegalArgumentException {

    private final int status;

    public WireFormatException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** 400 for malformed JSON or an unknown type, 422 for a missing or mistyped field. */
    public int status() {
        return status;
    }
}
