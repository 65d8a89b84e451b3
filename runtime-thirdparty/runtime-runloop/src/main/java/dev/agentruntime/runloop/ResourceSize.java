package dev.agentruntime.runloop;

/**
 * Runloop's devbox sizes ({@code launch_parameters.resource_size_request}); {@link #CUSTOM_SIZE} takes the cores,
 * memory and disk from {@link RunloopConfig#customCpuCores()}, {@link RunloopConfig#customMemoryGb()} and
 * {@link RunloopConfig#customDiskGb()}.
 */
public enum ResourceSize {
    /** 0.5 CPU, 1 GiB. */
    X_SMALL,
    /** 1 CPU, 2 GiB. */
    SMALL,
    /** 2 CPU, 4 GiB. */
    MEDIUM,
    /** 2 CPU, 8 GiB. */
    LARGE,
    /** 4 CPU, 16 GiB. */
    X_LARGE,
    /** 8 CPU, 32 GiB. */
    XX_LARGE,
    /** The custom cores, memory and disk. */
    CUSTOM_SIZE
}
