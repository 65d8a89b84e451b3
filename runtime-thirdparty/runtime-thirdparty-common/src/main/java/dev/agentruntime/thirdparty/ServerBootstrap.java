package dev.agentruntime.thirdparty;

import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.spi.ServerBundle;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.StartupLog;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts our action server into a vendor sandbox and starts it, over {@link SandboxCommands}:
 * <ol>
 *   <li>{@link #install}: when the sandbox already has this very server (an image or template baked from
 *       {@link ServerBundle#dockerfileRecipe()}), nothing is sent; otherwise the {@link ServerBundle} (a jlinked Java
 *       runtime and the server jar, ~30 MB) is uploaded, its SHA-256 checked in the sandbox, and unpacked;</li>
 *   <li>{@link #start}: the server starts in the background, detached from the vendor's exec call ({@code setsid
 *       nohup}), its output in a log file in the sandbox and its exit code in another when it ends;</li>
 *   <li>while the backend waits for {@code /alive} through the vendor's port URL, {@link #exited()} tells whether the
 *       server died (cheaply: one file test), and {@link #feedLogTail} puts the log's last lines into the startup log
 *       so errors carry them.</li>
 * </ol>
 *
 * <pre>{@code
 * ServerBootstrap bootstrap = new ServerBootstrap("E2B", sandboxId, commands, progress);
 * ServerBootstrap.Installed server = bootstrap.install(ServerBundle.prepare(progress), ServerBundle.DEFAULT_INSTALL_DIR);
 * bootstrap.start(ServerLaunch.forSession(config).java(server.java()).jar(server.jar()).port(49999).build());
 * }</pre>
 */
public final class ServerBootstrap {

    private static final Logger log = LoggerFactory.getLogger(ServerBootstrap.class);
    /** Where the bootstrap keeps the upload, the server's log and its exit code, unless told otherwise. */
    public static final String DEFAULT_STATE_DIR = "/tmp/agent-runtime";
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration UNPACK_TIMEOUT = Duration.ofMinutes(3);

    private final String vendor;
    private final String sandboxId;
    private final SandboxCommands commands;
    private final Consumer<String> progress;
    private final String stateDir;

    /**
     * @param vendor    the vendor's name for messages ({@code "E2B"})
     * @param sandboxId the vendor's sandbox id, for messages
     * @param progress  receives a line per step (e.g. a status event)
     */
    public ServerBootstrap(String vendor, String sandboxId, SandboxCommands commands, Consumer<String> progress) {
        this(vendor, sandboxId, commands, progress, DEFAULT_STATE_DIR);
    }

    /** Like the other constructor, with the directory for the upload, log and exit files. */
    public ServerBootstrap(String vendor, String sandboxId, SandboxCommands commands, Consumer<String> progress,
                           String stateDir) {
        this.vendor = Objects.requireNonNull(vendor, "vendor");
        this.sandboxId = Objects.requireNonNull(sandboxId, "sandboxId");
        this.commands = Objects.requireNonNull(commands, "commands");
        this.progress = Objects.requireNonNull(progress, "progress");
        this.stateDir = Objects.requireNonNull(stateDir, "stateDir");
    }

    /**
     * Where the server is in the sandbox, and what installing it cost.
     *
     * @param uploadedBytes 0 when the sandbox already had this server
     */
    public record Installed(String java, String jar, long uploadedBytes, Duration took) {
    }

    /** The server's log file in the sandbox. */
    public String logFile() {
        return stateDir + "/server.log";
    }

    /** The file the server's exit code is written to when it ends. */
    public String exitFile() {
        return stateDir + "/server.exit";
    }

    /**
     * Makes sure {@code bundle} is unpacked in {@code installDir}: nothing to do when it already is (a baked image, a
     * resumed sandbox), else upload, digest check, unpack.
     *
     * @throws RuntimeStartupException when the sandbox cannot run the bundle (no bash/tar/sha256sum, a digest
     *                                 mismatch after upload, no room)
     */
    public Installed install(ServerBundle bundle, String installDir) {
        long started = System.nanoTime();
        SandboxCommands.Result present = commands.run(bundle.installedCheck(installDir), COMMAND_TIMEOUT);
        if (present.ok()) {
            log.info("{} sandbox {}: the action server {} is already installed in {}", vendor, sandboxId,
                    bundle.serverVersion(), installDir);
            return new Installed(bundle.java(installDir), bundle.jar(installDir), 0, elapsed(started));
        }
        String upload = stateDir + "/server-bundle-" + bundle.sha256().substring(0, 16) + ".tar.gz";
        run("mkdir -p " + ServerLaunch.shellQuote(stateDir), COMMAND_TIMEOUT, "create " + stateDir);
        progress.accept("Uploading the action server bundle (" + bundle.size() / (1024 * 1024) + " MiB) to "
                + vendor + " sandbox " + sandboxId);
        commands.upload(bundle.archive(), upload);
        progress.accept("Unpacking the action server bundle in " + installDir);
        SandboxCommands.Result unpacked = commands.run(bundle.installScript(upload, installDir), UNPACK_TIMEOUT);
        if (unpacked.exitCode() == ServerBundle.DIGEST_MISMATCH_EXIT) {
            throw new RuntimeStartupException(vendor + " sandbox " + sandboxId + ": the uploaded server bundle arrived"
                    + " damaged (" + unpacked.output() + "). Retry; if it persists, check the sandbox's free space.");
        }
        if (!unpacked.ok()) {
            throw new RuntimeStartupException(vendor + " sandbox " + sandboxId + ": unpacking the server bundle into "
                    + installDir + " failed with exit code " + unpacked.exitCode() + ": " + unpacked.output()
                    + ". The sandbox needs bash, tar, gzip and sha256sum, and write access to " + installDir + ".");
        }
        Duration took = elapsed(started);
        log.info("{} sandbox {}: installed the action server {} ({} bytes) in {} ms", vendor, sandboxId,
                bundle.serverVersion(), bundle.size(), took.toMillis());
        return new Installed(bundle.java(installDir), bundle.jar(installDir), bundle.size(), took);
    }

    /**
     * Starts the server in the background and returns at once: detached from this exec call, output into
     * {@link #logFile()}, exit code into {@link #exitFile()} when it ends.
     */
    public void start(ServerLaunch launch) {
        String log = ServerLaunch.shellQuote(logFile());
        String exit = ServerLaunch.shellQuote(exitFile());
        // only the subshell goes to the background, with every stream redirected: the exec call's own streams must
        // close when this command ends, or the vendor (and a pipe reader) would wait for the server to end
        String script = "mkdir -p " + ServerLaunch.shellQuote(stateDir) + " && rm -f " + exit + " && { "
                + "( setsid nohup bash -c " + ServerLaunch.shellQuote(launch.shellCommand()) + " > " + log
                + " 2>&1 < /dev/null; echo $? > " + exit + " ) > /dev/null 2>&1 < /dev/null & }";
        run(script, COMMAND_TIMEOUT, "start the action server");
        progress.accept("Started the action server in " + vendor + " sandbox " + sandboxId);
    }

    /** Whether the server has ended (its exit file exists). */
    public boolean exited() {
        return exitCode().isPresent();
    }

    /** The server's exit code once it has ended. */
    public Optional<Integer> exitCode() {
        SandboxCommands.Result result = commands.run("cat " + ServerLaunch.shellQuote(exitFile()) + " 2>/dev/null",
                COMMAND_TIMEOUT);
        if (!result.ok()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Integer.parseInt(result.stdout().strip()));
        } catch (NumberFormatException e) {
            return Optional.empty(); // written but not flushed yet
        }
    }

    /** The last lines of the server's log, oldest first; empty when it cannot be read. */
    public List<String> logTail() {
        try {
            SandboxCommands.Result tail = commands.run("tail -n " + StartupLog.KEPT_LINES + " "
                    + ServerLaunch.shellQuote(logFile()) + " 2>/dev/null", COMMAND_TIMEOUT);
            return tail.stdout().isEmpty() ? List.of() : tail.stdout().lines().toList();
        } catch (RuntimeException e) {
            log.debug("{} sandbox {}: cannot read the server log: {}", vendor, sandboxId, e.toString());
            return List.of();
        }
    }

    /** Puts {@link #logTail()} into {@code startupLog} (once: only when it is still empty). */
    public void feedLogTail(StartupLog startupLog) {
        if (startupLog.lastLines().isEmpty()) {
            logTail().forEach(startupLog::line);
        }
    }

    /** A sentence for error messages: whether and how the server ended. */
    public String describeExit() {
        return exitCode().map(code -> "The action server exited with code " + code + ".").orElse("");
    }

    private void run(String command, Duration timeout, String what) {
        SandboxCommands.Result result = commands.run(command, timeout);
        if (!result.ok()) {
            throw new BackendException(vendor + " sandbox " + sandboxId + ": cannot " + what + " (exit code "
                    + result.exitCode() + "): " + result.output());
        }
    }

    private static Duration elapsed(long startedNanos) {
        return Duration.ofNanos(System.nanoTime() - startedNanos);
    }

    /** A deadline-aware throttle for {@link #exited()}: vendor calls cost tens of milliseconds each. */
    public static final class ExitWatch {
        private final ServerBootstrap bootstrap;
        private final Duration every;
        private Instant next = Instant.MIN;
        private boolean exited;

        public ExitWatch(ServerBootstrap bootstrap, Duration every) {
            this.bootstrap = bootstrap;
            this.every = every;
        }

        /** False once the server has ended; asks the sandbox at most once per {@code every}. */
        public synchronized boolean stillRunning() {
            if (exited) {
                return false;
            }
            Instant now = Instant.now();
            if (now.isBefore(next)) {
                return true;
            }
            next = now.plus(every);
            try {
                exited = bootstrap.exited();
            } catch (RuntimeException e) {
                return true; // a vendor hiccup: keep waiting until the deadline
            }
            return !exited;
        }
    }
}
