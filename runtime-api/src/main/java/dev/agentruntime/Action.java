package dev.agentruntime;

import java.time.Duration;
import java.util.Optional;

/**
 * Something an agent asks the sandbox to do. Each action serializes to exactly the OpenHands wire JSON
 * ({@code {"action": "<type>", "args": {...}, "timeout": 120.0}}), so OpenHands servers understand ours and ours
 * understand theirs.
 *
 * <pre>{@code
 * Observation obs = runtime.execute(CmdRunAction.of("ls -la").withTimeout(Duration.ofSeconds(30)));
 * }</pre>
 */
public sealed interface Action
        permits CmdRunAction, IPythonRunCellAction, FileReadAction, FileWriteAction, FileEditAction, BrowseUrlAction {

    /** The wire type string, e.g. {@code "run"} or {@code "read"}. */
    String type();

    /** The hard timeout for this action; empty means "use the runtime's default action timeout". */
    Optional<Duration> timeout();

    /** The human-readable line OpenHands puts in the {@code message} field. */
    String message();
}
