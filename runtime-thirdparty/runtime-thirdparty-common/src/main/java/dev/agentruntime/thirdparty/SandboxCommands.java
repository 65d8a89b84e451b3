package dev.agentruntime.thirdparty;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The two things every hosted sandbox lets a client do, and all {@link ServerBootstrap} needs to put our action
 * server into one: run a shell command to its end, and upload a file. Each vendor backend implements it over its own
 * API (E2B's envd process service and files API, Daytona's toolbox, Runloop's executions, Modal's command router).
 */
public interface SandboxCommands {

    /**
     * Runs {@code command} with {@code bash -c} in the sandbox, as its default user, and waits for it to end.
     *
     * @throws dev.agentruntime.RuntimeTimeoutException when it does not end within {@code timeout}
     * @throws dev.agentruntime.AgentRuntimeException  when the vendor refuses or fails the call
     */
    Result run(String command, Duration timeout);

    /** Uploads {@code hostFile} to the absolute sandbox path {@code sandboxPath}, streaming, creating directories. */
    void upload(Path hostFile, String sandboxPath);

    /**
     * A finished command.
     *
     * @param exitCode the exit code (0 for success)
     * @param stdout   its standard output (vendors bound it; keep commands quiet)
     * @param stderr   its standard error, or empty where the vendor merges the two into stdout
     */
    record Result(int exitCode, String stdout, String stderr) {

        public boolean ok() {
            return exitCode == 0;
        }

        /** stdout and stderr, for messages. */
        public String output() {
            String out = stdout.strip();
            String err = stderr.strip();
            return out.isEmpty() ? err : err.isEmpty() ? out : out + "\n" + err;
        }
    }
}
