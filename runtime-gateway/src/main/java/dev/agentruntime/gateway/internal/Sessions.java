package dev.agentruntime.gateway.internal;

import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.docker.DockerRuntimeConfig;
import dev.agentruntime.gateway.GatewayConfig;
import dev.agentruntime.spi.ActionServerClient;
import dev.agentruntime.spi.ActionServerRuntime;
import dev.agentruntime.spi.ServerEndpoint;
import dev.agentruntime.spi.SessionLabels;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's sessions, kept nowhere but on the sandboxes: each is a keep-alive sandbox of the configured backend
 * whose session id is the runtime id, labelled with its tenant, the client's session id, its image and how its
 * server was started, and found again through the backend's housekeeping. What a replica holds in memory is only a
 * cache of where each sandbox's servers answer (revalidated every {@link #TARGET_TTL}), so a restart or a second
 * replica sees exactly the same sessions.
 *
 * <p>Sandboxes are made and reached with {@link RuntimeFactory}: a start connects a new runtime (keep-alive, so
 * closing the runtime object right after leaves the sandbox running); pause, resume and finding a server's address
 * attach to the sandbox ({@code attachToExisting}) for the moment they need it.
 */
public final class Sessions implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Sessions.class);
    public static final String LABEL_TENANT = "gateway-tenant";
    public static final String LABEL_SESSION = "gateway-session";
    public static final String LABEL_IMAGE = "gateway-image";
    public static final String LABEL_SERVER = "gateway-server";
    static final String SERVER_OURS = "agent-runtime";
    static final String SERVER_COMMAND = "command";
    /** How long a replica trusts its cached address of a sandbox before asking the backend again. */
    public static final Duration TARGET_TTL = Duration.ofSeconds(1);
    private static final Duration ATTACH_TIMEOUT = Duration.ofSeconds(60);
    private static final String VALUE = "[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?";

    /** A session as its sandbox's labels describe it. */
    public record Session(String runtimeId, String tenant, String sessionId, String backendState,
                          Optional<String> image, Optional<Instant> createdAt, String server) {

        /** OpenHands' session status: {@code running}, {@code paused}, {@code stopped} or {@code starting}. */
        public String status() {
            return switch (backendState.toLowerCase(Locale.ROOT)) {
                case "running" -> "running";
                case "paused" -> "paused";
                case "exited", "dead", "stopped", "failed", "succeeded", "removing" -> "stopped";
                default -> "starting";
            };
        }
    }

    /**
     * Where a running session's servers answer: the action server's endpoint (its own session key included) and the
     * work hosts in order ({@code work-1}, {@code work-2}) with their ports inside the sandbox.
     */
    public record Target(String runtimeId, String tenant, ServerEndpoint server, List<URI> workHosts,
                         List<Integer> workPorts, long checkedNanos) {
        Target checkedNow() {
            return new Target(runtimeId, tenant, server, workHosts, workPorts, System.nanoTime());
        }
    }

    /** A validated {@code POST /start}. */
    public record StartSpec(String sessionId, Optional<String> image, List<String> command,
                            Optional<String> workingDir, Map<String, String> environment,
                            Optional<Duration> noChangeTimeout, int resourceFactor, Optional<String> runtimeClass) {
    }

    private final GatewayConfig config;
    private final Signer signer;
    private final SandboxHousekeeping housekeeping;
    private final Map<String, Target> targets = new ConcurrentHashMap<>();

    public Sessions(GatewayConfig config, Signer signer) {
        this.config = config;
        this.signer = signer;
        this.housekeeping = RuntimeFactory.housekeeping(RuntimeConfig.builder().type(config.backendType())
                .options(config.backendOptions()).build());
    }

    public Signer signer() {
        return signer;
    }

    // -------------------------------------------------------------------------------------------- reading ---

    /** Every gateway session on the backend, of every tenant. */
    public List<Session> all() {
        List<Session> sessions = new ArrayList<>();
        for (SandboxInfo info : housekeeping.list()) {
            session(info).ifPresent(sessions::add);
        }
        return sessions;
    }

    public List<Session> list(String tenant) {
        return all().stream().filter(s -> s.tenant().equals(tenant)).toList();
    }

    /** The tenant's session with this runtime id; empty for an unknown id or another tenant's. */
    public Optional<Session> find(String tenant, String runtimeId) {
        return find(runtimeId).filter(s -> s.tenant().equals(tenant));
    }

    /** The session with this runtime id, whoever's. */
    public Optional<Session> find(String runtimeId) {
        if (runtimeId == null || !Signer.isRuntimeId(runtimeId)) {
            return Optional.empty();
        }
        return housekeeping.find(runtimeId).flatMap(Sessions::session);
    }

    /** The tenant's session of a client session id. */
    public Optional<Session> bySessionId(String tenant, String sessionId) {
        return find(tenant, signer.runtimeId(tenant, sessionId));
    }

    private static Optional<Session> session(SandboxInfo info) {
        Optional<SessionLabels> labels = SessionLabels.parse(info.labels());
        if (labels.isEmpty()) {
            return Optional.empty();
        }
        Map<String, String> user = labels.get().userLabels();
        String tenant = user.get(LABEL_TENANT);
        if (tenant == null || !Signer.isRuntimeId(info.sessionId())) {
            return Optional.empty(); // a sandbox of someone else's (another program on the same engine)
        }
        return Optional.of(new Session(info.sessionId(), tenant, user.getOrDefault(LABEL_SESSION, info.sessionId()),
                info.state(), Optional.ofNullable(user.get(LABEL_IMAGE)).map(Sessions::unlabel), info.createdAt(),
                user.getOrDefault(LABEL_SERVER, SERVER_OURS)));
    }

    // ------------------------------------------------------------------------------------------- starting ---

    /**
     * Starts a sandbox for the tenant's session and waits until its server is ready.
     *
     * @throws InvalidConfigException for settings the backend refuses (422)
     * @throws AgentRuntimeException  when the sandbox fails to start (with its last log lines)
     */
    public Target start(GatewayConfig.ApiKey key, StartSpec spec) {
        String runtimeId = signer.runtimeId(key.name(), spec.sessionId());
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(LABEL_TENANT, key.name());
        labels.put(LABEL_SESSION, spec.sessionId());
        spec.image().or(config::defaultImage).map(Sessions::label).ifPresent(l -> labels.put(LABEL_IMAGE, l));
        labels.put(LABEL_SERVER, spec.command().isEmpty() ? SERVER_OURS : SERVER_COMMAND);

        Map<String, String> options = new LinkedHashMap<>(config.backendOptions());
        spec.image().or(config::defaultImage).ifPresent(image -> options.put("image", image));
        // the sandbox's own safety net: its server exits after the key's idle time when no gateway is left to reap
        config.idleOption().ifPresent(option -> options.put(option,
                (key.idleTimeout().plus(config.reapInterval().multipliedBy(2)).toSeconds()) + "s"));
        config.cpus().ifPresent(cpus -> options.put("cpus", Double.toString(cpus * spec.resourceFactor())));
        config.memoryBytes().ifPresent(bytes -> options.put("memory", Long.toString(bytes * spec.resourceFactor())));
        spec.runtimeClass().ifPresent(c -> options.put("container.runtime", config.runtimeClasses().get(c)));
        if (spec.command().isEmpty()) {
            spec.workingDir().ifPresent(dir -> options.put("working.dir", dir));
        }

        RuntimeConfig.Builder builder = RuntimeConfig.builder().type(config.backendType()).sessionId(runtimeId)
                .keepAlive(true).sessionApiKey(signer.sessionKey(runtimeId)).environment(spec.environment())
                .startupTimeout(config.startupTimeout()).labels(labels);
        spec.noChangeTimeout().ifPresent(builder::noChangeTimeout);
        if (spec.command().isEmpty()) {
            builder.options(options);
        } else {
            if (!config.backendType().equals("docker")) {
                throw new InvalidConfigException("This gateway's backend (" + config.backendType() + ") cannot run a"
                        + " start's own command; start without 'command' to get the gateway's action server");
            }
            DockerRuntimeConfig docker = DockerRuntimeConfig.fromOptions(options).toBuilder()
                    .createCustomizer(CommandStarts.customizer(spec.command(), spec.workingDir())).build();
            builder.backendConfig(docker);
        }
        Runtime runtime = RuntimeFactory.create(builder.build());
        try {
            runtime.connect();
            Target target = target(runtimeId, key.name(), runtime);
            targets.put(runtimeId, target);
            return target;
        } finally {
            runtime.close(); // keep-alive: the sandbox stays, only this process's handle on it goes
        }
    }

    private static Target target(String runtimeId, String tenant, Runtime runtime) {
        if (!(runtime instanceof ActionServerRuntime server)) {
            throw new InvalidConfigException("The gateway proxies to action servers, and a " + runtime.getClass()
                    .getSimpleName() + " has none");
        }
        ServerEndpoint endpoint = server.serverEndpoint().orElseThrow(() -> new IllegalStateException(
                "Runtime " + runtimeId + " is connected but has no endpoint"));
        List<URI> hosts = new ArrayList<>();
        List<Integer> ports = new ArrayList<>();
        runtime.webHosts().forEach((url, port) -> {
            hosts.add(URI.create(url));
            ports.add(port);
        });
        return new Target(runtimeId, tenant, endpoint, List.copyOf(hosts), List.copyOf(ports), System.nanoTime());
    }

    // -------------------------------------------------------------------------------------------- targets ---

    /**
     * Where a running session's servers answer: the cached address while fresh, else the backend is asked whether
     * the sandbox still runs (and attached to when this replica has no address yet).
     *
     * @return empty when the session is gone; a paused or stopped session throws {@link NotRunning}
     */
    public Optional<Target> target(String runtimeId) {
        Target cached = targets.get(runtimeId);
        if (cached != null && System.nanoTime() - cached.checkedNanos() < TARGET_TTL.toNanos()) {
            return Optional.of(cached);
        }
        Optional<Session> session = find(runtimeId);
        if (session.isEmpty()) {
            targets.remove(runtimeId);
            return Optional.empty();
        }
        if (!session.get().status().equals("running")) {
            targets.remove(runtimeId);
            throw new NotRunning(session.get());
        }
        if (cached != null) {
            Target fresh = cached.checkedNow();
            targets.put(runtimeId, fresh);
            return Optional.of(fresh);
        }
        Target attached = attach(session.get(), runtime -> {
        });
        targets.put(runtimeId, attached);
        return Optional.of(attached);
    }

    /** Thrown by {@link #target} for a session that is not running. */
    public static final class NotRunning extends RuntimeException {
        private final transient Session session;

        NotRunning(Session session) {
            super("Runtime " + session.runtimeId() + " is " + session.status(), null, false, false);
            this.session = session;
        }

        public Session session() {
            return session;
        }
    }

    /** Forgets the cached address (after a proxied exchange could not reach it). */
    public void forget(String runtimeId) {
        targets.remove(runtimeId);
    }

    /** Whether the session's action server answers {@code /alive} now. */
    public boolean alive(Session session) {
        try {
            return target(session.runtimeId()).map(t -> new ActionServerClient(t.server(), t.runtimeId()).isAlive())
                    .orElse(false);
        } catch (NotRunning | AgentRuntimeException e) {
            return false;
        }
    }

    /** The server's {@code idle_time} (seconds since the last action), when it answers. */
    public Optional<Double> idleSeconds(Session session) {
        try {
            Optional<Target> target = target(session.runtimeId());
            if (target.isEmpty()) {
                return Optional.empty();
            }
            String info = new ActionServerClient(target.get().server(), session.runtimeId()).serverInfo();
            com.fasterxml.jackson.databind.JsonNode idle = Json.MAPPER.readTree(info).get("idle_time");
            return idle != null && idle.isNumber() ? Optional.of(idle.asDouble()) : Optional.empty();
        } catch (NotRunning | AgentRuntimeException | java.io.IOException e) {
            log.debug("runtime {}: no idle time ({})", session.runtimeId(), e.toString());
            return Optional.empty();
        }
    }

    // ---------------------------------------------------------------------------------- pause, resume, stop ---

    public void pause(Session session) {
        targets.remove(session.runtimeId());
        if (session.status().equals("paused")) {
            return;
        }
        attach(session, Runtime::pause);
        targets.remove(session.runtimeId());
    }

    /** Thaws a paused session (attaching thaws it on Docker; other backends get an explicit resume). */
    public Target resume(Session session) {
        Target target = attach(session, runtime -> {
            if (runtime.status() == RuntimeStatus.PAUSED) {
                runtime.resume();
            }
        });
        targets.put(session.runtimeId(), target);
        return target;
    }

    /** Removes the session's sandbox. */
    public boolean stop(Session session) {
        targets.remove(session.runtimeId());
        boolean removed = housekeeping.delete(session.runtimeId());
        targets.remove(session.runtimeId());
        return removed;
    }

    private Target attach(Session session, java.util.function.Consumer<Runtime> then) {
        RuntimeConfig attach = RuntimeConfig.builder().type(config.backendType()).sessionId(session.runtimeId())
                .attachToExisting(true).keepAlive(true).startupTimeout(ATTACH_TIMEOUT)
                .sessionApiKey(signer.sessionKey(session.runtimeId())) // backends keep no key in sandbox config
                .options(config.backendOptions()).build();
        Runtime runtime = RuntimeFactory.create(attach);
        try {
            runtime.connect();
            Target target = target(session.runtimeId(), session.tenant(), runtime);
            then.accept(runtime);
            return target;
        } finally {
            runtime.close();
        }
    }

    // ------------------------------------------------------------------------------------------- labels ---

    /** An image reference as a label value: {@code _} escapes ({@code __}, {@code _s} for /, {@code _t} for :, {@code _a} for @). */
    static String label(String image) {
        StringBuilder out = new StringBuilder();
        for (char c : image.toCharArray()) {
            switch (c) {
                case '_' -> out.append("__");
                case '/' -> out.append("_s");
                case ':' -> out.append("_t");
                case '@' -> out.append("_a");
                default -> out.append(c);
            }
        }
        String encoded = out.toString();
        return encoded.matches(VALUE) ? encoded : null; // too long or odd: the image is not recorded
    }

    static String unlabel(String label) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < label.length(); i++) {
            char c = label.charAt(i);
            if (c == '_' && i + 1 < label.length()) {
                char next = label.charAt(++i);
                out.append(switch (next) {
                    case 's' -> '/';
                    case 't' -> ':';
                    case 'a' -> '@';
                    default -> next;
                });
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /**
     * Whether the backend has the image: asked of the Docker engine for the Docker backend; other backends pull
     * where they run, so an image is taken to exist (its start fails with the backend's reason if not).
     */
    public boolean imageExists(String image) {
        if (!config.backendType().equals("docker")) {
            return true;
        }
        try (dev.agentruntime.docker.internal.DockerClients.Handle docker =
                     dev.agentruntime.docker.internal.DockerClients.open(DockerRuntimeConfig.fromOptions(
                             config.backendOptions()))) {
            docker.client().inspectImageCmd(image).exec();
            return true;
        } catch (com.github.dockerjava.api.exception.NotFoundException e) {
            return false;
        } catch (RuntimeException e) {
            throw new dev.agentruntime.RuntimeUnavailableException("Cannot ask the Docker engine about image "
                    + image + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        housekeeping.close();
    }
}
