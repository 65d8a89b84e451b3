package dev.agentruntime.docker;

/** Whether a missing base image may be pulled from its registry. */
public enum PullPolicy {
    /** Never contact a registry: the image must already be on the daemon (built, loaded or imported). */
    NEVER,
    /** Pull only when the daemon does not have the image. The default. */
    IF_MISSING;

    static PullPolicy parse(String value) {
        return switch (value.trim().toLowerCase(java.util.Locale.ROOT).replace('_', '-')) {
            case "never" -> NEVER;
            case "if-missing", "missing" -> IF_MISSING;
            default -> throw new dev.agentruntime.InvalidConfigException("pull.policy must be one of never, if-missing;"
                    + " was '" + value + "'");
        };
    }
}
