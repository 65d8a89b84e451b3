package dev.agentruntime.runloop;

/** What Runloop does with a devbox idle for {@link RunloopConfig#idleTime()} ({@code after_idle.on_idle}). */
public enum IdleAction {
    /** Shut it down (everything is gone). */
    SHUTDOWN,
    /** Suspend it: the disk is kept, processes end; attaching resumes it and starts the server again. */
    SUSPEND
}
