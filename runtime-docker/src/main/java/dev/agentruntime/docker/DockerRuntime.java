package dev.agentruntime.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerClientException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.Ports;
import dev.agentruntime.BackendException;
import dev.agentruntime.Capability;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.Secret;
import dev.agentruntime.docker.internal.ContainerOutput;
import dev.agentruntime.docker.internal.ContainerSpec;
import dev.agentruntime.docker.internal.DockerClients;
import dev.agentruntime.docker.internal.ImagePreparer;
import dev.agentruntime.docker.internal.Labels;
import dev.agentruntime.spi.ActionServerClient;
import dev.agentruntime.spi.ActionServerRuntime;
import dev.agentruntime.spi.PortLease;
import dev.agentruntime.spi.PortRange;
import dev.agentruntime.spi.ServerEndpoint;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.SessionLabels;
import dev.agentruntime.spi.StartupLog;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sandbox in a Docker container: any Debian/Ubuntu-based image, with our action server shipped in through a
 * locally built derived image (see {@link SandboxImage}). Usually made by {@link dev.agentruntime.RuntimeFactory}
 * for {@code type("docker")}:
 *
 * <pre>{@code
 * RuntimeConfig config = RuntimeConfig.builder()
 *         .type("docker")
 *         .backendConfig(DockerRuntimeConfig.builder().image("python:3.12-slim").build())
 *         .build();
 * try (dev.agentruntime.Runtime sandbox = RuntimeFactory.create(config)) {
 *     sandbox.connect();                                   // builds the image once, then ~1 s per sandbox
 *     System.out.println(sandbox.run("uname -a").content());
 * }
 * }</pre>
 *
 * <h2>Lifecycle</h2>
 * {@link #connect()} prepares the image (status {@code BUILDING_RUNTIME}, only the first time per base image and
 * server version), creates the container {@code <namePrefix>-<session id>} with the kit's session labels, starts it
 * and waits, against one deadline, for the server's ready line. A failure carries the container's last output lines
 * and exit code. {@link #close()} removes the container unless keep-alive is set.
 * {@link RuntimeConfig#attachToExisting()} attaches to the session's container instead (starting or un-pausing it).
 *
 * <h2>Ports</h2>
 * The server listens on {@value SandboxImage#SERVER_PORT} inside the container, VS Code's port and two application
 * ports follow. The server's port is published on the binding address (127.0.0.1 by default) to a port the daemon
 * picks, read back after the start, so concurrent sandboxes from any number of JVMs never race for a host port; the
 * other three are published the same way only with {@link DockerRuntimeConfig#publishAppPorts()} (each published
 * port starts a docker-proxy process), and {@link #webHosts()} lists the application ports that are published. With host networking, or the {@link PauseMode#STOP} pause mode
 * (which needs stable ports), host ports come from the cross-process {@link dev.agentruntime.spi.PortAllocator}.
 *
 * <h2>Nothing leaked</h2>
 * The server exits after {@link DockerRuntimeConfig#idleTimeout()} without requests, and the container (auto-removed)
 * goes with it; an open runtime sends a heartbeat, so only an abandoned sandbox (its JVM killed) times out.
 * {@link DockerSandboxes#reap()} removes containers whose owning process is gone.
 */
public final class DockerRuntime extends ActionServerRuntime {

    private static final Logger log = LoggerFactory.getLogger(DockerRuntime.class);
    private static final List<Integer> CONTAINER_PORTS = List.of(SandboxImage.SERVER_PORT, SandboxImage.VSCODE_PORT,
            SandboxImage.APP_PORT_1, SandboxImage.APP_PORT_2);
    private static final int START_ATTEMPTS = 3;

    /**
     * What this runtime knows of its container, replaced as a whole.
     *
     * @param id          the container id
     * @param createdHere created by this runtime (a failed start removes it; an attached one is left alone)
     * @param insidePorts server, VS Code, app 1, app 2 ports inside the container
     * @param hostPorts   host port by inside port, once read back after the start
     * @param python3     whether the image has python3
     * @param keyAsFile   the server reads its key from {@link ContainerSpec#KEY_FILE}, copied in before each start
     */
    private record Container(String id, boolean createdHere, Instant createdAt, List<Integer> insidePorts,
                             Map<Integer, Integer> hostPorts, boolean python3, boolean keyAsFile) {

        int serverPort() {
            return insidePorts.get(0);
        }

        Container withHostPorts(Map<Integer, Integer> ports) {
            // in the order of the inside ports: server first
            return new Container(id, createdHere, createdAt, insidePorts,
                    Collections.unmodifiableMap(new LinkedHashMap<>(ports)), python3, keyAsFile);
        }

        String shortId() {
            return id.substring(0, Math.min(12, id.length()));
        }
    }

    private final DockerRuntimeConfig docker;
    private final String containerName;
    private final Secret sessionApiKey;
    /** The key the server is started with: ours, or on attach the configured one. Set by the start hooks. */
    private volatile Secret serverKey;
    // Written by the lifecycle hooks (which the base class calls under its lifecycle lock); volatile for readers.
    private volatile DockerClients.Handle handle;
    private volatile Container container;
    /** The current attach or log stream (kept after readiness only to forward logs). */
    private volatile ContainerOutput output;

    /**
     * @throws InvalidConfigException when {@link RuntimeConfig#backendConfig()} is not a {@link DockerRuntimeConfig}
     *                                or an option is unknown or malformed
     */
    public DockerRuntime(RuntimeConfig config) {
        super(config);
        this.docker = DockerRuntimeConfig.from(config);
        this.containerName = docker.namePrefix() + "-" + config.sessionId();
        this.sessionApiKey = config.sessionApiKeyOrGenerate();
        this.serverKey = sessionApiKey;
    }

    /** The Docker settings in use. */
    public DockerRuntimeConfig dockerConfig() {
        return docker;
    }

    /** The container's name, {@code <namePrefix>-<session id>}. */
    public String containerName() {
        return containerName;
    }

    /** The container's id once created or attached. */
    public Optional<String> containerId() {
        return Optional.ofNullable(container).map(Container::id);
    }

    /**
     * Host ports by container port: the server's, plus VS Code's and the two application ports when published
     * ({@link DockerRuntimeConfig#publishAppPorts()}, or all with host networking); empty before {@link #connect()}.
     */
    public Map<Integer, Integer> publishedPorts() {
        Container current = container;
        return current == null ? Map.of() : current.hostPorts();
    }

    @Override
    public Set<Capability> capabilities() {
        EnumSet<Capability> caps = serverCapabilities();
        Container current = container;
        if (current == null || !current.python3()) {
            caps.remove(Capability.IPYTHON);
        }
        caps.addAll(EnumSet.of(Capability.PAUSE_RESUME, Capability.ATTACH, Capability.ISOLATION));
        if (docker.publishAppPorts() || docker.hostNetwork()) {
            caps.add(Capability.WEB_HOSTS); // otherwise the application ports are not reachable from the host
        }
        return Collections.unmodifiableSet(caps);
    }

    @Override
    public Map<String, Integer> webHosts() {
        Container current = container;
        if (current == null) {
            return Map.of();
        }
        Map<String, Integer> hosts = new LinkedHashMap<>();
        for (int containerPort : current.insidePorts().subList(2, 4)) {
            Integer host = current.hostPorts().get(containerPort);
            if (host != null) {
                hosts.put("http://" + connectHost() + ":" + host, containerPort);
            }
        }
        return Collections.unmodifiableMap(hosts);
    }

    // ------------------------------------------------------------------------------------------------ start ---

    @Override
    protected ServerEndpoint startSandbox(Instant deadline) {
        DockerClient client = dockerClient();
        ping(client);
        if (config.attachToExisting()) {
            return attach(client, deadline);
        }
        ImagePreparer preparer = new ImagePreparer(client, message -> setStatus(RuntimeStatus.BUILDING_RUNTIME, message));
        SandboxImage image = preparer.prepare(docker.image(), docker.pullPolicy(), deadline);
        setStatus(RuntimeStatus.STARTING_RUNTIME, "Creating container " + containerName + " from " + image.name());
        createAndStart(client, image, deadline);
        return endpoint();
    }

    private ServerEndpoint endpoint() {
        Container current = container;
        return ServerEndpoint.of(URI.create("http://" + connectHost() + ":"
                + current.hostPorts().get(current.serverPort())), serverKey);
    }

    private DockerClient dockerClient() {
        DockerClients.Handle current = handle;
        if (current == null) {
            current = DockerClients.open(docker);
            handle = current;
        }
        return current.client();
    }

    private void ping(DockerClient client) {
        try {
            client.pingCmd().exec();
        } catch (RuntimeException e) {
            throw new RuntimeUnavailableException("The Docker daemon at " + handle.dockerHost() + " does not answer ("
                    + e.getMessage() + "). Is dockerd running, and do DOCKER_HOST / the Docker context point at it?",
                    e);
        }
    }

    private void createAndStart(DockerClient client, SandboxImage image, Instant deadline) {
        boolean fixedPorts = docker.hostNetwork() || docker.pauseMode() == PauseMode.STOP;
        int daemonCpus = daemonCpus(client);
        boolean keyAsFile = docker.user().isPresent() || runsAsRoot(client, image.name());
        for (int attempt = 1; ; attempt++) {
            List<PortLease> leases = fixedPorts ? leasePorts(PortRange.EXECUTION_SERVER, PortRange.VSCODE,
                    PortRange.APP_1, PortRange.APP_2) : List.of();
            List<Integer> inside = docker.hostNetwork() ? leases.stream().map(PortLease::port).toList()
                    : CONTAINER_PORTS;
            Map<Integer, Integer> fixedHostPorts = new LinkedHashMap<>();
            for (int i = 0; i < leases.size(); i++) {
                fixedHostPorts.put(inside.get(i), leases.get(i).port());
            }
            ContainerSpec spec = new ContainerSpec(config, docker, image, containerName, sessionApiKey, inside,
                    fixedHostPorts, daemonCpus, keyAsFile);
            spec.ensureNamedVolumes(client);
            spec.ensureIsolatedNetwork(client);
            CreateContainerCmd create = spec.apply(client.createContainerCmd(image.name()));
            docker.createCustomizer().ifPresent(customizer -> customizer.accept(create));
            String id;
            try {
                id = create.exec().getId();
            } catch (ConflictException e) {
                throw new RuntimeStartupException("A container named " + containerName + " already exists, so session "
                        + config.sessionId() + " is in use. Attach to it with attachToExisting(true), choose another "
                        + "session id, or remove it with DockerSandboxes.delete(\"" + config.sessionId() + "\").", e);
            } catch (NotFoundException e) {
                throw new RuntimeStartupException("Creating container " + containerName + " failed: "
                        + e.getMessage(), e);
            }
            container = new Container(id, true, Instant.now(), inside, Map.of(), image.python3(), keyAsFile);
            log.info("sandbox {}: created container {} ({}) from {}", id(), containerName, container.shortId(),
                    image.name());
            connectNetworks(client);
            try {
                startWithOutput(client, deadline);
                readPorts(client);
                return;
            } catch (DockerException e) {
                // Daemon-assigned ports were already retried by startWithOutput; fixed ports need new leases and so
                // a new container.
                if (!fixedPorts || !portClash(e) || attempt >= START_ATTEMPTS) {
                    throw new RuntimeStartupException("Starting container " + containerName + " failed: "
                            + e.getMessage() + ". " + describeFailure(), e);
                }
                log.info("sandbox {}: host port taken at start ({}), retrying with other ports", id(), e.getMessage());
                removeContainer(client);
                releasePorts();
            }
        }
    }

    /** The daemon's CPU count by Docker host, with when it was read: {@code GET /info} is the slowest call we make. */
    private static final java.util.concurrent.ConcurrentHashMap<String, long[]> DAEMON_CPUS =
            new java.util.concurrent.ConcurrentHashMap<>();
    private static final long DAEMON_CPUS_TTL_NANOS = TimeUnit.MINUTES.toNanos(1);

    /**
     * The daemon's CPU count (the default CPU limit derives from it), read with {@code GET /info} at most once a
     * minute per Docker host. {@code /info} walks the daemon's containers, images and storage driver: 0.37-0.62 s
     * measured on a busy 2-core machine, against 1-60 ms for the other calls of a start; it was made on every create.
     */
    private int daemonCpus(DockerClient client) {
        String key = String.valueOf(handle == null ? null : handle.dockerHost());
        long[] cached = DAEMON_CPUS.get(key);
        long now = System.nanoTime();
        if (cached != null && now - cached[1] < DAEMON_CPUS_TTL_NANOS) {
            return (int) cached[0];
        }
        int cpus = Math.max(1, Optional.ofNullable(client.infoCmd().exec().getNCPU()).orElse(1));
        DAEMON_CPUS.put(key, new long[] {cpus, now});
        return cpus;
    }

    /** Whether the image's own user is root: then a root-owned 0600 key file is readable by the server. */
    private static boolean runsAsRoot(DockerClient client, String image) {
        String user = Optional.ofNullable(client.inspectImageCmd(image).exec().getConfig())
                .map(c -> c.getUser()).orElse("");
        String name = user.contains(":") ? user.substring(0, user.indexOf(':')) : user;
        return name.isEmpty() || name.equals("root") || name.equals("0");
    }

    private static boolean portClash(DockerException e) {
        String message = String.valueOf(e.getMessage());
        return message.contains("port is already allocated") || message.contains("address already in use");
    }

    private void connectNetworks(DockerClient client) {
        for (String network : docker.networks()) {
            try {
                client.connectToNetworkCmd().withContainerId(container.id()).withNetworkId(network).exec();
            } catch (NotFoundException e) {
                throw new RuntimeStartupException("Network '" + network + "' does not exist on the Docker daemon. "
                        + "Create it with 'docker network create " + network + "' or remove it from networks.", e);
            }
        }
    }

    /** Attaches to the container's output (before starting it, so nothing is missed), then starts it. */
    private void startWithOutput(DockerClient client, Instant deadline) {
        ContainerOutput fresh = follow(client, true);
        if (container.keyAsFile()) {
            // the server deletes it once read, so it is put there again before every start
            client.copyArchiveToContainerCmd(container.id()).withRemotePath(SandboxImage.HOME)
                    .withTarInputStream(new java.io.ByteArrayInputStream(ContainerSpec.keyArchive(serverKey))).exec();
        }
        for (int attempt = 1; ; attempt++) {
            try {
                client.startContainerCmd(container.id()).exec();
                return;
            } catch (DockerException e) {
                // With daemon-assigned ports a clash means an unrelated program took the port the daemon picked:
                // starting again makes the daemon pick another.
                boolean dynamic = !docker.hostNetwork() && docker.pauseMode() != PauseMode.STOP;
                if (!dynamic || !portClash(e) || attempt >= START_ATTEMPTS || Instant.now().isAfter(deadline)) {
                    fresh.close();
                    throw e;
                }
                log.info("sandbox {}: host port taken at start ({}), starting again", id(), e.getMessage());
            }
        }
    }

    /**
     * Streams the container's output into a new startup log: from an attach before a start ({@code fromStart}, the
     * ready line is then awaited), or by following the log of a running container.
     */
    private ContainerOutput follow(DockerClient client, boolean fromStart) {
        ContainerOutput previous = output;
        if (previous != null) {
            previous.close();
        }
        org.slf4j.Logger forward = docker.forwardLogs()
                ? LoggerFactory.getLogger("dev.agentruntime.docker.sandbox." + config.sessionId()) : null;
        StartupLog startupLog = useStartupLog(new StartupLog(forward == null ? null : line -> forward.debug("{}", line)));
        ContainerOutput fresh = new ContainerOutput(startupLog, "agent-runtime-docker-logs-" + config.sessionId(),
                fromStart);
        output = fresh;
        if (fromStart) {
            client.attachContainerCmd(container.id()).withStdOut(true).withStdErr(true).withFollowStream(true)
                    .withLogs(true).exec(fresh);
        } else {
            client.logContainerCmd(container.id()).withStdOut(true).withStdErr(true).withFollowStream(true)
                    .withTail(0).exec(fresh);
        }
        return fresh;
    }

    private void readPorts(DockerClient client) {
        Container current = container;
        if (docker.hostNetwork()) {
            Map<Integer, Integer> same = new LinkedHashMap<>();
            current.insidePorts().forEach(p -> same.put(p, p));
            container = current.withHostPorts(same);
            return;
        }
        InspectContainerResponse info;
        try {
            info = client.inspectContainerCmd(current.id()).exec();
        } catch (NotFoundException e) {
            throw new RuntimeStartupException("Container " + containerName + " disappeared right after it started"
                    + " (it exited and was auto-removed). " + describeFailure(), e);
        }
        Map<ExposedPort, Ports.Binding[]> bindings = info.getNetworkSettings() == null
                || info.getNetworkSettings().getPorts() == null ? Map.of()
                : info.getNetworkSettings().getPorts().getBindings();
        Map<Integer, Integer> ports = new LinkedHashMap<>();
        for (int inside : current.insidePorts()) {
            Ports.Binding[] bound = bindings.get(ExposedPort.tcp(inside));
            if (bound != null && bound.length > 0 && bound[0].getHostPortSpec() != null
                    && !bound[0].getHostPortSpec().isEmpty()) {
                ports.put(inside, Integer.parseInt(bound[0].getHostPortSpec()));
            }
        }
        if (!ports.containsKey(current.serverPort())) {
            throw new RuntimeStartupException("Container " + containerName + " runs but its server port "
                    + current.serverPort() + " was not published (state " + info.getState().getStatus() + "). "
                    + describeFailure());
        }
        container = current.withHostPorts(ports);
        log.info("sandbox {}: container {} publishes {} on {}", id(), containerName, ports, docker.bindAddress());
    }

    /** Where the host reaches published ports: the daemon's host for a TCP daemon, else the binding address. */
    private String connectHost() {
        DockerClients.Handle current = handle;
        URI host = current == null ? null : current.dockerHost();
        if (host != null && host.getHost() != null && List.of("tcp", "http", "https").contains(host.getScheme())
                && !docker.hostNetwork()) {
            return host.getHost();
        }
        String bind = docker.bindAddress();
        if (docker.hostNetwork() || bind.equals("0.0.0.0")) {
            return "127.0.0.1";
        }
        if (bind.equals("::")) {
            return "[::1]";
        }
        return bind.contains(":") && !bind.startsWith("[") ? "[" + bind + "]" : bind;
    }

    // ----------------------------------------------------------------------------------------------- attach ---

    private ServerEndpoint attach(DockerClient client, Instant deadline) {
        InspectContainerResponse info;
        try {
            info = client.inspectContainerCmd(containerName).exec();
        } catch (NotFoundException e) {
            throw new RuntimeNotFoundException("No sandbox to attach to for session " + config.sessionId()
                    + ": there is no container named " + containerName + " on the Docker daemon at "
                    + handle.dockerHost() + ". It was removed (closed without keep-alive, idle timeout, reaped) or "
                    + "never created; connect without attachToExisting to create one.", e);
        }
        Map<String, String> labels = info.getConfig().getLabels() == null ? Map.of() : info.getConfig().getLabels();
        if (SessionLabels.parse(labels).filter(l -> l.sessionId().equals(config.sessionId())).isEmpty()) {
            throw new RuntimeNotFoundException("Container " + containerName + " exists but was not created by "
                    + "agent-runtime for session " + config.sessionId() + " (labels " + labels.keySet()
                    + "); refusing to attach to it.");
        }
        Map<String, String> env = new LinkedHashMap<>();
        for (String entry : info.getConfig().getEnv() == null ? new String[0] : info.getConfig().getEnv()) {
            int eq = entry.indexOf('=');
            if (eq > 0) {
                env.put(entry.substring(0, eq), entry.substring(eq + 1));
            }
        }
        List<Integer> inside = new ArrayList<>();
        for (String name : List.of(ServerLaunch.ENV_SERVER_PORT, ServerLaunch.ENV_VSCODE_PORT,
                ServerLaunch.ENV_APP_PORT_1, ServerLaunch.ENV_APP_PORT_2)) {
            inside.add(Integer.parseInt(env.getOrDefault(name, "0")));
        }
        Optional<Secret> inEnvironment = Optional.ofNullable(env.get(ServerLaunch.ENV_SESSION_API_KEY))
                .filter(k -> !k.isEmpty()).map(Secret::of); // containers made before the key left the environment
        boolean running = Boolean.TRUE.equals(info.getState().getRunning());
        if (running && inEnvironment.isEmpty() && config.sessionApiKey().isEmpty()) {
            throw new InvalidConfigException("Attaching to the running sandbox " + containerName + " needs its session"
                    + " API key, which is kept in no container config: set RuntimeConfig.sessionApiKey to the key it"
                    + " was created with.");
        }
        serverKey = config.sessionApiKey().or(() -> inEnvironment).orElse(sessionApiKey);
        container = new Container(info.getId(), false, Instant.now(), List.copyOf(inside), Map.of(),
                "true".equals(labels.get(Labels.PYTHON3)), inEnvironment.isEmpty());
        String status = info.getState().getStatus();
        log.info("sandbox {}: attaching to container {} ({}), state {}", id(), containerName, container.shortId(),
                status);
        if (Boolean.TRUE.equals(info.getState().getPaused())) {
            client.unpauseContainerCmd(container.id()).exec();
        } else if (Boolean.TRUE.equals(info.getState().getRunning())) {
            if (docker.forwardLogs()) {
                follow(client, false);
            }
        } else {
            setStatus(RuntimeStatus.STARTING_RUNTIME, "Starting stopped container " + containerName);
            try {
                startWithOutput(client, deadline);
            } catch (DockerException e) {
                throw new RuntimeStartupException("Starting the existing container " + containerName + " failed: "
                        + e.getMessage() + ". " + describeFailure(), e);
            }
        }
        if (env.containsKey(ContainerSpec.ENV_HOST_NETWORK)) {
            Map<Integer, Integer> same = new LinkedHashMap<>();
            inside.forEach(p -> same.put(p, p));
            container = container.withHostPorts(same);
        } else {
            readPorts(client);
        }
        Container current = container;
        return ServerEndpoint.of(URI.create("http://" + connectHost() + ":"
                + current.hostPorts().get(current.serverPort())), serverKey);
    }

    // ------------------------------------------------------------------------------------------------ ready ---

    /** The ready line when the container was started here (an event), then {@code /alive} through the proxy. */
    @Override
    protected void awaitReady(ActionServerClient client, Instant deadline) {
        ContainerOutput current = output;
        if (current != null && current.fromStart()) {
            awaitReadyLine(deadline);
        }
        client.awaitAlive(deadline, this::sandboxRunning, this::describeFailure);
    }

    /** The output stream was only needed for the ready line and startup diagnostics, unless logs are forwarded. */
    @Override
    protected void onReady(ActionServerClient client) {
        ContainerOutput current = output;
        if (current != null && !docker.forwardLogs()) {
            output = null;
            current.close();
        }
    }

    @Override
    protected Duration heartbeatInterval() {
        Duration idle = docker.idleTimeout();
        return idle.isZero() ? Duration.ZERO : Duration.ofMillis(Math.max(500, Math.min(60_000, idle.toMillis() / 3)));
    }

    @Override
    protected boolean sandboxRunning() {
        ContainerOutput current = output;
        if (current != null && current.fromStart() && current.log().ended().isDone()
                && !current.log().ready().isDone()) {
            return false;
        }
        Container known = container;
        DockerClients.Handle h = handle;
        if (known == null || h == null) {
            return true;
        }
        try {
            InspectContainerResponse.ContainerState s = h.client().inspectContainerCmd(known.id()).exec().getState();
            return Boolean.TRUE.equals(s.getRunning());
        } catch (NotFoundException e) {
            return false;
        } catch (RuntimeException e) {
            return true; // the daemon hiccuped: keep waiting until the deadline
        }
    }

    @Override
    protected String failureContext() {
        Container known = container;
        if (known == null) {
            return "";
        }
        StringBuilder text = new StringBuilder("Container ").append(containerName).append(" (")
                .append(known.shortId()).append(")");
        DockerClients.Handle current = handle;
        if (current != null) {
            try {
                InspectContainerResponse.ContainerState s = current.client().inspectContainerCmd(known.id()).exec()
                        .getState();
                text.append(" is ").append(s.getStatus());
                if (!Boolean.TRUE.equals(s.getRunning())) {
                    text.append(", exit code ").append(s.getExitCodeLong());
                    if (Boolean.TRUE.equals(s.getOOMKilled())) {
                        text.append(" (killed: out of memory)");
                    }
                    if (s.getError() != null && !s.getError().isEmpty()) {
                        text.append(", error: ").append(s.getError());
                    }
                }
                startupLog().filter(l -> l.lastLines().isEmpty())
                        .ifPresent(empty -> tailLogs(current.client(), known.id()).forEach(empty::line));
            } catch (NotFoundException e) {
                text.append(" is gone (auto-removed after it exited");
                exitCodeFromEvents(current.client(), known).ifPresent(code -> text.append(", exit code ").append(code));
                text.append(')');
            } catch (RuntimeException e) {
                text.append(" could not be inspected: ").append(e.getMessage());
            }
        }
        return text.append('.').toString();
    }

    private static List<String> tailLogs(DockerClient client, String id) {
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        try {
            client.logContainerCmd(id).withStdOut(true).withStdErr(true).withTail(StartupLog.KEPT_LINES)
                    .exec(new ResultCallback.Adapter<Frame>() {
                        @Override
                        public void onNext(Frame frame) {
                            for (String line : new String(frame.getPayload(), StandardCharsets.UTF_8).split("\n")) {
                                lines.add(line.stripTrailing());
                            }
                        }
                    }).awaitCompletion(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // best effort diagnostics
        }
        return lines;
    }

    private Optional<String> exitCodeFromEvents(DockerClient client, Container known) {
        Instant since = known.createdAt().minusSeconds(1);
        List<String> codes = Collections.synchronizedList(new ArrayList<>());
        try {
            client.eventsCmd().withContainerFilter(known.id()).withEventFilter("die")
                    .withSince(Long.toString(since.getEpochSecond()))
                    .withUntil(Long.toString(Instant.now().getEpochSecond() + 1))
                    .exec(new ResultCallback.Adapter<Event>() {
                        @Override
                        public void onNext(Event event) {
                            if (event.getActor() != null && event.getActor().getAttributes() != null) {
                                String code = event.getActor().getAttributes().get("exitCode");
                                if (code != null) {
                                    codes.add(code);
                                }
                            }
                        }
                    }).awaitCompletion(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // best effort diagnostics
        }
        return codes.isEmpty() ? Optional.empty() : Optional.of(codes.get(codes.size() - 1));
    }

    // -------------------------------------------------------------------------------------- pause / resume ---

    /**
     * Freezes the container ({@link PauseMode#FREEZE}, processes kept) or stops it ({@link PauseMode#STOP}).
     * Keep pauses in FREEZE mode shorter than the idle timeout: the server counts frozen time as idle time.
     */
    @Override
    protected void pauseSandbox() {
        Container known = container;
        try {
            if (docker.pauseMode() == PauseMode.FREEZE) {
                handle.client().pauseContainerCmd(known.id()).exec();
            } else {
                handle.client().stopContainerCmd(known.id()).withTimeout(10).exec();
            }
        } catch (NotFoundException e) {
            throw new RuntimeDisconnectedException("Sandbox " + id() + ": container " + containerName
                    + " no longer exists, so it cannot pause.", e);
        } catch (DockerException e) {
            throw new BackendException("Pausing container " + containerName + " (" + docker.pauseMode()
                    + ") failed: " + e.getMessage(), e);
        }
    }

    /** Thaws or restarts the container; the base class then waits until its server answers again. */
    @Override
    protected Optional<ServerEndpoint> resumeSandbox(Instant deadline) {
        Container known = container;
        DockerClient client = handle.client();
        try {
            if (docker.pauseMode() == PauseMode.FREEZE) {
                client.unpauseContainerCmd(known.id()).exec();
            } else {
                startWithOutput(client, deadline); // fixed ports: the endpoint stays where it was
            }
        } catch (NotFoundException e) {
            throw new RuntimeDisconnectedException("Sandbox " + id() + ": container " + containerName
                    + " no longer exists, so it cannot resume.", e);
        } catch (DockerException e) {
            throw new BackendException("Resuming container " + containerName + " failed: " + e.getMessage()
                    + (docker.pauseMode() == PauseMode.FREEZE ? " (a pause longer than the idle timeout "
                    + docker.idleTimeout() + " ends the server)" : "") + ". " + describeFailure(), e);
        }
        return Optional.empty();
    }

    // ------------------------------------------------------------------------------------------------- stop ---

    @Override
    protected void stopSandbox() {
        ContainerOutput current = output;
        output = null;
        if (current != null) {
            current.close();
        }
        DockerClients.Handle h = handle;
        Container known = container;
        try {
            if (known != null && h != null) {
                boolean failedStart = !isClosed();
                if (failedStart ? known.createdHere() : !config.keepAlive()) {
                    removeContainer(h.client());
                } else if (config.keepAlive()) {
                    log.info("sandbox {}: keep-alive: container {} left {}", id(), containerName,
                            status() == RuntimeStatus.PAUSED ? "paused" : "running");
                }
            }
        } finally {
            container = null;
            handle = null;
            if (h != null) {
                h.close();
            }
        }
    }

    private void removeContainer(DockerClient client) {
        Container known = container;
        if (known == null) {
            return;
        }
        try {
            client.removeContainerCmd(known.id()).withForce(true).withRemoveVolumes(false).exec();
            log.info("sandbox {}: removed container {} ({})", id(), containerName, known.shortId());
        } catch (NotFoundException e) {
            log.debug("sandbox {}: container {} was already gone", id(), containerName);
        } catch (ConflictException e) {
            // "removal already in progress": auto-remove got there first
            log.debug("sandbox {}: container {} is being removed already", id(), containerName);
        } catch (DockerException | DockerClientException e) {
            log.warn("sandbox {}: removing container {} failed: {}. Remove it with DockerSandboxes.delete(\"{}\")",
                    id(), containerName, e.getMessage(), config.sessionId());
        }
    }

    @Override
    public String toString() {
        return "DockerRuntime[" + id() + ", container=" + containerName + ", status=" + status() + "]";
    }
}
