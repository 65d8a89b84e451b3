package dev.agentruntime.fake;

/** Root of the failures of fake sandboxes: what was attempted, on which sandbox, and what to check. */
public class FakeSandboxException extends RuntimeException {

    public FakeSandboxException(String message) {
        super(message);
    }

    public FakeSandboxException(String message, Throwable cause) {
        super(message, cause);
    }
}
