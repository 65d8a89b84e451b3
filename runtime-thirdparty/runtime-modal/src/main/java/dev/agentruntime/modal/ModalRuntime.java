package dev.agentruntime.modal;

import dev.agentruntime.Action;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.Capability;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.Observation;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.Secret;
import dev.agentruntime.modal.internal.CommandRouter;
import dev.agentruntime.modal.internal.ModalApi;
import dev.agentruntime.modal.internal.SandboxEnd;
import dev.agentruntime.modal.internal.SandboxSpecs;
import dev.agentruntime.spi.ActionServerRuntime;
import dev.agentruntime.spi.ServerBundle;
import dev.agentruntime.spi.ServerEndpoint;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.SessionLabels;
import dev.agentruntime.spi.StartupLog;
import dev.agentruntime.thirdparty.ServerBootstrap;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Modal sandbox with our action server inside, reached through the sandbox's encrypted tunnel. Usually made by
 * {@link dev.agentruntime.RuntimeFactory} for {@code type("modal")}:
 *
 * <pre>{@code
 * RuntimeConfig config = RuntimeConfig.builder().type("modal")
 *         .option("token.id", System.getenv("MODAL_TOKEN_ID")).option("token.secret", System.getenv("MODAL_TOKEN_SECRET"))
 *         .option("image", "python:3.12-slim").option("timeout", "2h")
 *         .build();
 * try (dev.agentruntime.Runtime sandbox = RuntimeFactory.connect(config)) {
 *     System.out.println(sandbox.run("uname -a").content());
 * }
 * }</pre>
 *
 * <h2>Lifecycle</h2>
 * {@link #connect()}: {@code AppGetOrCreate}; the image ({@code ImageGetOrCreate}, build log followed with
 * {@code ImageJoinStreaming} and reported as {@code BUILDING_RUNTIME} events; reused by Modal when the recipe is
 * unchanged); the session's environment as an ephemeral secret; {@code SandboxCreate} with resources, the fixed
 * lifetime ({@code timeout}), the idle timeout, the working directory, an encrypted tunnel for our server's port (and
 * the configured application ports) and the session's labels as tags; the task id; then, through the Task Command
 * Router, our server: installed from the uploaded bundle unless the image has it ({@link ServerBootstrap}), started
 * detached. With {@link RuntimeConfig#attachToExisting()} the running sandbox tagged with the session id is found
 * instead ({@code SandboxList}) and its server reused. {@link #close()} terminates the sandbox, or with keep-alive
 * leaves it running until its own timeout ends it.
 *
 * <h2>No pause</h2>
 * Modal cannot pause or extend a sandbox; {@link Capability#PAUSE_RESUME} is not declared. When the lifetime or the
 * idle timeout ends the sandbox, actions fail with {@link ModalSandboxEndedException} naming the reason.
 */
public final class ModalRuntime extends ActionServerRuntime {

    private static final Logger log = LoggerFactory.getLogger(ModalRuntime.class);
    static final String VENDOR = "Modal";

    /**
     * What this runtime has of its sandbox, replaced as a whole (under the base class's lifecycle lock).
     *
     * @param createdHere created by this runtime's start (a failed start or a close removes it)
     */
    private record Current(String sandboxId, boolean createdHere, Optional<CommandRouter> router,
                           Optional<ServerBootstrap> bootstrap, Optional<ServerBootstrap.ExitWatch> watch,
                           Map<String, Integer> webHosts) {
        static Current created(String sandboxId, boolean createdHere) {
            return new Current(sandboxId, createdHere, Optional.empty(), Optional.empty(), Optional.empty(), Map.of());
        }
    }

    private final ModalConfig modal;
    private final ModalApi api;
    private volatile Current current;
    private static final Duration END_CHECK_EVERY = Duration.ofSeconds(2);
    /** When {@link #sandboxRunning()} next asks Modal whether the sandbox ended; only the starting thread uses it. */
    private Instant nextEndCheck = Instant.MIN;

    public ModalRuntime(RuntimeConfig config) {
        this(config, ModalConfig.from(config));
    }

    ModalRuntime(RuntimeConfig config, ModalConfig modal) {
        super(config);
        this.modal = modal;
        this.api = new ModalApi(modal);
    }

    /** The Modal settings in use. */
    public ModalConfig modalConfig() {
        return modal;
    }

    /** Modal's id of the sandbox ({@code sb-…}), once created or found. */
    public Optional<String> sandboxId() {
        return Optional.ofNullable(current).map(Current::sandboxId);
    }

    @Override
    public Set<Capability> capabilities() {
        EnumSet<Capability> caps = serverCapabilities();
        caps.add(Capability.ATTACH);
        caps.add(Capability.ISOLATION);
        if (!modal.ports().isEmpty()) {
            caps.add(Capability.WEB_HOSTS);
        }
        return Collections.unmodifiableSet(caps);
    }

    /** The application ports' tunnel URLs ({@code https://…modal.host}) → port inside the sandbox. */
    @Override
    public Map<String, Integer> webHosts() {
        Current known = current;
        return known == null ? Map.of() : known.webHosts();
    }

    // ------------------------------------------------------------------------------------------------ start ---

    @Override
    protected ServerEndpoint startSandbox(Instant deadline) {
        // filled with the server log's tail when a start fails (ServerBootstrap.feedLogTail)
        useStartupLog(new StartupLog(null));
        String sid = config.sessionId();
        String appId = api.appGetOrCreate(deadline);
        if (config.attachToExisting()) {
            return attach(appId, deadline);
        }
        setStatus(RuntimeStatus.BUILDING_RUNTIME, "Preparing the Modal image " + modal.imageRecipe().get(0));
        String imageId = api.image(appId, line -> setStatus(RuntimeStatus.BUILDING_RUNTIME, "Image build: " + line),
                deadline);
        // local work first (a jlink unless cached): the sandbox's idle timeout must not run while it happens
        ServerBundle bundle = ServerBundle.prepare(this::progress);
        List<String> secretIds = config.environment().isEmpty() ? List.of()
                : List.of(api.ephemeralSecret(config.environment(), deadline));
        setStatus(RuntimeStatus.STARTING_RUNTIME, "Creating a Modal sandbox for session " + sid);
        Map<String, String> tags = SessionLabels.forSession(config).asLabels();
        String sandboxId = api.createSandbox(appId, SandboxSpecs.definition(modal, imageId, secretIds), tags,
                deadline);
        current = Current.created(sandboxId, true);
        log.info("session {}: created Modal sandbox {} (image {}, lifetime {} s)", sid, sandboxId, imageId,
                modal.timeout().toSeconds());
        Reached reached = reach(sandboxId, deadline);
        ServerBootstrap bootstrap = new ServerBootstrap(VENDOR, sandboxId, reached.router(), this::progress);
        ServerBootstrap.Installed server = bootstrap.install(bundle, ServerBundle.DEFAULT_INSTALL_DIR);
        ServerLaunch launch = ServerLaunch.forSession(config).java(server.java()).jar(server.jar())
                .port(modal.serverPort()).bindAddress("0.0.0.0")
                .workingDir(modal.workdir().orElse(config.sandboxWorkspace()))
                // the session's variables are the sandbox's own (the ephemeral secret): not on a command line
                .shellEnvironment(Map.of())
                .build();
        bootstrap.start(launch);
        current = withServer(sandboxId, true, reached, bootstrap);
        return ServerEndpoint.of(reached.serverUrl(), launch.sessionApiKey());
    }

    private ServerEndpoint attach(String appId, Instant deadline) {
        String sid = config.sessionId();
        Secret key = config.sessionApiKey().orElseThrow(() -> new InvalidConfigException("Attaching to the Modal"
                + " sandbox of session " + sid + " needs that session's API key (RuntimeConfig.sessionApiKey)"));
        var found = api.list(appId, SessionLabels.sessionSelector(sid));
        if (found.isEmpty()) {
            throw new RuntimeNotFoundException("No running Modal sandbox is tagged with session " + sid + " in app "
                    + modal.appName() + modal.environment().map(e -> " (environment " + e + ")").orElse("")
                    + "; it may have reached its timeout. Connect without attachToExisting to create one.");
        }
        String sandboxId = found.get(0).getId();
        current = Current.created(sandboxId, false);
        Reached reached = reach(sandboxId, deadline);
        ServerBootstrap bootstrap = new ServerBootstrap(VENDOR, sandboxId, reached.router(), this::progress);
        current = withServer(sandboxId, false, reached, bootstrap);
        log.info("session {}: attached to Modal sandbox {}", sid, sandboxId);
        return ServerEndpoint.of(reached.serverUrl(), key);
    }

    private record Reached(CommandRouter router, java.net.URI serverUrl, Map<String, Integer> webHosts) {
    }

    /** Task id, command router, tunnels. */
    private Reached reach(String sandboxId, Instant deadline) {
        String taskId = api.taskId(sandboxId, deadline);
        CommandRouter router = new CommandRouter(api, sandboxId, taskId, deadline);
        try {
            Map<Integer, java.net.URI> tunnels = SandboxSpecs.tunnelUrls(api.tunnels(sandboxId, deadline),
                    modal.plaintext());
            java.net.URI server = tunnels.get(modal.serverPort());
            if (server == null) {
                throw new dev.agentruntime.RuntimeStartupException("Modal sandbox " + sandboxId + " has no tunnel for"
                        + " port " + modal.serverPort() + " (tunnels: " + tunnels.keySet() + ")");
            }
            Map<String, Integer> web = new LinkedHashMap<>();
            for (int port : modal.ports()) {
                java.net.URI url = tunnels.get(port);
                if (url != null) {
                    web.put(url.toString(), port);
                }
            }
            return new Reached(router, server, Map.copyOf(web));
        } catch (RuntimeException e) {
            router.close();
            throw e;
        }
    }

    private static Current withServer(String sandboxId, boolean createdHere, Reached reached,
                                      ServerBootstrap bootstrap) {
        return new Current(sandboxId, createdHere, Optional.of(reached.router()), Optional.of(bootstrap),
                Optional.of(new ServerBootstrap.ExitWatch(bootstrap, Duration.ofSeconds(1))), reached.webHosts());
    }

    private void progress(String line) {
        setStatus(RuntimeStatus.STARTING_RUNTIME, line);
    }

    /** While waiting for readiness: false once the server exited or Modal ended the sandbox (asked every 2 s). */
    @Override
    protected boolean sandboxRunning() {
        Current known = current;
        if (known == null) {
            return true;
        }
        Instant now = Instant.now();
        if (now.isAfter(nextEndCheck)) {
            nextEndCheck = now.plus(END_CHECK_EVERY);
            if (end(known.sandboxId()).isPresent()) {
                return false;
            }
        }
        return known.watch().map(ServerBootstrap.ExitWatch::stillRunning).orElse(true);
    }

    @Override
    protected String failureContext() {
        Current known = current;
        if (known == null) {
            return "";
        }
        startupLog().ifPresent(log -> known.bootstrap().ifPresent(b -> b.feedLogTail(log)));
        String ended = end(known.sandboxId()).map(e -> "Modal sandbox " + known.sandboxId() + " has ended: "
                + e.describe() + ".").orElse("");
        String exit = ended.isEmpty() ? known.bootstrap().map(ServerBootstrap::describeExit).orElse("") : "";
        return (ended + " " + exit).strip();
    }

    private Optional<SandboxEnd> end(String sandboxId) {
        try {
            return api.poll(sandboxId, Duration.ZERO);
        } catch (AgentRuntimeException e) {
            log.debug("Modal sandbox {}: cannot ask for its state: {}", sandboxId, e.getMessage());
            return Optional.empty();
        }
    }

    /** Beats at a third of the idle timeout: a request through the tunnel is activity for Modal. */
    @Override
    protected Duration heartbeatInterval() {
        return modal.idleTimeout().map(idle -> idle.dividedBy(3)).orElse(Duration.ZERO);
    }

    /**
     * As the base class, but a failure on a sandbox Modal has ended (its lifetime, its idle timeout, a terminate) is
     * reported as {@link ModalSandboxEndedException} with the reason.
     */
    @Override
    public Observation execute(Action action) {
        try {
            return super.execute(action);
        } catch (ModalSandboxEndedException e) {
            throw e;
        } catch (AgentRuntimeException e) {
            Current known = current;
            Optional<SandboxEnd> ended = known == null ? Optional.empty() : end(known.sandboxId());
            if (ended.isEmpty()) {
                throw e;
            }
            ModalSandboxEndedException typed = new ModalSandboxEndedException(known.sandboxId(),
                    ended.get().reason(), "Modal sandbox " + known.sandboxId() + " of session " + id()
                    + " has ended: " + ended.get().describe() + ". The " + action.type() + " action did not"
                    + " complete; Modal sandboxes cannot be revived: start a new session (a longer timeout, or"
                    + " keep-alive heartbeats for the idle timeout).", e);
            throw typed;
        }
    }

    // ------------------------------------------------------------------------------------------------- stop ---

    @Override
    protected void stopSandbox() {
        Current known = current;
        current = null;
        if (known == null) {
            return;
        }
        known.router().ifPresent(CommandRouter::close);
        boolean keep = isClosed() && config.keepAlive();
        if (keep) {
            log.info("session {}: keep-alive: leaving Modal sandbox {} running; it ends at its timeout", id(),
                    known.sandboxId());
            return;
        }
        if (!known.createdHere() && !isClosed()) {
            return; // a failed attach leaves the sandbox it found
        }
        try {
            api.terminate(known.sandboxId());
            log.info("session {}: terminated Modal sandbox {}", id(), known.sandboxId());
        } catch (RuntimeException e) {
            log.warn("session {}: could not terminate Modal sandbox {} ({}); its timeout will end it", id(),
                    known.sandboxId(), e.getMessage());
        }
    }

    @Override
    public void close() {
        try {
            super.close();
        } finally {
            api.close();
        }
    }
}
