package dev.agentruntime.server;

import java.time.Duration;
import java.util.Map;

/**
 * Every limit the server enforces, with its default and the environment variable that changes it (docs/PROTOCOL.md,
 * "Limits", lists them with the answer exceeding each gives). Sizes that scale with memory default to a fraction of
 * the JVM's maximum heap, so a larger {@code -Xmx} buys larger requests without a second setting; the figures below
 * are for the default {@code -Xmx64m}.
 *
 * @param maxRequestBytes     JSON request body ({@code /execute_action}, {@code /list_files}, ...): heap/16, 4 MiB
 * @param maxCommandBytes     a {@code run} command, UTF-8: 1 MiB
 * @param maxInputBytes       an {@code is_input} text, UTF-8: 16 KiB (each line at most 4,095 bytes: the terminal's
 *                            canonical line limit)
 * @param maxFileBytes        a file read whole, a {@code write}'s content, a file the editor opens: heap/16, 4 MiB
 * @param maxActionTime       the longest any action holds the action lock; a command still running then is
 *                            answered as timed out and keeps running, another action is abandoned with an error
 * @param defaultFileActionTime the deadline of a file action that carries no {@code timeout}: 120 s
 * @param maxUploadEntries    entries in an uploaded zip: 100,000
 * @param maxUploadExpandedBytes what an uploaded zip may expand to: 16 GiB
 * @param maxUploadRatio      expanded size / zip size, checked once the expanded size passes 64 MiB: 100
 * @param maxConnections      open connections: 4,096 (the oldest without the key is closed at the cap)
 * @param headTimeout         a request head must arrive whole within this: 10 s
 */
public record ServerLimits(long maxRequestBytes, int maxCommandBytes, int maxInputBytes, long maxFileBytes,
                           Duration maxActionTime, Duration defaultFileActionTime, int maxUploadEntries,
                           long maxUploadExpandedBytes, int maxUploadRatio, int maxConnections, Duration headTimeout) {

    /** The terminal delivers at most this many bytes of one line to a program reading in canonical mode. */
    public static final int MAX_INPUT_LINE_BYTES = 4095;
    /** The ratio limit applies once an upload expanded beyond this many bytes. */
    public static final long RATIO_GRACE_BYTES = 64L * 1024 * 1024;

    public static ServerLimits defaults() {
        return fromEnvironment(Map.of());
    }

    static ServerLimits fromEnvironment(Map<String, String> env) {
        long heap = java.lang.Runtime.getRuntime().maxMemory();
        long sixteenth = Math.max(1024 * 1024, heap / 16);
        return new ServerLimits(
                bytes(env, "AGENT_RUNTIME_MAX_REQUEST_BYTES", sixteenth),
                (int) Math.min(Integer.MAX_VALUE, bytes(env, "AGENT_RUNTIME_MAX_COMMAND_BYTES", 1024 * 1024)),
                (int) Math.min(Integer.MAX_VALUE, bytes(env, "AGENT_RUNTIME_MAX_INPUT_BYTES", 16 * 1024)),
                bytes(env, "AGENT_RUNTIME_MAX_FILE_BYTES", sixteenth),
                Duration.ofMillis(Math.round(number(env, "AGENT_RUNTIME_MAX_ACTION_SECONDS", 3600) * 1000)),
                Duration.ofMillis(Math.round(number(env, "AGENT_RUNTIME_FILE_ACTION_TIMEOUT_SECONDS", 120) * 1000)),
                (int) Math.min(Integer.MAX_VALUE, bytes(env, "AGENT_RUNTIME_MAX_UPLOAD_ENTRIES", 100_000)),
                bytes(env, "AGENT_RUNTIME_MAX_UPLOAD_EXPANDED_BYTES", 16L * 1024 * 1024 * 1024),
                (int) Math.min(Integer.MAX_VALUE, bytes(env, "AGENT_RUNTIME_MAX_UPLOAD_RATIO", 100)),
                (int) Math.min(Integer.MAX_VALUE, bytes(env, "AGENT_RUNTIME_MAX_CONNECTIONS", 4096)),
                Duration.ofMillis(Math.round(number(env, "AGENT_RUNTIME_HEAD_TIMEOUT_SECONDS", 10) * 1000)));
    }

    private static long bytes(Map<String, String> env, String name, long fallback) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            long parsed = Long.parseLong(value.strip());
            if (parsed < 1) {
                throw new NumberFormatException();
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a positive integer, was '" + value + "'");
        }
    }

    private static double number(Map<String, String> env, String name, double fallback) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            double parsed = Double.parseDouble(value.strip());
            if (!(parsed >= 0.001) || parsed > 1e7) {
                throw new NumberFormatException();
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a number of seconds between 0.001 and 1e7, was '"
                    + value + "'");
        }
    }
}
