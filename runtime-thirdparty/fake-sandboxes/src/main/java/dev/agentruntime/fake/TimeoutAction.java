package dev.agentruntime.fake;

/** What the host does with a sandbox whose hard timeout passes. */
public enum TimeoutAction {
    /** Remove it (E2B's default, Modal's and Runloop's lifetimes). */
    KILL,
    /** Freeze it, keeping processes and memory (E2B's {@code autoPause}). */
    PAUSE
}
