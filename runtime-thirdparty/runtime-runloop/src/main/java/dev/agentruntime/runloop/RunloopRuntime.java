package dev.agentruntime.runloop;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.Capability;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.Secret;
import dev.agentruntime.runloop.internal.Devbox;
import dev.agentruntime.runloop.internal.RunloopApi;
import dev.agentruntime.runloop.internal.RunloopCommands;
import dev.agentruntime.spi.ActionServerClient;
import dev.agentruntime.spi.ActionServerRuntime;
import dev.agentruntime.spi.ServerBundle;
import dev.agentruntime.spi.ServerEndpoint;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.SessionLabels;
import dev.agentruntime.spi.StartupLog;
import dev.agentruntime.thirdparty.ServerBootstrap;
import dev.agentruntime.thirdparty.internal.VendorHttp;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sandbox in a Runloop devbox with our action server inside, reached through the devbox's tunnel
 * ({@code https://{port}-{tunnel_key}.tunnel.runloop.ai}, authenticated with {@code X-Runloop-Tunnel-Authorization}
 * unless {@link TunnelAuth#OPEN}).
 *
 * <p>Start: create the devbox (from the configured blueprint, snapshot or Runloop's default image, with the session
 * labels as metadata and the launch parameters), long-poll until it runs, then — unless the devbox already has this
 * server (a blueprint made from {@link ServerBundle#dockerfileRecipe()}) — upload the server bundle, check its digest,
 * unpack it and start the server in the background through Runloop's executions. {@link RuntimeConfig#attachToExisting()}
 * finds the session's devbox by metadata instead (resuming it when suspended, restarting the server when it is not
 * running). While open, the runtime sends Runloop's {@code keep_alive} at a third of {@link RunloopConfig#idleTime()}.
 *
 * <p>No {@link Capability#PAUSE_RESUME}: Runloop's suspend keeps the disk but ends every process (its API says running
 * processes must be restarted after resume), so it cannot keep a background process as that capability promises.
 * A keep-alive session whose devbox was suspended for idleness is resumed when attached to.
 *
 * <p>State: one immutable {@link Box} swapped as a whole, guarded by the base class's lifecycle lock (hooks run under
 * it); the heartbeat reads the volatile reference only.
 */
public final class RunloopRuntime extends ActionServerRuntime {

    private static final Logger log = LoggerFactory.getLogger(RunloopRuntime.class);
    private static final String VENDOR = "Runloop";
    private static final Set<String> AWAITED = Set.of("running", "failure", "shutdown");
    static final String TUNNEL_AUTH_HEADER = "X-Runloop-Tunnel-Authorization";

    private final RunloopConfig runloop;
    private final RunloopApi api;
    private final Secret sessionKey;

    /** The devbox of the current start. */
    private record Box(String id, boolean createdHere, ServerBootstrap bootstrap, ServerBootstrap.ExitWatch watch) {
    }

    private volatile Box box;

    public RunloopRuntime(RuntimeConfig config) {
        this(config, RunloopConfig.from(config));
    }

    public RunloopRuntime(RuntimeConfig config, RunloopConfig runloop) {
        super(config);
        this.runloop = runloop;
        this.api = RunloopApi.create(runloop.baseUrl(), runloop.apiKey(), null);
        this.sessionKey = config.sessionApiKeyOrGenerate();
    }

    @Override
    public Set<Capability> capabilities() {
        EnumSet<Capability> caps = serverCapabilities();
        caps.add(Capability.ATTACH);
        caps.add(Capability.ISOLATION);
        return caps;
    }

    /** The devbox id, once started. */
    public java.util.Optional<String> devboxId() {
        Box current = box;
        return current == null ? java.util.Optional.empty() : java.util.Optional.of(current.id());
    }

    // ------------------------------------------------------------------------------------------ lifecycle ---

    @Override
    protected ServerEndpoint startSandbox(Instant deadline) {
        useStartupLog(new StartupLog(null));
        Devbox devbox = config.attachToExisting() ? attach(deadline) : create(deadline);
        // one tunnel per devbox: the one made at create (or by an earlier runtime), else a new one
        Devbox.Tunnel tunnel = devbox.tunnel().orElseGet(() -> api.enableTunnel(devbox.id(), authMode()));
        Box current = box;
        boolean serverRuns = config.attachToExisting() && serverRuns();
        if (!serverRuns) {
            if (config.attachToExisting() && config.sessionApiKey().isEmpty()) {
                log.info("Runloop devbox {}: the server is not running; starting it with a new session key",
                        devbox.id());
            }
            startServer(current.bootstrap());
        } else if (config.sessionApiKey().isEmpty()) {
            throw new InvalidConfigException("Runloop devbox " + devbox.id() + " of session " + config.sessionId()
                    + " runs a server whose session key is kept nowhere: set RuntimeConfig.sessionApiKey to the key"
                    + " it was started with to attach to it");
        }
        return endpoint(tunnel);
    }

    private Devbox create(Instant deadline) {
        SessionLabels labels = SessionLabels.forSession(config);
        Devbox created = api.createAndAwaitRunning(createBody(labels));
        log.info("Runloop: created devbox {} for session {} ({})", created.id(), config.sessionId(),
                created.status());
        box = newBox(created.id(), true);
        return created.status().equals("running") ? created : awaitRunning(created.id(), deadline);
    }

    private Devbox attach(Instant deadline) {
        Devbox found = RunloopSandboxes.findDevbox(api, config.sessionId()).orElseThrow(() ->
                new RuntimeNotFoundException("No live Runloop devbox carries session " + config.sessionId()
                        + " in its metadata: it was shut down, or never created; connect without"
                        + " attachToExisting to create one."));
        box = newBox(found.id(), false);
        log.info("Runloop: attaching to devbox {} of session {} ({})", found.id(), config.sessionId(), found.status());
        if (found.status().equals("suspending")) {
            found = api.waitForStatus(found.id(), List.of("suspended", "failure", "shutdown"), deadline);
        }
        if (found.status().equals("suspended")) {
            setStatus(dev.agentruntime.RuntimeStatus.STARTING_RUNTIME, "Resuming Runloop devbox " + found.id());
            api.resume(found.id());
        }
        return awaitRunning(found.id(), deadline);
    }

    private Box newBox(String id, boolean createdHere) {
        ServerBootstrap bootstrap = new ServerBootstrap(VENDOR, id, new RunloopCommands(api, id),
                line -> setStatus(dev.agentruntime.RuntimeStatus.STARTING_RUNTIME, line));
        return new Box(id, createdHere, bootstrap, new ServerBootstrap.ExitWatch(bootstrap, Duration.ofSeconds(2)));
    }

    private Devbox awaitRunning(String id, Instant deadline) {
        Devbox devbox = api.waitForStatus(id, AWAITED, deadline);
        if (!devbox.status().equals("running")) {
            throw new RuntimeStartupException("Runloop devbox " + id + " of session " + config.sessionId()
                    + " did not start: " + devbox.describe() + ". Check the blueprint or snapshot and the devbox's"
                    + " logs in the Runloop dashboard.");
        }
        return devbox;
    }

    ObjectNode createBody(SessionLabels labels) {
        ObjectNode body = VendorHttp.object();
        body.put("name", "agent-runtime-" + config.sessionId());
        runloop.blueprintId().ifPresent(v -> body.put("blueprint_id", v));
        runloop.blueprintName().ifPresent(v -> body.put("blueprint_name", v));
        runloop.snapshotId().ifPresent(v -> body.put("snapshot_id", v));
        if (!runloop.environment().isEmpty()) {
            ObjectNode env = body.putObject("environment_variables");
            runloop.environment().forEach(env::put);
        }
        ObjectNode metadata = body.putObject("metadata");
        labels.asLabels().forEach(metadata::put);
        ObjectNode launch = body.putObject("launch_parameters");
        runloop.resourceSize().ifPresent(size -> launch.put("resource_size_request", size.name()));
        runloop.customCpuCores().ifPresent(v -> launch.put("custom_cpu_cores", v));
        runloop.customMemoryGb().ifPresent(v -> launch.put("custom_gb_memory", v));
        runloop.customDiskGb().ifPresent(v -> launch.put("custom_disk_size", v));
        runloop.keepAliveTime().ifPresent(t -> launch.put("keep_alive_time_seconds", t.toSeconds()));
        if (!runloop.idleTime().isZero()) {
            launch.putObject("after_idle").put("idle_time_seconds", runloop.idleTime().toSeconds())
                    .put("on_idle", runloop.idleActionFor(config.keepAlive()).name().toLowerCase(java.util.Locale.ROOT));
        }
        if (!runloop.launchCommands().isEmpty()) {
            runloop.launchCommands().forEach(launch.putArray("launch_commands")::add);
        }
        runloop.architecture().ifPresent(v -> launch.put("architecture", v));
        runloop.user().ifPresent(u -> launch.putObject("user_parameters").put("username", u.name()).put("uid", u.uid()));
        body.putObject("tunnel").put("auth_mode", authMode()).put("http_keep_alive", true).put("wake_on_http", false);
        return body;
    }

    private String authMode() {
        return runloop.tunnelAuth().name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Whether a server of this session runs in the devbox (started by an earlier runtime; gone after a suspend, which
     * ends every process): a process whose command line has this session's {@code -Dagent.runtime.session=} argument.
     * Pure bash over {@code /proc}, so no helper process carries the pattern and matches itself.
     */
    private boolean serverRuns() {
        String arg = "-D" + ServerLaunch.SESSION_PROPERTY + "=" + config.sessionId();
        String script = "want=" + ServerLaunch.shellQuote(arg) + "; for p in /proc/[0-9]*; do "
                + "[ \"$p\" = /proc/$$ ] && continue; "
                + "while IFS= read -r -d '' a; do [ \"$a\" = \"$want\" ] && exit 0; done < \"$p/cmdline\" 2>/dev/null; "
                + "done; exit 1";
        return new RunloopCommands(api, box.id()).run(script, Duration.ofSeconds(60)).ok();
    }

    private void startServer(ServerBootstrap bootstrap) {
        ServerBundle bundle = ServerBundle.prepare(line -> setStatus(dev.agentruntime.RuntimeStatus.STARTING_RUNTIME,
                line));
        String dir = ServerBundle.DEFAULT_INSTALL_DIR;
        ServerBootstrap.Installed installed;
        if (new RunloopCommands(api, box.id()).run(bundle.installedCheck(dir), Duration.ofSeconds(60)).ok()) {
            log.info("Runloop devbox {}: the blueprint has the action server {} in {}", box.id(),
                    bundle.serverVersion(), dir);
            installed = new ServerBootstrap.Installed(bundle.java(dir), bundle.jar(dir), 0, Duration.ZERO);
        } else {
            installed = bootstrap.install(bundle, runloop.installDir());
        }
        bootstrap.start(ServerLaunch.forSession(config).sessionApiKey(sessionKey).java(installed.java())
                .jar(installed.jar()).port(runloop.serverPort()).bindAddress("0.0.0.0").build());
    }

    /** Where the server answers: its port on the devbox's tunnel, with the tunnel's token when authenticated. */
    ServerEndpoint endpoint(Devbox.Tunnel tunnel) {
        URI base = runloop.baseUrl();
        String host = runloop.serverPort() + "-" + tunnel.key() + ".tunnel." + runloop.effectiveTunnelDomain();
        ServerEndpoint endpoint = runloop.tunnelAddress()
                .map(address -> ServerEndpoint.of(address, sessionKey).withHeader("Host", host))
                .orElseGet(() -> ServerEndpoint.of(URI.create(base.getScheme() + "://" + host), sessionKey));
        if (tunnel.authMode().equals("authenticated")) {
            Secret token = tunnel.authToken().orElseThrow(() -> new RuntimeStartupException("Runloop devbox "
                    + box.id() + " has an authenticated tunnel but Runloop sent no auth_token for it"));
            endpoint = endpoint.withSecretHeader(TUNNEL_AUTH_HEADER, Secret.of("Bearer " + token.reveal()));
        }
        return endpoint;
    }

    /**
     * The server's client, with the tunnel's failures explained: when a call through the tunnel fails with 404 or
     * 5xx and the devbox is no longer running (it failed, was shut down or suspended by Runloop), the error says so
     * instead of a bare HTTP status.
     */
    @Override
    protected ActionServerClient newClient(ServerEndpoint endpoint) {
        return super.newClient(endpoint).withFailureMapper((call, status, header, body) -> {
            Box current = box;
            if (current == null || status != 404 && status < 500) {
                return java.util.Optional.empty();
            }
            try {
                Devbox devbox = api.get(current.id());
                if (devbox.status().equals("running")) {
                    return java.util.Optional.empty();
                }
                return java.util.Optional.of(new RuntimeDisconnectedException("Runloop devbox " + current.id()
                        + " of session " + config.sessionId() + " is no longer running (" + devbox.describe() + "): "
                        + call + " got HTTP " + status + " through its tunnel."
                        + (devbox.status().startsWith("suspend") ? " Attach again to resume it." : "")));
            } catch (RuntimeNotFoundException gone) {
                return java.util.Optional.of(new RuntimeDisconnectedException("Runloop devbox " + current.id()
                        + " of session " + config.sessionId() + " no longer exists: " + call + " got HTTP " + status
                        + " through its tunnel."));
            } catch (RuntimeException unknown) {
                return java.util.Optional.empty(); // the API is unreachable too: the default error stands
            }
        });
    }

    @Override
    protected boolean sandboxRunning() {
        Box current = box;
        return current == null || current.watch().stillRunning();
    }

    @Override
    protected String failureContext() {
        Box current = box;
        if (current == null) {
            return "";
        }
        startupLog().ifPresent(current.bootstrap()::feedLogTail);
        String exit = current.bootstrap().describeExit();
        return "Runloop devbox " + current.id() + "." + (exit.isEmpty() ? "" : " " + exit);
    }

    @Override
    protected Duration heartbeatInterval() {
        return runloop.idleTime().isZero() ? Duration.ZERO : runloop.idleTime().dividedBy(3);
    }

    @Override
    protected void heartbeat(ActionServerClient client) {
        super.heartbeat(client);
        Box current = box;
        if (current != null) {
            api.keepAlive(current.id());
        }
    }

    /** A create whose answer never came may still have made a devbox: find it by the session's labels. */
    private void reapUnknownCreate() {
        try {
            RunloopSandboxes.findDevbox(api, config.sessionId()).ifPresent(orphan -> {
                log.info("Runloop: shutting down devbox {} of session {}, whose create did not answer", orphan.id(),
                        config.sessionId());
                api.shutdown(orphan.id(), true);
            });
        } catch (RuntimeException e) {
            log.warn("Runloop: cannot check for a devbox of session {} after a failed create ({}); housekeeping's"
                    + " reap will find it", config.sessionId(), e.toString());
        }
    }

    @Override
    protected void stopSandbox() {
        Box current = box;
        boolean failedStart = !isClosed();
        if (current == null) {
            if (failedStart && !config.attachToExisting()) {
                reapUnknownCreate();
            }
            return;
        }
        if (failedStart ? !current.createdHere() : config.keepAlive()) {
            log.info("Runloop devbox {} of session {} is kept ({})", current.id(), config.sessionId(),
                    failedStart ? "attached, not created by this runtime" : "keep-alive");
            return;
        }
        box = null;
        try {
            api.shutdown(current.id(), false);
            log.info("Runloop: shut down devbox {} of session {}", current.id(), config.sessionId());
        } catch (RuntimeNotFoundException gone) {
            log.debug("Runloop devbox {} was already gone", current.id());
        } catch (dev.agentruntime.BackendException refused) {
            Devbox now = api.get(current.id());
            if (!now.ended()) {
                throw refused;
            }
            log.info("Runloop devbox {} of session {} had already ended: {}", current.id(), config.sessionId(),
                    now.describe());
        }
    }
}
