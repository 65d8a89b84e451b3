package dev.agentruntime;

/**
 * What the sandbox answered. Observations serialize to exactly the OpenHands wire JSON
 * ({@code {"observation": "<type>", "content": "...", "extras": {...}, "message": "..."}}).
 * Domain outcomes are values: a failed command is a {@link CmdOutputObservation} with a non-zero
 * {@link CmdOutputObservation#exitCode()}, a missing file is an {@link ErrorObservation}.
 */
public sealed interface Observation
        permits CmdOutputObservation, IPythonRunCellObservation, FileReadObservation, FileWriteObservation,
        FileEditObservation, ErrorObservation, NullObservation {

    /** The wire type string, e.g. {@code "run"} or {@code "error"}. */
    String type();

    /** The main text of the observation. */
    String content();

    /** The human-readable line OpenHands puts in the {@code message} field. */
    String message();
}
