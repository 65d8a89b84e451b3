package dev.agentruntime.daytona;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.Capability;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.Secret;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.daytona.internal.DaytonaApi;
import dev.agentruntime.daytona.internal.DaytonaSandbox;
import dev.agentruntime.daytona.internal.DaytonaToolbox;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.spi.ActionServerClient;
import dev.agentruntime.spi.ActionServerRuntime;
import dev.agentruntime.spi.ServerBundle;
import dev.agentruntime.spi.ServerEndpoint;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.SessionLabels;
import dev.agentruntime.spi.StartupLog;
import dev.agentruntime.thirdparty.ServerBootstrap;
import dev.agentruntime.thirdparty.internal.VendorHttp;
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
 * Runtime type {@code daytona}: a Daytona sandbox, made from a snapshot or a declarative image, with our action server
 * inside, reached through the sandbox's preview URL ({@code X-Daytona-Preview-Token}).
 *
 * <ul>
 *   <li>start: {@code POST /sandbox} with the session labels, then poll until {@code started} (an {@code error} or
 *       {@code build_failed} ends the wait with Daytona's reason); or, to attach, find the session's sandbox by its
 *       labels and start it when it is stopped or paused;</li>
 *   <li>the server: already in the snapshot (see the module README), or the bundle uploaded through the toolbox,
 *       digest-checked, and started in the background ({@link ServerBootstrap});</li>
 *   <li>while open: {@code POST /sandbox/{id}/last-activity} at a third of the auto-stop interval, so only an
 *       abandoned sandbox auto-stops (and, for an ordinary session, is then deleted);</li>
 *   <li>pause/resume where the sandbox's class can pause (a {@code linux-vm} keeps its processes; containers
 *       cannot, so they do not declare {@link Capability#PAUSE_RESUME});</li>
 *   <li>close: {@code DELETE /sandbox/{id}}, unless the session is keep-alive.</li>
 * </ul>
 */
public final class DaytonaRuntime extends ActionServerRuntime {

    private static final Logger log = LoggerFactory.getLogger(DaytonaRuntime.class);
    static final String VENDOR = "Daytona";
    static final String PREVIEW_TOKEN_HEADER = "X-Daytona-Preview-Token";
    /** The application ports ({@code APP_PORT_1}, {@code APP_PORT_2}) inside the sandbox, reached by signed URLs. */
    static final List<Integer> APP_PORTS = List.of(50000, 55000);
    /** How long a signed preview URL of {@link #webHosts()} lasts (Daytona allows up to 24 h). */
    static final Duration SIGNED_URL_LIFETIME = Duration.ofHours(24);

    private final DaytonaConfig daytona;
    private final DaytonaApi api;
    private final Secret sessionApiKey;

    /** The sandbox of the current start; guarded by the base class's lifecycle lock, swapped as a whole. */
    private volatile Current current;

    private record Current(DaytonaSandbox sandbox, boolean createdHere, DaytonaToolbox toolbox,
                           ServerBootstrap bootstrap, ServerBootstrap.ExitWatch exitWatch) {
    }

    /** Signed URLs of the application ports and when they were made; swapped as a whole. */
    private record WebHosts(String sandboxId, Map<String, Integer> urls, Instant madeAt) {
    }

    private volatile WebHosts webHosts;

    private static final Duration STATE_CHECK_EVERY = Duration.ofSeconds(2);
    /** Throttles {@link #sandboxRunning()}'s state checks; only the (single) readiness wait touches it. */
    private volatile Instant nextStateCheck = Instant.MIN;
    /** What the last state check saw, for {@link #failureContext()}. */
    private volatile DaytonaSandbox lastSeen;

    public DaytonaRuntime(RuntimeConfig config) {
        this(config, DaytonaConfig.from(config));
    }

    public DaytonaRuntime(RuntimeConfig config, DaytonaConfig daytona) {
        this(config, daytona, new DaytonaApi(daytona));
    }

    DaytonaRuntime(RuntimeConfig config, DaytonaConfig daytona, DaytonaApi api) {
        super(config);
        this.daytona = daytona;
        this.api = api;
        this.sessionApiKey = config.sessionApiKeyOrGenerate();
    }

    /** The Daytona sandbox id, once started. */
    public Optional<String> sandboxId() {
        Current c = current;
        return c == null ? Optional.empty() : Optional.of(c.sandbox().id());
    }

    @Override
    public Set<Capability> capabilities() {
        EnumSet<Capability> caps = serverCapabilities();
        caps.addAll(EnumSet.of(Capability.ATTACH, Capability.ISOLATION, Capability.WEB_HOSTS));
        Current c = current;
        if (c != null && c.sandbox().pausable()) {
            caps.add(Capability.PAUSE_RESUME);
        }
        return Collections.unmodifiableSet(caps);
    }

    @Override
    protected ServerEndpoint startSandbox(Instant deadline) {
        ServerBundle bundle = ServerBundle.prepare(this::progress);
        lastSeen = null;
        DaytonaSandbox sandbox;
        boolean created;
        if (config.attachToExisting()) {
            sandbox = attach(deadline);
            created = false;
        } else {
            SessionLabels labels = SessionLabels.forSession(config).withServerVersion(bundle.serverVersion());
            sandbox = api.create(createBody(labels), id());
            created = true;
            current = new Current(sandbox, true, null, null, null); // removed on failure from here on
            if (!DaytonaSandbox.STARTED.equals(sandbox.state())) {
                progress("Waiting for Daytona sandbox " + sandbox.id() + " to start (state " + sandbox.state() + ")");
                sandbox = api.awaitStarted(sandbox.id(), deadline);
            }
        }
        DaytonaToolbox toolbox = api.toolbox(sandbox);
        ServerBootstrap bootstrap = new ServerBootstrap(VENDOR, sandbox.id(), toolbox, this::progress);
        current = new Current(sandbox, created, toolbox, bootstrap,
                new ServerBootstrap.ExitWatch(bootstrap, Duration.ofSeconds(1)));
        useStartupLog(new StartupLog(null));
        if (!created && serverRunning(toolbox)) {
            if (config.sessionApiKey().isEmpty()) {
                throw new InvalidConfigException("Session " + id() + " runs its action server in Daytona sandbox "
                        + sandbox.id() + " under its own session API key, which is kept nowhere: attach with "
                        + "RuntimeConfig.sessionApiKey set to the key the session was started with");
            }
            progress("The action server of session " + id() + " still runs in Daytona sandbox " + sandbox.id());
        } else {
            startServer(bundle, toolbox, bootstrap);
        }
        return endpoint(sandbox.id());
    }

    private DaytonaSandbox attach(Instant deadline) {
        List<DaytonaSandbox> found = api.list(SessionLabels.sessionSelector(id())).stream()
                .filter(s -> !s.gone()).toList();
        if (found.isEmpty()) {
            throw new RuntimeNotFoundException("No Daytona sandbox carries the labels of session " + id() + " ("
                    + SessionLabels.sessionSelector(id()) + "): it was deleted, or never kept alive. Start a new "
                    + "session instead of attaching.");
        }
        DaytonaSandbox sandbox = found.get(0);
        if (!DaytonaSandbox.STARTED.equals(sandbox.state())) {
            progress("Starting Daytona sandbox " + sandbox.id() + " of session " + id() + " (state "
                    + sandbox.state() + ")");
            api.start(sandbox.id());
            sandbox = api.awaitStarted(sandbox.id(), deadline);
        } else if (sandbox.toolboxProxyUrl().isEmpty()) {
            sandbox = api.get(sandbox.id());
        }
        log.info("Daytona: session {} attached to sandbox {}", id(), sandbox.id());
        return sandbox;
    }

    ObjectNode createBody(SessionLabels labels) {
        ObjectNode body = VendorHttp.object();
        daytona.snapshot().ifPresent(s -> body.put("snapshot", s));
        daytona.image().ifPresent(image -> {
            body.putObject("buildInfo").put("dockerfileContent", "FROM " + image + "\n");
            daytona.cpu().ifPresent(c -> body.put("cpu", c));
            daytona.memoryGb().ifPresent(m -> body.put("memory", m));
            daytona.diskGb().ifPresent(d -> body.put("disk", d));
        });
        daytona.user().ifPresent(u -> body.put("user", u));
        body.set("env", WireCodec.MAPPER.valueToTree(daytona.environment()));
        Map<String, String> all = new LinkedHashMap<>(daytona.labels());
        all.putAll(labels.asLabels());
        body.set("labels", WireCodec.MAPPER.valueToTree(all));
        daytona.target().ifPresent(t -> body.put("target", t));
        body.put("autoStopInterval", daytona.autoStopInterval().toMinutes());
        daytona.autoArchiveInterval().ifPresent(d -> body.put("autoArchiveInterval", d.toMinutes()));
        // an abandoned ordinary session is deleted as soon as it auto-stops; a keep-alive one stays until removed
        long autoDelete = daytona.autoDeleteInterval().map(Duration::toMinutes).orElse(config.keepAlive() ? -1L : 0L);
        body.put("autoDeleteInterval", autoDelete);
        return body;
    }

    private void startServer(ServerBundle bundle, DaytonaToolbox toolbox, ServerBootstrap bootstrap) {
        String dir = ServerLaunch.shellQuote(daytona.installDir());
        String workspace = ServerLaunch.shellQuote(config.sandboxWorkspace());
        // a non-root snapshot user (Daytona's default is "daytona") gets the directories through sudo
        toolbox.run("for d in " + dir + " " + workspace + "; do mkdir -p \"$d\" 2>/dev/null && [ -w \"$d\" ] || "
                + "{ sudo -n mkdir -p \"$d\" && sudo -n chown \"$(id -u):$(id -g)\" \"$d\"; }; done; true",
                Duration.ofSeconds(60));
        ServerBootstrap.Installed installed = bootstrap.install(bundle, daytona.installDir());
        bootstrap.start(ServerLaunch.forSession(config).sessionApiKey(sessionApiKey).java(installed.java()).jar(installed.jar())
                .port(daytona.serverPort()).bindAddress("0.0.0.0").appPorts(APP_PORTS.get(0), APP_PORTS.get(1)).build());
    }

    /** Whether this session's server process runs in the sandbox (a kept-alive session's, found on attach). */
    private boolean serverRunning(DaytonaToolbox toolbox) {
        String pattern = "-D" + ServerLaunch.SESSION_PROPERTY.replace(".", "\\.") + "=" + id().replace(".", "\\.")
                + "( |$)";
        return toolbox.run("pgrep -f -- " + ServerLaunch.shellQuote(pattern) + " >/dev/null", Duration.ofSeconds(30))
                .ok();
    }

    private ServerEndpoint endpoint(String sandboxId) {
        DaytonaApi.Preview preview = api.previewUrl(sandboxId, daytona.serverPort());
        return ServerEndpoint.of(preview.url(), sessionApiKey)
                .withSecretHeader(PREVIEW_TOKEN_HEADER, preview.token())
                .withHeader("X-Daytona-Skip-Preview-Warning", "true");
    }

    /**
     * The application ports ({@code $APP_PORT_1}, {@code $APP_PORT_2} in the sandbox) as signed preview URLs: the
     * token is part of the URL, so any HTTP client (a browser, curl) opens them without headers. Made on first use,
     * renewed when they are older than half their 24 h lifetime.
     */
    @Override
    public Map<String, Integer> webHosts() {
        Current c = current;
        if (c == null || c.bootstrap() == null) {
            return Map.of();
        }
        WebHosts known = webHosts;
        if (known != null && known.sandboxId().equals(c.sandbox().id())
                && known.madeAt().plus(SIGNED_URL_LIFETIME.dividedBy(2)).isAfter(Instant.now())) {
            return known.urls();
        }
        Map<String, Integer> urls = new LinkedHashMap<>();
        for (int port : APP_PORTS) {
            urls.put(api.signedPreviewUrl(c.sandbox().id(), port, SIGNED_URL_LIFETIME).toString(), port);
        }
        WebHosts made = new WebHosts(c.sandbox().id(), Collections.unmodifiableMap(urls), Instant.now());
        webHosts = made;
        return made.urls();
    }

    /**
     * False once the server has exited (its exit file) or Daytona reports the sandbox failed or gone (asked at most
     * every {@link #STATE_CHECK_EVERY}), so waiting for readiness ends at once instead of at the deadline.
     */
    @Override
    protected boolean sandboxRunning() {
        Current c = current;
        if (c == null || c.exitWatch() == null) {
            return true;
        }
        if (!c.exitWatch().stillRunning()) {
            return false;
        }
        Instant now = Instant.now();
        if (now.isBefore(nextStateCheck)) {
            return true;
        }
        nextStateCheck = now.plus(STATE_CHECK_EVERY);
        try {
            DaytonaSandbox seen = api.get(c.sandbox().id());
            lastSeen = seen;
            return !seen.failed() && !seen.gone();
        } catch (dev.agentruntime.RuntimeNotFoundException e) {
            return false;
        } catch (RuntimeException e) {
            return true; // a control-plane hiccup: keep waiting until the deadline
        }
    }

    @Override
    protected String failureContext() {
        Current c = current;
        if (c == null || c.bootstrap() == null) {
            return "";
        }
        DaytonaSandbox seen = lastSeen;
        String state = seen != null && seen.id().equals(c.sandbox().id()) && !DaytonaSandbox.STARTED.equals(seen.state())
                ? " is in state " + seen.describeState() : "";
        if (!state.isEmpty()) {
            return "Daytona sandbox " + c.sandbox().id() + state + ".";
        }
        startupLog().ifPresent(c.bootstrap()::feedLogTail);
        return "Daytona sandbox " + c.sandbox().id() + ". " + c.bootstrap().describeExit();
    }

    @Override
    protected Duration heartbeatInterval() {
        return daytona.autoStopInterval().isZero() ? Duration.ZERO : daytona.autoStopInterval().dividedBy(3);
    }

    @Override
    protected void heartbeat(ActionServerClient client) {
        super.heartbeat(client);
        Current c = current;
        if (c != null) {
            try {
                api.refreshActivity(c.sandbox().id());
            } catch (RuntimeException e) {
                log.debug("Daytona sandbox {}: last-activity refresh failed: {}", c.sandbox().id(), e.toString());
            }
        }
    }

    @Override
    protected void pauseSandbox() {
        String sandboxId = requireCurrent().sandbox().id();
        api.pause(sandboxId);
        api.await(sandboxId, s -> DaytonaSandbox.PAUSED.equals(s.state()), Instant.now().plus(daytona.callTimeout()),
                "to pause");
    }

    @Override
    protected Optional<ServerEndpoint> resumeSandbox(Instant deadline) {
        Current c = requireCurrent();
        api.start(c.sandbox().id());
        DaytonaSandbox started = api.awaitStarted(c.sandbox().id(), deadline);
        current = new Current(started, c.createdHere(), c.toolbox(), c.bootstrap(), c.exitWatch());
        webHosts = null;
        lastSeen = null;
        return Optional.of(endpoint(started.id())); // the preview token changes when a sandbox starts again
    }

    private Current requireCurrent() {
        Current c = current;
        if (c == null) {
            throw new IllegalStateException("Runtime " + id() + " has no Daytona sandbox");
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
        String sandboxId = c.sandbox().id();
        if (isClosed() && config.keepAlive()) {
            log.info("Daytona sandbox {} of session {} is kept alive; attach with attachToExisting or remove it with "
                    + "housekeeping", sandboxId, id());
            return;
        }
        if (!isClosed() && !c.createdHere()) {
            return; // a failed attach leaves the session's sandbox as it found it
        }
        api.delete(sandboxId);
    }

    private void progress(String message) {
        log.info("sandbox {}: {}", id(), message);
    }
}
