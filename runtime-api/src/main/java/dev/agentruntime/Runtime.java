package dev.agentruntime;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * One sandbox session: a persistent shell, files, an editor and exposed ports. Get one from
 * {@link RuntimeFactory#create(RuntimeConfig)}, {@link #connect()} it, send actions, and close it.
 *
 * <pre>{@code
 * try (dev.agentruntime.Runtime sandbox = RuntimeFactory.create(RuntimeConfig.builder().type("local").build())) {
 *     sandbox.connect();
 *     CmdOutputObservation out = sandbox.run(CmdRunAction.of("echo hello"));
 *     System.out.println(out.content() + " (exit " + out.exitCode() + ")");
 * }
 * }</pre>
 *
 * The name clashes with {@code java.lang.Runtime}: import it by name, never with a wildcard.
 * Actions on one runtime run one at a time, in the order they are called; implementations are thread-safe.
 */
public interface Runtime extends AutoCloseable {

    /** The session id this sandbox belongs to. */
    String id();

    /** The current status; see {@link RuntimeConfig#statusListener()} for change events. */
    RuntimeStatus status();

    /** What this backend can do. */
    Set<Capability> capabilities();

    /** Shorthand for {@code capabilities().contains(capability)}. */
    default boolean supports(Capability capability) {
        return capabilities().contains(capability);
    }

    /**
     * Starts (or attaches to) the sandbox and waits until its action server is ready, within the configured startup
     * timeout. Calling it again on a connected runtime does nothing.
     *
     * @throws RuntimeStartupException with the sandbox's last log lines when it fails to start or dies while starting
     * @throws RuntimeTimeoutException   with the same diagnostics when it is not ready before the startup timeout
     */
    void connect();

    /**
     * Sends any action and returns the server's observation as a value (an {@link ErrorObservation} for domain
     * errors). The HTTP call waits for the action's timeout (or the configured default) plus 5 seconds.
     *
     * @throws ActionFailedException when the server refuses the action as malformed
     * @throws RuntimeException a {@link RuntimeTimeoutException}, {@link RuntimeDisconnectedException} or
     *         {@link RuntimeUnavailableException} on infrastructure failures
     */
    Observation execute(Action action);

    /**
     * Sends an action like {@link #execute(Action)} and passes a command's output to {@code listener} as it arrives;
     * returns the same observation {@link #execute(Action)} would. Backends whose server cannot stream (and actions
     * other than commands) simply return the observation without calling the listener.
     *
     * @param listener receives output chunks on the calling thread; null streams nothing
     */
    default Observation execute(Action action, OutputListener listener) {
        return execute(action);
    }

    /**
     * Sends an action without waiting for it: the future completes with its observation, or exceptionally with the
     * exception {@link #execute(Action)} would throw. Actions still run one at a time, in the order they are called.
     * Cancelling the future does not stop a running command (send {@code C-c} for that).
     */
    default CompletableFuture<Observation> executeAsync(Action action) {
        return executeAsync(action, null);
    }

    /**
     * {@link #executeAsync(Action)} with a command's output passed to {@code listener} as it arrives (on a thread of
     * the runtime's, in order).
     */
    default CompletableFuture<Observation> executeAsync(Action action, OutputListener listener) {
        java.util.Objects.requireNonNull(action, "action");
        CompletableFuture<Observation> result = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                result.complete(execute(action, listener));
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, "agent-runtime-action-" + id());
        thread.setDaemon(true);
        thread.start();
        return result;
    }

    /**
     * Runs a shell command.
     *
     * @throws ActionFailedException when the server answers with an {@link ErrorObservation} instead of command
     *                               output (e.g. several commands in one action)
     */
    default CmdOutputObservation run(CmdRunAction action) {
        Observation observation = execute(action);
        if (observation instanceof CmdOutputObservation output) {
            return output;
        }
        throw new ActionFailedException("Command '" + action.command() + "' was not run on sandbox " + id() + ": "
                + observation.content(), observation);
    }

    /**
     * Runs a shell command and passes its output to {@code listener} as it arrives (see {@link OutputListener});
     * returns the same observation as {@link #run(CmdRunAction)}.
     *
     * @throws ActionFailedException as {@link #run(CmdRunAction)} does
     */
    default CmdOutputObservation run(CmdRunAction action, OutputListener listener) {
        Observation observation = execute(action, listener);
        if (observation instanceof CmdOutputObservation output) {
            return output;
        }
        throw new ActionFailedException("Command '" + action.command() + "' was not run on sandbox " + id() + ": "
                + observation.content(), observation);
    }

    /** Shorthand for {@code run(CmdRunAction.of(command))}. */
    default CmdOutputObservation run(String command) {
        return run(CmdRunAction.of(command));
    }

    /** Reads a file: a {@link FileReadObservation}, or an {@link ErrorObservation} (not found, binary, directory). */
    default Observation read(FileReadAction action) {
        return execute(action);
    }

    /** Writes a file: a {@link FileWriteObservation}, or an {@link ErrorObservation}. */
    default Observation write(FileWriteAction action) {
        return execute(action);
    }

    /** Runs an editor command: a {@link FileEditObservation} (editor errors are {@code ERROR:} content). */
    default Observation edit(FileEditAction action) {
        return execute(action);
    }

    /**
     * Copies a host file (or, with {@code recursive}, a directory including its own name) into the sandbox directory
     * {@code sandboxDest}, which is created when missing. Streams: the file is never held in memory.
     *
     * @throws java.io.UncheckedIOException wrapping {@link java.nio.file.NoSuchFileException} when {@code hostSrc}
     *                                      does not exist (nothing is sent)
     */
    void copyTo(Path hostSrc, String sandboxDest, boolean recursive);

    /**
     * Downloads a sandbox file or directory tree as a zip into a new temporary file and returns the zip's path (the
     * caller deletes it). The zip is the protocol's {@code /download_files} answer: for a directory its entries are
     * relative to it; for a single file it holds one entry named after the file. To get one file's bytes, use
     * {@link #readBytes(String)}.
     */
    Path copyFrom(String sandboxPath);

    // --- binary files: whole files as bytes, through the upload/download endpoints (any content, not only text) ---

    /**
     * Writes {@code content} to the sandbox file {@code sandboxPath} (absolute; its directory is created when
     * missing), replacing the file if it exists. Unlike {@link FileWriteAction} the bytes need not be text.
     *
     * @throws IllegalArgumentException when the path is not absolute or names a directory ({@code /} at the end)
     */
    default void writeBytes(String sandboxPath, byte[] content) {
        BinaryFiles.write(this, sandboxPath, content);
    }

    /**
     * The bytes of the sandbox file {@code sandboxPath}.
     *
     * @throws IllegalArgumentException when the path is a directory (use {@link #copyFrom(String)})
     */
    default byte[] readBytes(String sandboxPath) {
        return BinaryFiles.read(this, sandboxPath);
    }

    /**
     * Lists a sandbox directory: directories first with a trailing {@code /}, then files, case-insensitively
     * sorted, hidden entries included; empty when the path is missing or not a directory. {@code null} lists the
     * workspace.
     */
    List<String> listFiles(String sandboxPath);

    /**
     * Whether the sandbox answers right now. Server-backed runtimes ask {@code /alive} (about half a millisecond);
     * the default runs {@code true} in the shell. Never throws: a broken sandbox is simply not healthy.
     */
    default boolean isHealthy() {
        try {
            return status() == RuntimeStatus.READY
                    && run(CmdRunAction.of("true").withHardTimeout(java.time.Duration.ofSeconds(5))).exitCode() == 0;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** URLs of application ports reachable from the host, mapped to the port inside the sandbox. */
    Map<String, Integer> webHosts();

    /** Freezes the sandbox, keeping its processes where the backend can. */
    default void pause() {
        throw new UnsupportedCapabilityException("Runtime " + id() + " cannot pause: capabilities are "
                + capabilities() + " (no " + Capability.PAUSE_RESUME + ")");
    }

    /** Thaws a paused sandbox and waits until it is ready again. */
    default void resume() {
        throw new UnsupportedCapabilityException("Runtime " + id() + " cannot resume: capabilities are "
                + capabilities() + " (no " + Capability.PAUSE_RESUME + ")");
    }

    /** Releases everything this runtime created. Idempotent, thread-safe, never throws. */
    @Override
    void close();
}
