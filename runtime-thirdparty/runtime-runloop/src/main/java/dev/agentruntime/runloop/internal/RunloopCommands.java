package dev.agentruntime.runloop.internal;

import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.thirdparty.SandboxCommands;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * {@link SandboxCommands} over Runloop's executions: {@code execute} (UUIDv7 {@code command_id}, so a retried
 * request never runs the command twice) waiting optimistically, then the long-poll until it completes; uploads
 * through {@code upload_file}.
 */
public final class RunloopCommands implements SandboxCommands {

    private final RunloopApi api;
    private final String devbox;

    public RunloopCommands(RunloopApi api, String devbox) {
        this.api = api;
        this.devbox = devbox;
    }

    @Override
    public Result run(String command, Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        Execution execution = api.execute(devbox, "bash -c " + ServerLaunch.shellQuote(command), Uuid7.next(),
                (int) Math.min(RunloopApi.EXECUTION_HOLD_SECONDS, Math.max(1, timeout.toSeconds())));
        if (!execution.completed()) {
            try {
                execution = api.awaitCompleted(devbox, execution.executionId(), deadline);
            } catch (RuntimeTimeoutException e) {
                try {
                    api.kill(devbox, execution.executionId(), true);
                } catch (RuntimeException ignored) {
                    // the timeout is the error to report
                }
                throw new RuntimeTimeoutException("Runloop devbox " + devbox + ": a command did not end within "
                        + timeout.toSeconds() + " s (execution " + execution.executionId() + ", killed)", e);
            }
        }
        return new Result(execution.exitStatus().orElse(-1), execution.stdout(), execution.stderr());
    }

    @Override
    public void upload(Path hostFile, String sandboxPath) {
        api.upload(devbox, hostFile, sandboxPath);
    }
}
