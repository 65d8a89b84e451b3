package dev.agentruntime.docker;

/** What {@code pause()} does to a Docker sandbox. */
public enum PauseMode {
    /**
     * {@code docker pause}: the cgroup freezer stops every process where it is; {@code resume()} thaws them, so a
     * background job, the shell's working directory and its variables all survive. Memory stays allocated. The
     * default.
     */
    FREEZE,
    /**
     * {@code docker stop} / {@code docker start}: processes end and memory is released; files survive, and so does
     * a restart of the Docker daemon. {@code resume()} starts the server again with a fresh shell. The container
     * keeps fixed host ports (allocated with cross-process locks) so the sandbox's URLs stay valid.
     */
    STOP;

    static PauseMode parse(String value) {
        return switch (value.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "freeze", "pause" -> FREEZE;
            case "stop" -> STOP;
            default -> throw new dev.agentruntime.InvalidConfigException("pause.mode must be one of freeze, stop;"
                    + " was '" + value + "'");
        };
    }
}
