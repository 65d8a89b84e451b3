package dev.agentruntime.cli;

import dev.agentruntime.RuntimeConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** The options every subcommand shares: which backend and how to configure the sandbox. */
final class SandboxOptions {

    /** The backend types this jar ships, as RuntimeFactory discovers them. */
    static final class Backends implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return dev.agentruntime.RuntimeFactory.availableTypes().iterator();
        }
    }

    @Option(names = {"-t", "--type"}, defaultValue = "local",
            description = "Backend type (default: ${DEFAULT-VALUE}): ${COMPLETION-CANDIDATES}.",
            completionCandidates = Backends.class)
    String type;

    @Option(names = {"-w", "--workspace"}, description = "Host directory to work in (default: a fresh temporary one).")
    Path workspace;

    @Option(names = {"-e", "--env"}, description = "Environment variable for the sandbox shell, NAME=VALUE (repeatable).")
    Map<String, String> env = new LinkedHashMap<>();

    @Option(names = {"-o", "--option"}, description = "Backend option, key=value (repeatable), e.g. image=debian:bookworm.")
    Map<String, String> options = new LinkedHashMap<>();

    @Option(names = "--session-id", description = "Session id (default: random).")
    String sessionId;

    @Option(names = "--startup-timeout", defaultValue = "120",
            description = "Seconds to wait for the sandbox to become ready (default: ${DEFAULT-VALUE}).")
    double startupTimeoutSeconds;

    @Option(names = "--no-change-timeout", defaultValue = "10",
            description = "Seconds without new output before a command returns while still running (default: ${DEFAULT-VALUE}).")
    double noChangeTimeoutSeconds;

    @Option(names = "--verbose", description = "Log sandbox lifecycle events to stderr.")
    boolean verbose;

    RuntimeConfig.Builder config() {
        if (verbose) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "info");
        }
        RuntimeConfig.Builder builder = RuntimeConfig.builder().type(type).environment(env).options(options)
                .startupTimeout(seconds(startupTimeoutSeconds)).noChangeTimeout(seconds(noChangeTimeoutSeconds));
        if (workspace != null) {
            builder.workspace(workspace);
        }
        if (sessionId != null) {
            builder.sessionId(sessionId);
        }
        return builder;
    }

    /** Seconds as a person writes them: 120, 0.5. */
    static String format(double seconds) {
        return seconds == Math.rint(seconds) ? Long.toString((long) seconds) : Double.toString(seconds);
    }

    static Duration seconds(double value) {
        return Duration.ofMillis(Math.round(value * 1000));
    }
}
