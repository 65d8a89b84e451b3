package dev.agentruntime;

/** Where a sandbox is in its life; reported to {@link StatusListener}s as it changes. Mirrors OpenHands' statuses. */
public enum RuntimeStatus {
    /** Created, not connected yet. */
    STOPPED,
    /** Preparing an image or bundle (e.g. first use of a base image). */
    BUILDING_RUNTIME,
    /** Starting the sandbox and its action server. */
    STARTING_RUNTIME,
    /** The sandbox process or container runs; waiting for the server to answer. */
    RUNTIME_STARTED,
    /** Ready for actions. */
    READY,
    /** Paused: processes frozen or the sandbox stopped, resumable. */
    PAUSED,
    /** Startup or an action failed. */
    ERROR,
    /** The sandbox went away while in use. */
    ERROR_RUNTIME_DISCONNECTED,
    /** Closed by its owner. */
    CLOSED
}
