package dev.agentruntime.fake;

/** An operation the sandbox's current state does not allow (exec on a paused sandbox, resume of a running one). */
public final class SandboxStateException extends FakeSandboxException {

    private final transient SandboxState state;

    public SandboxStateException(String sandboxId, String attempted, SandboxState state) {
        super("Cannot " + attempted + " sandbox " + sandboxId + ": it is " + state);
        this.state = state;
    }

    /** The state the sandbox was in. */
    public SandboxState state() {
        return state;
    }
}
