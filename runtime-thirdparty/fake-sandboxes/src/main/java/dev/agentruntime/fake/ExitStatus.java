package dev.agentruntime.fake;

import java.util.Optional;

/**
 * How a process in a sandbox ended.
 *
 * @param code the exit code as the engine reports it; a process killed by a signal reports {@code 128 + signal}
 * @param signal the signal that ended it, when the code says so (a process that itself exits with 137 looks the same)
 * @param timedOut killed because its {@link ExecSpec#timeout()} passed
 * @param sandboxEnded ended because its sandbox stopped, died or was removed
 */
public record ExitStatus(int code, Optional<Signal> signal, boolean timedOut, boolean sandboxEnded) {

    /** An exit with this code, the signal inferred from codes 129..159. */
    public static ExitStatus of(int code) {
        Optional<Signal> signal = code > 128 && code < 160 ? Signal.of(code - 128) : Optional.empty();
        return new ExitStatus(code, signal, false, false);
    }

    /** Whether the process exited on its own (not by a signal). */
    public boolean exited() {
        return signal.isEmpty();
    }

    @Override
    public String toString() {
        return signal.map(s -> "killed by SIG" + s).orElse("exit code " + code) + (timedOut ? " (timed out)" : "")
                + (sandboxEnded ? " (sandbox ended)" : "");
    }
}
