package dev.agentruntime;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Runs one shell command in the sandbox's persistent bash session (wire type {@code run}).
 *
 * <ul>
 *   <li>{@code command}: one top-level command (chain with {@code &&} or {@code ;}). An empty command continues
 *       watching a command that is still running; {@code C-c}, {@code C-d}, {@code C-z} send control keys.</li>
 *   <li>{@code isInput}: send the text to the running process (e.g. answering a {@code read -p} prompt).</li>
 *   <li>{@code blocking}: disable the "no new output" soft timeout; the hard {@code timeout} still applies.</li>
 *   <li>{@code isStatic} / {@code cwd}: run in a throw-away shell started in {@code cwd}.</li>
 *   <li>{@code hidden}: the observation is not truncated and is flagged hidden.</li>
 * </ul>
 */
public record CmdRunAction(
        String command,
        boolean isInput,
        String thought,
        boolean blocking,
        boolean isStatic,
        String cwd,
        boolean hidden,
        Duration hardTimeout) implements Action {

    public CmdRunAction {
        Objects.requireNonNull(command, "command");
        thought = thought == null ? "" : thought;
        if (hardTimeout != null && (hardTimeout.isNegative() || hardTimeout.isZero())) {
            throw new IllegalArgumentException("timeout must be positive, was " + hardTimeout);
        }
    }

    /** A plain command with the runtime's default timeout and the soft "no new output" timeout on. */
    public static CmdRunAction of(String command) {
        return new CmdRunAction(command, false, "", false, false, null, false, null);
    }

    /** Text typed into the running process, followed by Enter (or a {@code C-x} key, sent without Enter). */
    public static CmdRunAction input(String text) {
        return new CmdRunAction(text, true, "", false, false, null, false, null);
    }

    /** Sets a hard timeout; like OpenHands' {@code execute_bash(timeout=...)} this also makes the action blocking. */
    public CmdRunAction withTimeout(Duration timeout) {
        return new CmdRunAction(command, isInput, thought, true, isStatic, cwd, hidden, timeout);
    }

    /** Sets a hard timeout while keeping the soft "no new output" timeout on. */
    public CmdRunAction withHardTimeout(Duration timeout) {
        return new CmdRunAction(command, isInput, thought, blocking, isStatic, cwd, hidden, timeout);
    }

    public CmdRunAction withBlocking(boolean value) {
        return new CmdRunAction(command, isInput, thought, value, isStatic, cwd, hidden, hardTimeout);
    }

    public CmdRunAction withHidden(boolean value) {
        return new CmdRunAction(command, isInput, thought, blocking, isStatic, cwd, value, hardTimeout);
    }

    /** Runs in a throw-away shell started in {@code directory} instead of the persistent session. */
    public CmdRunAction inStaticShell(String directory) {
        return new CmdRunAction(command, isInput, thought, blocking, true, directory, hidden, hardTimeout);
    }

    public CmdRunAction withThought(String value) {
        return new CmdRunAction(command, isInput, value, blocking, isStatic, cwd, hidden, hardTimeout);
    }

    @Override
    public String type() {
        return "run";
    }

    @Override
    public Optional<Duration> timeout() {
        return Optional.ofNullable(hardTimeout);
    }

    @Override
    public String message() {
        return "Running command: " + command;
    }
}
