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
import com.github.dockerjava.api.model.Ports;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendException;
import dev.agentruntime.Capability;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.PortAllocator;
import dev.agentruntime.PortLease;
import dev.agentruntime.PortRange;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.docker.internal.ContainerOutput;
import dev.agentruntime.docker.internal.ContainerSpec;
import dev.agentruntime.docker.internal.DockerClients;
import dev.agentruntime.docker.internal.ImagePreparer;
import dev.agentruntime.docker.internal.Labels;
import dev.agentruntime.spi.ActionServerClient;
import dev.agentruntime.spi.ActionServerRuntime;
import java.net.URI;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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
 * server version), creates the container {@code <namePrefix>-<session id>} with labels naming this process as its
 * owner, starts it and waits, against one deadline, for the server's ready line. A failure carries the container's
 * last output lines and exit code. {@link #close()} removes the container unless keep-alive is set.
 * {@link RuntimeConfig#attachToExisting()} attaches to the session's container instead (starting or un-pausing it).
 *
 * <h2>Ports</h2>
 * The server listens on {@value SandboxImage#SERVER_PORT} inside the container, VS Code's port and two application
 * ports follow; all four are published on the binding address (127.0.0.1 by default) to ports the daemon picks, read
 * back after the start, so concurrent sandboxes from any number of JVMs never race for a host port.
 * {@link #webHosts()} lists the application ports. With host networking, or the {@link PauseMode#STOP} pause mode
 * (which needs stable ports), host ports come from the cross-process {@link PortAllocator}.
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

    private final DockerRuntimeConfig docker;
    private final String containerName;
    private final Object state = new Object();

    // guarded by state; volatile for readers outside it
    private volatile DockerClients.Handle handle;
    private volatile String containerId;
    private volatile boolean createdHere;
    private volatile boolean started;
    private volatile ContainerOutput output;
    private volatile Map<Integer, Integer> hostPorts = Map.of();
    private volatile int serverPort = SandboxImage.SERVER_PORT;
    private volatile List<Integer> insidePorts = CONTAINER_PORTS;
    private volatile boolean expectReadyLine;
    private volatile String sessionApiKey;
    private volatile Boolean python3;
    private volatile boolean paused;
    private volatile Instant createdAt;
    private List<PortLease> leases = List.of();
    private ScheduledExecutorService heartbeat;
    private volatile ActionServerClient heartbeatClient;

    /**
     * @throws InvalidConfigException when {@link RuntimeConfig#backendConfig()} is not a {@link DockerRuntimeConfig}
     *                                or an option is unknown or malformed
     */
    public DockerRuntime(RuntimeConfig config) {
        super(config);
        this.docker = dockerConfig(config);
        this.containerName = docker.namePrefix() + "-" + config.sessionId();
        this.sessionApiKey = config.sessionApiKeyOr(RuntimeConfig::randomKey);
    }

    /** The typed Docker settings of {@code config}: its backend config, or its options converted. */
    static DockerRuntimeConfig dockerConfig(RuntimeConfig config) {
        if (config.backendConfig().isPresent()) {
            if (config.backendConfig().get() instanceof DockerRuntimeConfig typed) {
                if (!config.options().isEmpty()) {
                    throw new InvalidConfigException("Runtime " + config.sessionId() + " has both a "
                            + "DockerRuntimeConfig and string options " + config.options().keySet()
                            + "; put everything in the DockerRuntimeConfig");
                }
                return typed;
            }
            throw new InvalidConfigException("The docker runtime needs a DockerRuntimeConfig as backendConfig, got "
                    + config.backendConfig().get().getClass().getName());
        }
        return DockerRuntimeConfig.fromOptions(config.options());
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
        return Optional.ofNullable(containerId);
    }

    /** Host ports by container port (server, VS Code, two application ports); empty before {@link #connect()}. */
    public Map<Integer, Integer> publishedPorts() {
        return hostPorts;
    }

    @Override
    public Set<Capability> capabilities() {
        EnumSet<Capability> caps = serverCapabilities();
        if (!Boolean.TRUE.equals(python3)) {
            caps.remove(Capability.IPYTHON);
        }
        caps.addAll(EnumSet.of(Capability.WEB_HOSTS, Capability.PAUSE_RESUME, Capability.ATTACH,
                Capability.ISOLATION));
        return Collections.unmodifiableSet(caps);
    }

    @Override
    public Map<String, Integer> webHosts() {
        Map<Integer, Integer> ports = hostPorts;
        Map<String, Integer> hosts = new LinkedHashMap<>();
        for (int containerPort : List.of(appPort(1), appPort(2))) {
            Integer host = ports.get(containerPort);
            if (host != null) {
                hosts.put("http://" + connectHost() + ":" + host, containerPort);
            }
        }
        return Collections.unmodifiableMap(hosts);
    }

    private int appPort(int which) {
        return insidePorts.get(1 + which);
    }

    // ------------------------------------------------------------------------------------------------ start ---

    @Override
    protected ServerEndpoint startSandbox(Instant deadline) {
        synchronized (state) {
            DockerClient client = dockerClient();
            ping(client);
            if (config.attachToExisting()) {
                return attach(client, deadline);
            }
            ImagePreparer preparer = new ImagePreparer(client,
                    message -> setStatus(RuntimeStatus.BUILDING_RUNTIME, message));
            SandboxImage image = preparer.prepare(docker.image(), docker.pullPolicy(), deadline);
            python3 = image.python3();
            setStatus(RuntimeStatus.STARTING_RUNTIME, "Creating container " + containerName + " from " + image.name());
            createAndStart(client, image, deadline);
            return new ServerEndpoint(URI.create("http://" + connectHost() + ":" + hostPorts.get(serverPort)),
                    sessionApiKey);
        }
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
        for (int attempt = 1; ; attempt++) {
            if (fixedPorts) {
                leases = PortAllocator.defaults().allocate(PortRange.EXECUTION_SERVER, PortRange.VSCODE,
                        PortRange.APP_1, PortRange.APP_2);
            }
            List<Integer> inside = docker.hostNetwork() ? leases.stream().map(PortLease::port).toList()
                    : CONTAINER_PORTS;
            insidePorts = inside;
            serverPort = inside.get(0);
            Map<Integer, Integer> fixedHostPorts = new LinkedHashMap<>();
            if (fixedPorts) {
                for (int i = 0; i < inside.size(); i++) {
                    fixedHostPorts.put(inside.get(i), leases.get(i).port());
                }
            }
            ContainerSpec spec = new ContainerSpec(config, docker, image, containerName, sessionApiKey, inside,
                    fixedHostPorts);
            spec.ensureNamedVolumes(client);
            CreateContainerCmd create = spec.apply(client.createContainerCmd(image.name()));
            docker.createCustomizer().ifPresent(customizer -> customizer.accept(create));
            try {
                containerId = create.exec().getId();
            } catch (ConflictException e) {
                throw new RuntimeStartupException("A container named " + containerName + " already exists, so session "
                        + config.sessionId() + " is in use. Attach to it with attachToExisting(true), choose another "
                        + "session id, or remove it with DockerSandboxes.delete(\"" + config.sessionId() + "\").", e);
            } catch (NotFoundException e) {
                throw new RuntimeStartupException("Creating container " + containerName + " failed: "
                        + e.getMessage(), e);
            }
            createdHere = true;
            createdAt = Instant.now();
            log.info("sandbox {}: created container {} ({}) from {}", id(), containerName, shortId(), image.name());
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
                releaseLeases();
            }
        }
    }

    private static boolean portClash(DockerException e) {
        String message = String.valueOf(e.getMessage());
        return message.contains("port is already allocated") || message.contains("address already in use");
    }

    private void connectNetworks(DockerClient client) {
        for (String network : docker.networks()) {
            try {
                client.connectToNetworkCmd().withContainerId(containerId).withNetworkId(network).exec();
            } catch (NotFoundException e) {
                throw new RuntimeStartupException("Network '" + network + "' does not exist on the Docker daemon. "
                        + "Create it with 'docker network create " + network + "' or remove it from networks.", e);
            }
        }
    }

    /** Attaches to the container's output (before starting it, so nothing is missed), then starts it. */
    private void startWithOutput(DockerClient client, Instant deadline) {
        ContainerOutput previous = output;
        if (previous != null) {
            previous.close();
        }
        ContainerOutput fresh = new ContainerOutput(SandboxImage.READY_LINE_PREFIX, forwardLogger(),
                "agent-runtime-docker-logs-" + config.sessionId());
        output = fresh;
        expectReadyLine = true;
        client.attachContainerCmd(containerId).withStdOut(true).withStdErr(true).withFollowStream(true)
                .withLogs(true).exec(fresh);
        for (int attempt = 1; ; attempt++) {
            try {
                client.startContainerCmd(containerId).exec();
                started = true;
                return;
            } catch (DockerException e) {
                // With daemon-assigned ports a clash means an unrelated program took the port the daemon picked:
                // starting again makes the daemon pick another.
                boolean dynamic = !docker.hostNetwork() && docker.pauseMode() != PauseMode.STOP;
                if (!dynamic || !portClash(e) || attempt >= START_ATTEMPTS || Instant.now().isAfter(deadline)) {
                    throw e;
                }
                log.info("sandbox {}: host port taken at start ({}), starting again", id(), e.getMessage());
            }
        }
    }

    private org.slf4j.Logger forwardLogger() {
        return docker.forwardLogs() ? LoggerFactory.getLogger("dev.agentruntime.docker.sandbox." + config.sessionId())
                : null;
    }

    private void readPorts(DockerClient client) {
        if (docker.hostNetwork()) {
            Map<Integer, Integer> same = new LinkedHashMap<>();
            insidePorts.forEach(p -> same.put(p, p));
            hostPorts = Collections.unmodifiableMap(same);
            return;
        }
        InspectContainerResponse info;
        try {
            info = client.inspectContainerCmd(containerId).exec();
        } catch (NotFoundException e) {
            throw new RuntimeStartupException("Container " + containerName + " disappeared right after it started"
                    + " (it exited and was auto-removed). " + describeFailure(), e);
        }
        Map<ExposedPort, Ports.Binding[]> bindings = info.getNetworkSettings() == null
                || info.getNetworkSettings().getPorts() == null ? Map.of()
                : info.getNetworkSettings().getPorts().getBindings();
        Map<Integer, Integer> ports = new LinkedHashMap<>();
        for (int inside : insidePorts) {
            Ports.Binding[] bound = bindings.get(ExposedPort.tcp(inside));
            if (bound != null && bound.length > 0 && bound[0].getHostPortSpec() != null
                    && !bound[0].getHostPortSpec().isEmpty()) {
                ports.put(inside, Integer.parseInt(bound[0].getHostPortSpec()));
            }
        }
        if (!ports.containsKey(serverPort)) {
            throw new RuntimeStartupException("Container " + containerName + " runs but its server port " + serverPort
                    + " was not published (state " + info.getState().getStatus() + "). " + describeFailure());
        }
        hostPorts = Collections.unmodifiableMap(ports);
        log.info("sandbox {}: container {} publishes {} on {}", id(), containerName, hostPorts, docker.bindAddress());
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
        if (!Labels.MANAGED_BY_VALUE.equals(labels.get(Labels.MANAGED_BY))
                || !config.sessionId().equals(labels.get(Labels.SESSION_ID))) {
            throw new RuntimeNotFoundException("Container " + containerName + " exists but was not created by "
                    + "agent-runtime for session " + config.sessionId() + " (labels " + labels.keySet()
                    + "); refusing to attach to it.");
        }
        containerId = info.getId();
        createdHere = false;
        python3 = "true".equals(labels.get(Labels.PYTHON3));
        Map<String, String> env = new LinkedHashMap<>();
        for (String entry : info.getConfig().getEnv() == null ? new String[0] : info.getConfig().getEnv()) {
            int eq = entry.indexOf('=');
            if (eq > 0) {
                env.put(entry.substring(0, eq), entry.substring(eq + 1));
            }
        }
        sessionApiKey = env.getOrDefault(ContainerSpec.ENV_SESSION_API_KEY, sessionApiKey);
        serverPort = Integer.parseInt(env.getOrDefault(ContainerSpec.ENV_SERVER_PORT,
                Integer.toString(SandboxImage.SERVER_PORT)));
        String status = info.getState().getStatus();
        log.info("sandbox {}: attaching to container {} ({}), state {}", id(), containerName, shortId(), status);
        if (Boolean.TRUE.equals(info.getState().getPaused())) {
            client.unpauseContainerCmd(containerId).exec();
            started = true;
        } else if (Boolean.TRUE.equals(info.getState().getRunning())) {
            started = true;
            if (docker.forwardLogs()) {
                followLogs(client);
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
        List<Integer> inside = new ArrayList<>();
        for (String name : List.of(ContainerSpec.ENV_SERVER_PORT, ContainerSpec.ENV_VSCODE_PORT,
                ContainerSpec.ENV_APP_PORT_1, ContainerSpec.ENV_APP_PORT_2)) {
            inside.add(Integer.parseInt(env.getOrDefault(name, "0")));
        }
        insidePorts = List.copyOf(inside);
        if (env.containsKey(ContainerSpec.ENV_HOST_NETWORK)) {
            Map<Integer, Integer> same = new LinkedHashMap<>();
            inside.forEach(p -> same.put(p, p));
            hostPorts = Collections.unmodifiableMap(same);
        } else {
            readPorts(client);
        }
        return new ServerEndpoint(URI.create("http://" + connectHost() + ":" + hostPorts.get(serverPort)),
                sessionApiKey);
    }

    private void followLogs(DockerClient client) {
        ContainerOutput fresh = new ContainerOutput(SandboxImage.READY_LINE_PREFIX, forwardLogger(),
                "agent-runtime-docker-logs-" + config.sessionId());
        output = fresh;
        expectReadyLine = false;
        client.logContainerCmd(containerId).withStdOut(true).withStdErr(true).withFollowStream(true).withTail(0)
                .exec(fresh);
    }

    // ------------------------------------------------------------------------------------------------ ready ---

    @Override
    protected void awaitReady(ActionServerClient client, Instant deadline) {
        ContainerOutput current = output;
        if (current != null && expectReadyLine) {
            awaitReadyLine(current, deadline);
        }
        client.awaitAlive(deadline, this::sandboxRunning, this::describeFailure);
        if (current != null && !docker.forwardLogs()) {
            current.close(); // only needed for the ready line and startup diagnostics
            expectReadyLine = false;
        }
        startHeartbeat(client);
    }

    private void awaitReadyLine(ContainerOutput current, Instant deadline) {
        CompletableFuture<Object> first = CompletableFuture.anyOf(current.ready(), current.ended(), current.fatal());
        try {
            first.get(Math.max(0, Duration.between(Instant.now(), deadline).toMillis()), TimeUnit.MILLISECONDS);
            if (!current.ready().isDone() && current.fatal().isDone()) {
                // the uncaught exception's stack trace follows its first line: let it arrive for the message
                current.ended().get(500, TimeUnit.MILLISECONDS);
            }
        } catch (TimeoutException e) {
            if (current.fatal().isDone()) {
                throw new RuntimeStartupException("Sandbox " + id() + ": the server in container " + containerName
                        + " failed before it was ready. " + describeFailure());
            }
            throw new RuntimeTimeoutException("Sandbox " + id() + ": the server in container " + containerName
                    + " did not report ready before the startup deadline. " + describeFailure());
        } catch (ExecutionException e) {
            throw new RuntimeStartupException("Sandbox " + id() + ": reading the output of container "
                    + containerName + " failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeStartupException("Interrupted while waiting for container " + containerName, e);
        }
        if (!current.ready().isDone()) {
            throw new RuntimeStartupException("Sandbox " + id() + ": container " + containerName
                    + (current.fatal().isDone() ? " failed before its server was ready. "
                    : " stopped before its server was ready. ") + describeFailure());
        }
    }

    @Override
    protected boolean sandboxRunning() {
        ContainerOutput current = output;
        if (current != null && expectReadyLine && current.ended().isDone() && !current.ready().isDone()) {
            return false;
        }
        String id = containerId;
        if (id == null || handle == null) {
            return true;
        }
        try {
            InspectContainerResponse.ContainerState s = handle.client().inspectContainerCmd(id).exec().getState();
            return Boolean.TRUE.equals(s.getRunning());
        } catch (NotFoundException e) {
            return false;
        } catch (RuntimeException e) {
            return true; // the daemon hiccuped: keep waiting until the deadline
        }
    }

    @Override
    protected String describeFailure() {
        String id = containerId;
        if (id == null) {
            return "";
        }
        StringBuilder text = new StringBuilder("Container ").append(containerName).append(" (")
                .append(shortId()).append(")");
        DockerClients.Handle current = handle;
        List<String> lines = output == null ? List.of() : output.lastLines();
        if (current != null) {
            try {
                InspectContainerResponse.ContainerState s = current.client().inspectContainerCmd(id).exec().getState();
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
                if (lines.isEmpty()) {
                    lines = tailLogs(current.client(), id);
                }
            } catch (NotFoundException e) {
                text.append(" is gone (auto-removed after it exited");
                exitCodeFromEvents(current.client(), id).ifPresent(code -> text.append(", exit code ").append(code));
                text.append(')');
            } catch (RuntimeException e) {
                text.append(" could not be inspected: ").append(e.getMessage());
            }
        }
        text.append('.');
        if (lines.isEmpty()) {
            text.append(" It printed nothing.");
        } else {
            text.append(" Last output lines:\n  ").append(String.join("\n  ", lines));
        }
        return text.toString();
    }

    private static List<String> tailLogs(DockerClient client, String id) {
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        try {
            client.logContainerCmd(id).withStdOut(true).withStdErr(true).withTail(40)
                    .exec(new ResultCallback.Adapter<com.github.dockerjava.api.model.Frame>() {
                        @Override
                        public void onNext(com.github.dockerjava.api.model.Frame frame) {
                            for (String line : new String(frame.getPayload(), java.nio.charset.StandardCharsets.UTF_8)
                                    .split("\n")) {
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

    private Optional<String> exitCodeFromEvents(DockerClient client, String id) {
        Instant since = createdAt == null ? Instant.now().minusSeconds(600) : createdAt.minusSeconds(1);
        List<String> codes = Collections.synchronizedList(new ArrayList<>());
        try {
            client.eventsCmd().withContainerFilter(id).withEventFilter("die")
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

    // ------------------------------------------------------------------------------------------- heartbeat ---

    private void startHeartbeat(ActionServerClient client) {
        Duration idle = docker.idleTimeout();
        if (idle.isZero()) {
            return;
        }
        synchronized (state) {
            heartbeatClient = client;
            if (heartbeat != null) {
                return;
            }
            long period = Math.max(500, Math.min(60_000, idle.toMillis() / 3));
            String name = "agent-runtime-docker-heartbeat-" + config.sessionId();
            heartbeat = Executors.newSingleThreadScheduledExecutor(task -> {
                Thread thread = new Thread(task, name);
                thread.setDaemon(true);
                return thread;
            });
            heartbeat.scheduleWithFixedDelay(this::beat, period, period, TimeUnit.MILLISECONDS);
        }
    }

    private void beat() {
        ActionServerClient client = heartbeatClient;
        if (client == null || paused || isClosed()) {
            return;
        }
        try {
            if (!client.isAlive()) {
                log.debug("sandbox {}: heartbeat got no answer", id());
            }
        } catch (RuntimeException e) {
            log.debug("sandbox {}: heartbeat failed: {}", id(), e.toString());
        }
    }

    private void stopHeartbeat() {
        ScheduledExecutorService current = heartbeat;
        heartbeat = null;
        heartbeatClient = null;
        if (current != null) {
            current.shutdownNow();
        }
    }

    // -------------------------------------------------------------------------------------- pause / resume ---

    /**
     * Freezes the container ({@link PauseMode#FREEZE}, processes kept) or stops it ({@link PauseMode#STOP}).
     * Keep pauses in FREEZE mode shorter than the idle timeout: the server counts frozen time as idle time.
     */
    @Override
    public void pause() {
        synchronized (state) {
            String id = requireRunningContainer("pause");
            if (paused) {
                return;
            }
            try {
                if (docker.pauseMode() == PauseMode.FREEZE) {
                    handle.client().pauseContainerCmd(id).exec();
                } else {
                    handle.client().stopContainerCmd(id).withTimeout(10).exec();
                }
            } catch (DockerException e) {
                throw new BackendException("Pausing container " + containerName + " (" + docker.pauseMode()
                        + ") failed: " + e.getMessage(), e);
            }
            paused = true;
            setStatus(RuntimeStatus.PAUSED, "Sandbox " + id() + " paused (" + docker.pauseMode() + ")");
        }
    }

    /** Thaws or restarts the container and waits until its server answers again. */
    @Override
    public void resume() {
        synchronized (state) {
            String id = requireRunningContainer("resume");
            if (!paused) {
                return;
            }
            Instant deadline = Instant.now().plus(config.startupTimeout());
            DockerClient client = handle.client();
            try {
                if (docker.pauseMode() == PauseMode.FREEZE) {
                    client.unpauseContainerCmd(id).exec();
                } else {
                    startWithOutput(client, deadline);
                    ContainerOutput current = output;
                    awaitReadyLine(current, deadline);
                    if (!docker.forwardLogs()) {
                        current.close();
                        expectReadyLine = false;
                    }
                }
            } catch (NotFoundException e) {
                throw new RuntimeDisconnectedException("Sandbox " + id() + ": container " + containerName
                        + " no longer exists, so it cannot resume.", e);
            } catch (DockerException e) {
                throw new BackendException("Resuming container " + containerName + " failed: " + e.getMessage()
                        + ". " + describeFailure(), e);
            }
            paused = false;
            try {
                client().awaitAlive(deadline, this::sandboxRunning, this::describeFailure);
            } catch (AgentRuntimeException e) {
                setStatus(RuntimeStatus.ERROR_RUNTIME_DISCONNECTED, e.getMessage());
                throw new RuntimeDisconnectedException("Sandbox " + id() + " did not come back after resume"
                        + (docker.pauseMode() == PauseMode.FREEZE ? " (a pause longer than the idle timeout "
                        + docker.idleTimeout() + " ends the server)" : "") + ": " + e.getMessage(), e);
            }
            setStatus(RuntimeStatus.READY, "Sandbox " + id() + " resumed");
        }
    }

    private String requireRunningContainer(String what) {
        if (isClosed()) {
            throw new IllegalStateException("Runtime " + id() + " is closed: cannot " + what);
        }
        String id = containerId;
        if (id == null || !started || handle == null) {
            throw new IllegalStateException("Runtime " + id() + " is not connected: call connect() before " + what);
        }
        return id;
    }

    // ------------------------------------------------------------------------------------------------- stop ---

    @Override
    protected void stopSandbox() {
        synchronized (state) {
            stopHeartbeat();
            ContainerOutput current = output;
            output = null;
            if (current != null) {
                current.close();
            }
            DockerClients.Handle h = handle;
            try {
                if (containerId != null && h != null) {
                    boolean failedStart = !isClosed();
                    if (failedStart ? createdHere : !config.keepAlive()) {
                        removeContainer(h.client());
                    } else if (config.keepAlive()) {
                        log.info("sandbox {}: keep-alive: container {} left {}", id(), containerName,
                                paused ? "paused" : "running");
                    }
                }
            } finally {
                containerId = null;
                started = false;
                releaseLeases();
                handle = null;
                if (h != null) {
                    h.close();
                }
            }
        }
    }

    private void removeContainer(DockerClient client) {
        String id = containerId;
        if (id == null) {
            return;
        }
        try {
            client.removeContainerCmd(id).withForce(true).withRemoveVolumes(false).exec();
            log.info("sandbox {}: removed container {} ({})", id(), containerName, shortId());
        } catch (NotFoundException e) {
            log.debug("sandbox {}: container {} was already gone", id(), containerName);
        } catch (ConflictException e) {
            // "removal already in progress": auto-remove got there first
            log.debug("sandbox {}: container {} is being removed already", id(), containerName);
        } catch (DockerException | DockerClientException e) {
            log.warn("sandbox {}: removing container {} failed: {}. Remove it with DockerSandboxes.delete(\"{}\")",
                    id(), containerName, e.getMessage(), config.sessionId());
        }
        containerId = null;
    }

    private void releaseLeases() {
        for (PortLease lease : leases) {
            lease.close();
        }
        leases = List.of();
    }

    private String shortId() {
        String id = containerId;
        return id == null ? "none" : id.substring(0, Math.min(12, id.length()));
    }

    @Override
    public String toString() {
        return "DockerRuntime[" + id() + ", container=" + containerName + ", status=" + status() + "]";
    }
}
