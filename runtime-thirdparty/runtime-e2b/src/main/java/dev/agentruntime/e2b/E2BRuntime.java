package dev.agentruntime.e2b;

import dev.agentruntime.Capability;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.e2b.internal.E2BApi;
import dev.agentruntime.e2b.internal.Envd;
import dev.agentruntime.spi.ActionServerClient;
import dev.agentruntime.spi.ActionServerRuntime;
import dev.agentruntime.spi.ServerBundle;
import dev.agentruntime.spi.ServerEndpoint;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.SessionLabels;
import dev.agentruntime.spi.StartupLog;
import dev.agentruntime.thirdparty.ServerBootstrap;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A runtime whose sandbox is an E2B sandbox with our action server inside, driven over E2B's own protocols:
 * <ol>
 *   <li>create ({@code POST /v2/sandboxes}) from the template, with the session's labels as metadata, the configured
 *       environment and a lifetime ({@link E2BConfig#timeout()}) that the heartbeat refreshes while the runtime is
 *       open; or, with {@link RuntimeConfig#attachToExisting()}, find the session's sandbox by metadata and connect;</li>
 *   <li>through envd: when the template already has this server (baked from {@link ServerBundle#dockerfileRecipe()})
 *       nothing is sent, otherwise the {@link ServerBundle} is uploaded, digest-checked and unpacked; then the server
 *       starts in the background ({@link ServerBootstrap});</li>
 *   <li>the server is reached through E2B's port exposure: {@code https://{port}-{id}.{domain}}, or the configured
 *       sandbox URL with the {@code E2b-Sandbox-Id}/{@code E2b-Sandbox-Port} routing headers, plus the traffic token
 *       when public traffic is off.</li>
 * </ol>
 * Pause and resume are E2B's ({@code /pause}, {@code /connect}): memory and processes survive. Close kills the
 * sandbox, unless it is kept alive ({@link RuntimeConfig#keepAlive()}).
 */
public final class E2BRuntime extends ActionServerRuntime {

    private static final Logger log = LoggerFactory.getLogger(E2BRuntime.class);
    private static final Duration EXIT_CHECK_EVERY = Duration.ofMillis(500);

    /** The sandbox this runtime drives; swapped as a whole, guarded by the base class's lifecycle lock. */
    private record Current(E2BApi.Sandbox sandbox, Envd envd, ServerBootstrap bootstrap,
                           ServerBootstrap.ExitWatch exitWatch, boolean createdHere) {
    }

    private final E2BConfig e2b;
    private final E2BApi api;
    /** The key our server demands: the configured one, or one generated for this runtime. */
    private final dev.agentruntime.Secret serverKey;
    private volatile Current current;

    E2BRuntime(RuntimeConfig config, E2BConfig e2b) {
        super(config);
        this.e2b = e2b;
        this.api = new E2BApi(e2b);
        this.serverKey = config.sessionApiKeyOrGenerate();
    }

    /** The application ports the sandbox's shell is told about ({@code APP_PORT_1}, {@code APP_PORT_2}). */
    static final List<Integer> APP_PORTS = List.of(50001, 50002);

    /**
     * {@link Capability#WEB_HOSTS} only where a plain HTTP client reaches a sandbox port: E2B's per-port hosts with
     * public traffic allowed (not through a routing-header URL, not when the traffic token is demanded).
     */
    @Override
    public Set<Capability> capabilities() {
        EnumSet<Capability> caps = serverCapabilities();
        caps.addAll(EnumSet.of(Capability.PAUSE_RESUME, Capability.ATTACH, Capability.ISOLATION));
        if (publicPortHosts()) {
            caps.add(Capability.WEB_HOSTS);
        }
        return caps;
    }

    private boolean publicPortHosts() {
        return e2b.sandboxUrl().isEmpty() && e2b.publicTraffic().orElse(true);
    }

    /** {@code https://{port}-{sandboxId}.{domain}} for each application port, while connected. */
    @Override
    public java.util.Map<String, Integer> webHosts() {
        Current c = current;
        if (c == null || !publicPortHosts()) {
            return java.util.Map.of();
        }
        java.util.Map<String, Integer> hosts = new java.util.LinkedHashMap<>();
        for (int port : APP_PORTS) {
            hosts.put(portUrl(c.sandbox(), port), port);
        }
        return hosts;
    }

    private String portUrl(E2BApi.Sandbox sandbox, int port) {
        return "https://" + port + "-" + sandbox.sandboxId() + "." + sandbox.domain().orElse(e2b.domain());
    }

    /** The E2B sandbox id, once connected. */
    public Optional<String> sandboxId() {
        Current c = current;
        return c == null ? Optional.empty() : Optional.of(c.sandbox().sandboxId());
    }

    // ---------------------------------------------------------------------------------------------- start ---

    @Override
    protected ServerEndpoint startSandbox(Instant deadline) {
        if (config.attachToExisting()) {
            return attach(deadline);
        }
        List<E2BApi.Listed> existing = api.list(SessionLabels.sessionSelector(config.sessionId()));
        if (!existing.isEmpty()) {
            throw new RuntimeStartupException("E2B sandbox " + existing.get(0).sandboxId() + " already belongs to session "
                    + config.sessionId() + ". Attach to it with attachToExisting(true), choose another session id, or"
                    + " remove it with `agent-runtime rm " + config.sessionId() + "` (type e2b).");
        }
        ServerBundle bundle = ServerBundle.prepare(message -> setStatus(RuntimeStatus.BUILDING_RUNTIME, message));
        SessionLabels labels = SessionLabels.forSession(config).withServerVersion(bundle.serverVersion());
        setStatus(RuntimeStatus.STARTING_RUNTIME, "Creating an E2B sandbox from template " + e2b.template());
        // long enough for the cold start; onReady sets the configured lifetime, which the heartbeat then refreshes
        Duration startLifetime = e2b.timeout().compareTo(config.startupTimeout()) >= 0 ? e2b.timeout()
                : config.startupTimeout().plusSeconds(30);
        E2BApi.Sandbox sandbox = api.create(new E2BApi.CreateRequest(e2b.template(), startLifetime, e2b.autoPause(),
                labels.asLabels(), config.environment(), e2b.internetAccess(), e2b.publicTraffic(), e2b.allowOut(),
                e2b.denyOut()));
        log.info("sandbox {}: created E2B sandbox {} from template {} (envd {})", id(), sandbox.sandboxId(),
                e2b.template(), sandbox.envdVersion());
        Current c = use(sandbox, true);
        ServerBootstrap.Installed installed = c.bootstrap().install(bundle, e2b.installDir());
        if (installed.uploadedBytes() > 0) {
            setStatus(RuntimeStatus.STARTING_RUNTIME, "Uploaded the action server (" + installed.uploadedBytes()
                    + " bytes) to E2B sandbox " + sandbox.sandboxId() + " in " + installed.took().toMillis() + " ms");
        }
        startServer(c, installed);
        return endpoint(sandbox);
    }

    private ServerEndpoint attach(Instant deadline) {
        List<E2BApi.Listed> found = api.list(SessionLabels.sessionSelector(config.sessionId()));
        if (found.isEmpty()) {
            throw new RuntimeNotFoundException("No E2B sandbox carries session " + config.sessionId() + " (metadata "
                    + SessionLabels.PREFIX + SessionLabels.SESSION_ID + "). It may have timed out or been killed;"
                    + " connect without attachToExisting to create one.");
        }
        String sandboxId = found.get(0).sandboxId();
        setStatus(RuntimeStatus.STARTING_RUNTIME, "Attaching to E2B sandbox " + sandboxId + " ("
                + found.get(0).state() + ")");
        E2BApi.Sandbox sandbox = api.connect(sandboxId, e2b.timeout());
        Current c = use(sandbox, false);
        SandboxCommandsProbe probe = new SandboxCommandsProbe(c, e2b.installDir());
        if (!probe.serverRunning()) {
            ServerBundle bundle = ServerBundle.prepare(message -> setStatus(RuntimeStatus.BUILDING_RUNTIME, message));
            startServer(c, c.bootstrap().install(bundle, e2b.installDir()));
        }
        return endpoint(sandbox);
    }

    /**
     * Whether the server a previous runtime started in this sandbox still runs: its log exists, no exit code was
     * written, and (where the sandbox has pgrep) a java of the install dir runs.
     */
    private record SandboxCommandsProbe(Current c, String installDir) {
        boolean serverRunning() {
            String java = installDir + "/jre/bin/java";
            return c.envd().run("test -f " + ServerLaunch.shellQuote(c.bootstrap().logFile()) + " && test ! -f "
                    + ServerLaunch.shellQuote(c.bootstrap().exitFile()) + " && { ! command -v pgrep >/dev/null"
                    + " || pgrep -f " + ServerLaunch.shellQuote("^" + java.replace(".", "[.]")) + " >/dev/null; }",
                    Duration.ofSeconds(30)).ok();
        }
    }

    private Current use(E2BApi.Sandbox sandbox, boolean createdHere) {
        String sandboxId = sandbox.sandboxId();
        long[] lastReported = {0};
        Envd envd = new Envd(sandboxId, envdUrl(sandbox), sandbox.envdToken(), Optional.of(e2b.user()),
                e2b.requestTimeout(), null, sent -> {
                    if (sent < lastReported[0]) {
                        lastReported[0] = 0; // a new upload
                    }
                    if (sent - lastReported[0] >= 8L * 1024 * 1024) {
                        lastReported[0] = sent;
                        setStatus(RuntimeStatus.STARTING_RUNTIME, "Uploading the action server to E2B sandbox "
                                + sandboxId + ": " + sent / (1024 * 1024) + " MiB sent");
                    }
                });
        ServerBootstrap bootstrap = new ServerBootstrap("E2B", sandboxId, envd,
                message -> setStatus(RuntimeStatus.STARTING_RUNTIME, message));
        Current c = new Current(sandbox, envd, bootstrap, new ServerBootstrap.ExitWatch(bootstrap, EXIT_CHECK_EVERY),
                createdHere);
        current = c;
        useStartupLog(new StartupLog(null));
        return c;
    }

    private void startServer(Current c, ServerBootstrap.Installed installed) {
        ServerLaunch launch = ServerLaunch.forSession(config).sessionApiKey(serverKey).java(installed.java()).jar(installed.jar())
                .port(e2b.serverPort()).appPorts(APP_PORTS.get(0), APP_PORTS.get(1)).build();
        c.bootstrap().start(launch);
    }

    /** envd: the configured sandbox URL, E2B's shared sandbox host, or the sandbox's own envd host. */
    URI envdUrl(E2BApi.Sandbox sandbox) {
        if (e2b.sandboxUrl().isPresent()) {
            return e2b.sandboxUrl().get();
        }
        String domain = sandbox.domain().orElse(e2b.domain());
        return URI.create("https://" + E2BConfig.ENVD_PORT + "-" + sandbox.sandboxId() + "." + domain);
    }

    /** Our server: {@code https://{port}-{id}.{domain}}, or the sandbox URL with routing headers; the traffic token. */
    ServerEndpoint endpoint(E2BApi.Sandbox sandbox) {
        ServerEndpoint endpoint;
        if (e2b.sandboxUrl().isPresent()) {
            endpoint = ServerEndpoint.of(e2b.sandboxUrl().get(), serverKey())
                    .withHeader("E2b-Sandbox-Id", sandbox.sandboxId())
                    .withHeader("E2b-Sandbox-Port", Integer.toString(e2b.serverPort()));
        } else {
            endpoint = ServerEndpoint.of(URI.create(portUrl(sandbox, e2b.serverPort())), serverKey());
        }
        if (sandbox.trafficToken().isPresent()) {
            endpoint = endpoint.withSecretHeader("e2b-traffic-access-token", sandbox.trafficToken().get());
        }
        return endpoint;
    }

    private dev.agentruntime.Secret serverKey() {
        return serverKey;
    }

    // ------------------------------------------------------------------------------------ readiness, errors ---

    @Override
    protected boolean sandboxRunning() {
        Current c = current;
        return c == null || c.exitWatch().stillRunning();
    }

    @Override
    protected String failureContext() {
        Current c = current;
        if (c == null) {
            return "";
        }
        try {
            startupLog().ifPresent(c.bootstrap()::feedLogTail);
            String exit = c.bootstrap().describeExit();
            return "E2B sandbox " + c.sandbox().sandboxId() + (exit.isEmpty() ? "." : ": " + exit);
        } catch (RuntimeException e) {
            return "E2B sandbox " + c.sandbox().sandboxId() + " (its state could not be read: " + e.getMessage() + ")";
        }
    }

    // ------------------------------------------------------------------------------- heartbeat, pause, stop ---

    /** From now on the sandbox lives {@link E2BConfig#timeout()} past the last heartbeat. */
    @Override
    protected void onReady(ActionServerClient client) {
        Current c = current;
        if (c != null) {
            api.setTimeout(c.sandbox().sandboxId(), e2b.timeout());
        }
    }

    /** A third of the sandbox's timeout, so two missed beats still leave it alive. */
    @Override
    protected Duration heartbeatInterval() {
        return e2b.timeout().dividedBy(3);
    }

    @Override
    protected void heartbeat(ActionServerClient client) {
        super.heartbeat(client);
        Current c = current;
        if (c != null) {
            api.setTimeout(c.sandbox().sandboxId(), e2b.timeout());
        }
    }

    @Override
    protected void pauseSandbox() {
        Current c = requireCurrent("pause");
        if (!api.pause(c.sandbox().sandboxId())) {
            log.info("sandbox {}: E2B sandbox {} was already paused", id(), c.sandbox().sandboxId());
        }
    }

    @Override
    protected Optional<ServerEndpoint> resumeSandbox(Instant deadline) {
        Current c = requireCurrent("resume");
        E2BApi.Sandbox resumed = api.connect(c.sandbox().sandboxId(), e2b.timeout());
        Current next = use(resumed, c.createdHere());
        return Optional.of(endpoint(next.sandbox()));
    }

    private Current requireCurrent(String what) {
        Current c = current;
        if (c == null) {
            throw new IllegalStateException("Runtime " + id() + " has no E2B sandbox to " + what);
        }
        return c;
    }

    @Override
    protected void stopSandbox() {
        Current c = current;
        current = null;
        if (c == null) {
            return;
        }
        String sandboxId = c.sandbox().sandboxId();
        if (isClosed() && config.keepAlive()) {
            log.info("sandbox {}: keeping E2B sandbox {} (keep-alive; it ends on its own after {} without a"
                    + " heartbeat)", id(), sandboxId, e2b.timeout());
            return;
        }
        if (api.kill(sandboxId)) {
            log.info("sandbox {}: killed E2B sandbox {}", id(), sandboxId);
        }
    }
}
