package dev.agentruntime.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerCmd;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.spi.BackendConfig;
import dev.agentruntime.spi.Options;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The Docker backend's settings. Immutable; build with {@link #builder()}, derive variants with {@link #toBuilder()},
 * and hand it to the runtime through {@link dev.agentruntime.RuntimeConfig.Builder#backendConfig}:
 *
 * <pre>{@code
 * DockerRuntimeConfig docker = DockerRuntimeConfig.builder()
 *         .image("python:3.12-slim")               // any Debian/Ubuntu-based image with bash
 *         .memoryBytes(2L << 30).cpus(2).pidsLimit(512)
 *         .volume("/home/me/datasets:/data:ro")
 *         .build();
 * try (Runtime sandbox = RuntimeFactory.create(RuntimeConfig.builder().type("docker").backendConfig(docker).build())) {
 *     sandbox.connect();
 *     sandbox.run("python3 --version");
 * }
 * }</pre>
 *
 * <p>The same settings are reachable as string options ({@link dev.agentruntime.RuntimeConfig#options()}, e.g. from
 * {@code AGENT_RUNTIME_OPTION_MEMORY=2g}); see {@link #fromOptions(Map)} for the keys.
 *
 * <p>The connection follows docker-java's default configuration ({@code DOCKER_HOST}, {@code DOCKER_CONTEXT} and
 * the current context of {@code ~/.docker/config.json}, {@code DOCKER_TLS_VERIFY}, {@code DOCKER_CERT_PATH}) unless
 * {@link Builder#dockerHost(URI)} names an endpoint.
 *
 * @param dockerHost       explicit daemon endpoint ({@code unix:///var/run/docker.sock}, {@code tcp://host:2376});
 *                         empty: docker-java's defaults
 * @param tlsCertPath      directory with {@code ca.pem}, {@code cert.pem}, {@code key.pem}; enables TLS verification
 * @param image            the base image the sandbox is made from (needs bash and glibc)
 * @param pullPolicy       whether a missing base image may be pulled
 * @param environment      extra container environment variables (the shell's variables go in
 *                         {@link dev.agentruntime.RuntimeConfig#environment()})
 * @param workingDir       the shell's start directory; empty: {@link dev.agentruntime.RuntimeConfig#sandboxWorkspace()}
 * @param volumes          bind mounts and named volumes
 * @param workspaceMount   host directory mounted read-write at the sandbox workspace; empty:
 *                         {@link dev.agentruntime.RuntimeConfig#workspace()} when set, else nothing
 * @param user             the user the shell runs as; empty: the image's user
 * @param cpus             CPU limit in cores (Docker {@code --cpus})
 * @param memoryBytes      memory limit (Docker {@code --memory})
 * @param pidsLimit        process limit (Docker {@code --pids-limit})
 * @param gpus             GPUs passed through with device requests
 * @param networks         extra Docker networks joined before the container starts
 * @param containerRuntime OCI runtime, e.g. {@code runsc} for gVisor; empty: the daemon's default
 * @param init             run Docker's init (tini) as PID 1 so zombies are reaped
 * @param privileged       privileged container; off unless asked for
 * @param createCustomizer escape hatch: last word on the docker-java create command
 * @param dockerClient     escape hatch: an existing docker-java client to use (stays the caller's: never closed)
 * @param forwardLogs      forward the container's output to the slf4j logger
 *                         {@code dev.agentruntime.docker.sandbox.<session id>} at DEBUG
 * @param bindAddress      host address the sandbox's ports are published on
 * @param hostNetwork      share the host's network namespace instead of publishing ports
 * @param pauseMode        what {@code pause()} does
 * @param idleTimeout      the server in the sandbox exits after this long without a request, and the container is
 *                         then removed (kept, stopped, when keep-alive is set); while a runtime is open it sends a
 *                         heartbeat, so only an abandoned sandbox times out. {@link Duration#ZERO} disables it.
 * @param namePrefix       containers are named {@code <namePrefix>-<session id>}
 * @param isolateNetwork   sandboxes join {@value #ISOLATED_NETWORK}, a bridge network with inter-container traffic
 *                         off, so no sandbox (or other container) reaches another's server; on by default
 * @param defaultLimits    when {@code cpus}, {@code memoryBytes} or {@code pidsLimit} is not set, apply
 *                         {@value #DEFAULT_CPUS} cores (at most the daemon's), {@value #DEFAULT_MEMORY_TEXT} and
 *                         {@value #DEFAULT_PIDS} processes; on by default
 * @param publishAppPorts  also publish the two application ports and VS Code's port (then listed by
 *                         {@code webHosts()}); off by default: only the server's port is published, since each
 *                         published port costs a userland proxy process at start (~12 ms each measured on a
 *                         2-core machine). With {@code hostNetwork} every port is the host's anyway.
 */
public record DockerRuntimeConfig(
        Optional<URI> dockerHost,
        Optional<Path> tlsCertPath,
        String image,
        PullPolicy pullPolicy,
        Map<String, String> environment,
        Optional<String> workingDir,
        List<DockerVolume> volumes,
        Optional<Path> workspaceMount,
        Optional<SandboxUser> user,
        Optional<Double> cpus,
        Optional<Long> memoryBytes,
        Optional<Long> pidsLimit,
        Optional<GpuRequest> gpus,
        List<String> networks,
        Optional<String> containerRuntime,
        boolean init,
        boolean privileged,
        Optional<Consumer<CreateContainerCmd>> createCustomizer,
        Optional<DockerClient> dockerClient,
        boolean forwardLogs,
        String bindAddress,
        boolean hostNetwork,
        PauseMode pauseMode,
        Duration idleTimeout,
        String namePrefix,
        boolean isolateNetwork,
        boolean defaultLimits,
        boolean publishAppPorts) implements BackendConfig {

    public static final String DEFAULT_IMAGE = "debian:bookworm-slim";
    public static final String DEFAULT_BIND_ADDRESS = "127.0.0.1";
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);
    public static final String DEFAULT_NAME_PREFIX = "agent-runtime";

    /** Option keys accepted by {@link #fromOptions(Map)}. */
    public static final Set<String> OPTION_KEYS = Set.of("image", "pull.policy", "docker.host", "tls.cert.path",
            "working.dir", "volumes", "workspace.mount", "user", "cpus", "memory", "pids.limit", "gpus", "networks",
            "container.runtime", "init", "privileged", "forward.logs", "bind.address", "host.network", "pause.mode",
            "idle.timeout", "name.prefix", "isolate.network", "default.limits", "publish.app.ports");

    /** The network sandboxes join when {@link #isolateNetwork()} is on (created when missing, labelled). */
    public static final String ISOLATED_NETWORK = "agent-runtime-isolated";
    public static final double DEFAULT_CPUS = 2.0;
    public static final long DEFAULT_MEMORY = 4L << 30;
    static final String DEFAULT_MEMORY_TEXT = "4 GiB";
    public static final long DEFAULT_PIDS = 1024;

    public DockerRuntimeConfig {
        dockerHost = Objects.requireNonNullElse(dockerHost, Optional.empty());
        tlsCertPath = Objects.requireNonNullElse(tlsCertPath, Optional.empty());
        if (image == null || image.isBlank()) {
            throw new InvalidConfigException("image must not be blank (e.g. " + DEFAULT_IMAGE + ")");
        }
        pullPolicy = Objects.requireNonNullElse(pullPolicy, PullPolicy.IF_MISSING);
        environment = Map.copyOf(Objects.requireNonNullElse(environment, Map.of()));
        for (String name : environment.keySet()) {
            if (name.isEmpty() || name.contains("=")) {
                throw new InvalidConfigException("container environment variable name '" + name + "' is not valid");
            }
        }
        workingDir = Objects.requireNonNullElse(workingDir, Optional.empty());
        workingDir.ifPresent(dir -> {
            if (!dir.startsWith("/")) {
                throw new InvalidConfigException("workingDir must be an absolute container path, was '" + dir + "'");
            }
        });
        volumes = List.copyOf(Objects.requireNonNullElse(volumes, List.of()));
        workspaceMount = Objects.requireNonNullElse(workspaceMount, Optional.empty());
        user = Objects.requireNonNullElse(user, Optional.empty());
        cpus = Objects.requireNonNullElse(cpus, Optional.empty());
        cpus.ifPresent(c -> {
            if (!(c > 0) || c.isInfinite()) {
                throw new InvalidConfigException("cpus must be a positive number of cores, was " + c);
            }
        });
        memoryBytes = Objects.requireNonNullElse(memoryBytes, Optional.empty());
        memoryBytes.ifPresent(m -> {
            if (m < 6L * 1024 * 1024) {
                throw new InvalidConfigException("memory must be at least 6m (Docker's minimum), was " + m + " bytes");
            }
        });
        pidsLimit = Objects.requireNonNullElse(pidsLimit, Optional.empty());
        pidsLimit.ifPresent(p -> {
            if (p < 16) {
                throw new InvalidConfigException("pidsLimit must be at least 16 (the server, bash and the JVM need "
                        + "threads), was " + p);
            }
        });
        gpus = Objects.requireNonNullElse(gpus, Optional.empty());
        networks = List.copyOf(Objects.requireNonNullElse(networks, List.of()));
        containerRuntime = Objects.requireNonNullElse(containerRuntime, Optional.empty());
        createCustomizer = Objects.requireNonNullElse(createCustomizer, Optional.empty());
        dockerClient = Objects.requireNonNullElse(dockerClient, Optional.empty());
        if (bindAddress == null || bindAddress.isBlank()) {
            throw new InvalidConfigException("bindAddress must not be blank (e.g. 127.0.0.1 or 0.0.0.0)");
        }
        pauseMode = Objects.requireNonNullElse(pauseMode, PauseMode.FREEZE);
        idleTimeout = Objects.requireNonNullElse(idleTimeout, DEFAULT_IDLE_TIMEOUT);
        if (idleTimeout.isNegative()) {
            throw new InvalidConfigException("idleTimeout must not be negative (ZERO disables it), was " + idleTimeout);
        }
        if (!idleTimeout.isZero() && idleTimeout.compareTo(Duration.ofSeconds(2)) < 0) {
            throw new InvalidConfigException("idleTimeout must be at least 2 seconds (or ZERO to disable), was "
                    + idleTimeout);
        }
        if (namePrefix == null || !namePrefix.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")) {
            throw new InvalidConfigException("namePrefix '" + namePrefix + "' is not valid: use letters, digits, "
                    + "'_', '.' or '-', starting with a letter or digit");
        }
        if (hostNetwork && !networks.isEmpty()) {
            throw new InvalidConfigException("hostNetwork cannot be combined with extra networks " + networks
                    + ": a container on the host network joins no other network");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The defaults: {@value #DEFAULT_IMAGE}, ports on 127.0.0.1, init on, not privileged, 5 minutes idle timeout. */
    public static DockerRuntimeConfig defaults() {
        return builder().build();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Converts string options, e.g. from {@link dev.agentruntime.RuntimeConfig#options()} or environment variables
     * {@code AGENT_RUNTIME_OPTION_<KEY>}, into a typed configuration. Keys: {@code image}, {@code pull.policy}
     * ({@code never|if-missing}), {@code docker.host} (URI), {@code tls.cert.path}, {@code working.dir},
     * {@code volumes} (comma-separated {@code src:dst[:ro|rw]}), {@code workspace.mount}, {@code user}
     * ({@code name:uid}), {@code cpus} (e.g. {@code 1.5}), {@code memory} ({@code 512m}, {@code 2g} or bytes),
     * {@code pids.limit}, {@code gpus} ({@code all} or {@code 0,1}), {@code networks} (comma-separated),
     * {@code container.runtime}, {@code init}, {@code privileged}, {@code forward.logs}, {@code host.network}
     * ({@code true|false}), {@code bind.address}, {@code pause.mode} ({@code freeze|stop}), {@code idle.timeout}
     * ({@code 90s}, {@code 5m}, {@code PT1H}, plain seconds, {@code 0} = off), {@code name.prefix}, {@code isolate.network}
     * {@code default.limits} and {@code publish.app.ports} (booleans).
     *
     * @throws InvalidConfigException naming an unknown key (listing the valid ones) or a malformed value
     */
    public static DockerRuntimeConfig fromOptions(Map<String, String> options) {
        return fromOptions(Options.of("docker", options, OPTION_KEYS));
    }

    /** The typed Docker settings of {@code config}: its backend config, or its options converted. */
    public static DockerRuntimeConfig from(dev.agentruntime.RuntimeConfig config) {
        return Options.typedConfig(config, DockerRuntimeConfig.class, OPTION_KEYS, DockerRuntimeConfig::fromOptions);
    }

    /** Like {@link #fromOptions(Map)}, from options already checked against {@link #OPTION_KEYS}. */
    public static DockerRuntimeConfig fromOptions(Options o) {
        Builder b = builder();
        o.string("image").ifPresent(b::image);
        o.parsed("pull.policy", PullPolicy::parse, "never or if-missing").ifPresent(b::pullPolicy);
        o.uri("docker.host").ifPresent(b::dockerHost);
        o.path("tls.cert.path").ifPresent(b::tlsCertPath);
        o.string("working.dir").ifPresent(b::workingDir);
        o.list("volumes").forEach(spec -> b.volume(DockerVolume.parse(spec)));
        o.path("workspace.mount").ifPresent(b::workspaceMount);
        o.parsed("user", SandboxUser::parse, "name:uid").ifPresent(b::user);
        o.decimal("cpus").ifPresent(b::cpus);
        o.bytes("memory").ifPresent(b::memoryBytes);
        o.parsed("pids.limit", Long::parseLong, "a whole number").ifPresent(b::pidsLimit);
        o.parsed("gpus", GpuRequest::parse, "all or device ids like 0,1").ifPresent(b::gpus);
        if (o.has("networks")) {
            b.networks(o.list("networks"));
        }
        o.string("container.runtime").ifPresent(b::containerRuntime);
        b.init(o.bool("init", true));
        b.privileged(o.bool("privileged", false));
        b.forwardLogs(o.bool("forward.logs", false));
        o.string("bind.address").ifPresent(b::bindAddress);
        b.hostNetwork(o.bool("host.network", false));
        o.parsed("pause.mode", PauseMode::parse, "freeze or stop").ifPresent(b::pauseMode);
        o.duration("idle.timeout").ifPresent(b::idleTimeout);
        o.string("name.prefix").ifPresent(b::namePrefix);
        b.isolateNetwork(o.bool("isolate.network", true));
        b.defaultLimits(o.bool("default.limits", true));
        b.publishAppPorts(o.bool("publish.app.ports", false));
        return b.build();
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("DockerRuntimeConfig[image=").append(image)
                .append(", pullPolicy=").append(pullPolicy);
        dockerHost.ifPresent(h -> s.append(", dockerHost=").append(h));
        tlsCertPath.ifPresent(p -> s.append(", tlsCertPath=").append(p));
        if (!environment.isEmpty()) {
            // values may be secrets: names only
            s.append(", environment=").append(new TreeSet<>(environment.keySet()));
        }
        workingDir.ifPresent(d -> s.append(", workingDir=").append(d));
        if (!volumes.isEmpty()) {
            s.append(", volumes=").append(volumes);
        }
        workspaceMount.ifPresent(w -> s.append(", workspaceMount=").append(w));
        user.ifPresent(u -> s.append(", user=").append(u));
        cpus.ifPresent(c -> s.append(", cpus=").append(c));
        memoryBytes.ifPresent(m -> s.append(", memoryBytes=").append(m));
        pidsLimit.ifPresent(p -> s.append(", pidsLimit=").append(p));
        gpus.ifPresent(g -> s.append(", gpus=").append(g));
        if (!networks.isEmpty()) {
            s.append(", networks=").append(networks);
        }
        containerRuntime.ifPresent(r -> s.append(", containerRuntime=").append(r));
        s.append(", init=").append(init).append(", privileged=").append(privileged);
        createCustomizer.ifPresent(c -> s.append(", createCustomizer=set"));
        dockerClient.ifPresent(c -> s.append(", dockerClient=caller's"));
        s.append(", forwardLogs=").append(forwardLogs).append(", bindAddress=").append(bindAddress)
                .append(", hostNetwork=").append(hostNetwork).append(", pauseMode=").append(pauseMode)
                .append(", idleTimeout=").append(idleTimeout).append(", namePrefix=").append(namePrefix)
                .append(", isolateNetwork=").append(isolateNetwork).append(", defaultLimits=").append(defaultLimits)
                .append(", publishAppPorts=").append(publishAppPorts).append(']');
        return s.toString();
    }

    /** Builds a {@link DockerRuntimeConfig}; every setter returns the builder. */
    public static final class Builder {
        private URI dockerHost;
        private Path tlsCertPath;
        private String image = DEFAULT_IMAGE;
        private PullPolicy pullPolicy = PullPolicy.IF_MISSING;
        private Map<String, String> environment = new LinkedHashMap<>();
        private String workingDir;
        private List<DockerVolume> volumes = new ArrayList<>();
        private Path workspaceMount;
        private SandboxUser user;
        private Double cpus;
        private Long memoryBytes;
        private Long pidsLimit;
        private GpuRequest gpus;
        private List<String> networks = new ArrayList<>();
        private String containerRuntime;
        private boolean init = true;
        private boolean privileged;
        private Consumer<CreateContainerCmd> createCustomizer;
        private DockerClient dockerClient;
        private boolean forwardLogs;
        private String bindAddress = DEFAULT_BIND_ADDRESS;
        private boolean hostNetwork;
        private boolean isolateNetwork = true;
        private boolean defaultLimits = true;
        private boolean publishAppPorts;
        private PauseMode pauseMode = PauseMode.FREEZE;
        private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
        private String namePrefix = DEFAULT_NAME_PREFIX;

        private Builder() {
        }

        private Builder(DockerRuntimeConfig c) {
            dockerHost = c.dockerHost.orElse(null);
            tlsCertPath = c.tlsCertPath.orElse(null);
            image = c.image;
            pullPolicy = c.pullPolicy;
            environment = new LinkedHashMap<>(c.environment);
            workingDir = c.workingDir.orElse(null);
            volumes = new ArrayList<>(c.volumes);
            workspaceMount = c.workspaceMount.orElse(null);
            user = c.user.orElse(null);
            cpus = c.cpus.orElse(null);
            memoryBytes = c.memoryBytes.orElse(null);
            pidsLimit = c.pidsLimit.orElse(null);
            gpus = c.gpus.orElse(null);
            networks = new ArrayList<>(c.networks);
            containerRuntime = c.containerRuntime.orElse(null);
            init = c.init;
            privileged = c.privileged;
            createCustomizer = c.createCustomizer.orElse(null);
            dockerClient = c.dockerClient.orElse(null);
            forwardLogs = c.forwardLogs;
            bindAddress = c.bindAddress;
            hostNetwork = c.hostNetwork;
            isolateNetwork = c.isolateNetwork;
            defaultLimits = c.defaultLimits;
            publishAppPorts = c.publishAppPorts;
            pauseMode = c.pauseMode;
            idleTimeout = c.idleTimeout;
            namePrefix = c.namePrefix;
        }

        /** The daemon endpoint, e.g. {@code unix:///var/run/docker.sock} or {@code tcp://build-host:2376}. */
        public Builder dockerHost(URI value) {
            this.dockerHost = value;
            return this;
        }

        /** Directory with {@code ca.pem}, {@code cert.pem} and {@code key.pem}; turns on TLS verification. */
        public Builder tlsCertPath(Path value) {
            this.tlsCertPath = value;
            return this;
        }

        /** The base image, e.g. {@code python:3.12-slim}; it needs bash and glibc (not Alpine). */
        public Builder image(String value) {
            this.image = value;
            return this;
        }

        public Builder pullPolicy(PullPolicy value) {
            this.pullPolicy = value;
            return this;
        }

        /** Replaces the container environment. */
        public Builder environment(Map<String, String> value) {
            this.environment = new LinkedHashMap<>(value);
            return this;
        }

        /** Adds one container environment variable. */
        public Builder env(String name, String value) {
            this.environment.put(name, value);
            return this;
        }

        public Builder workingDir(String value) {
            this.workingDir = value;
            return this;
        }

        /** Replaces the mounts. */
        public Builder volumes(List<DockerVolume> value) {
            this.volumes = new ArrayList<>(value);
            return this;
        }

        public Builder volume(DockerVolume value) {
            this.volumes.add(Objects.requireNonNull(value, "volume"));
            return this;
        }

        /** Adds a mount given as {@code source:target[:ro|rw]}, see {@link DockerVolume#parse(String)}. */
        public Builder volume(String spec) {
            return volume(DockerVolume.parse(spec));
        }

        public Builder workspaceMount(Path value) {
            this.workspaceMount = value;
            return this;
        }

        public Builder user(SandboxUser value) {
            this.user = value;
            return this;
        }

        public Builder user(String name, int uid) {
            return user(new SandboxUser(name, uid));
        }

        public Builder cpus(double value) {
            this.cpus = value;
            return this;
        }

        public Builder memoryBytes(long value) {
            this.memoryBytes = value;
            return this;
        }

        /** Memory limit as Docker writes it: {@code 512m}, {@code 2g}. */
        public Builder memory(String value) {
            return memoryBytes(Options.parseBytes("memory", value));
        }

        public Builder pidsLimit(long value) {
            this.pidsLimit = value;
            return this;
        }

        public Builder gpus(GpuRequest value) {
            this.gpus = value;
            return this;
        }

        public Builder networks(List<String> value) {
            this.networks = new ArrayList<>(value);
            return this;
        }

        public Builder network(String value) {
            this.networks.add(Objects.requireNonNull(value, "network"));
            return this;
        }

        /** An OCI runtime registered with the daemon, e.g. {@code runsc} (gVisor) or {@code sysbox-runc}. */
        public Builder containerRuntime(String value) {
            this.containerRuntime = value;
            return this;
        }

        public Builder init(boolean value) {
            this.init = value;
            return this;
        }

        public Builder privileged(boolean value) {
            this.privileged = value;
            return this;
        }

        /**
         * Escape hatch: called with the docker-java create command after everything else is set, e.g. to add
         * capabilities or ulimits this builder has no method for.
         */
        public Builder createCustomizer(Consumer<CreateContainerCmd> value) {
            this.createCustomizer = value;
            return this;
        }

        /** Escape hatch: use this docker-java client; the runtime never closes it. */
        public Builder dockerClient(DockerClient value) {
            this.dockerClient = value;
            return this;
        }

        public Builder forwardLogs(boolean value) {
            this.forwardLogs = value;
            return this;
        }

        public Builder bindAddress(String value) {
            this.bindAddress = value;
            return this;
        }

        /** Whether sandboxes join the {@value #ISOLATED_NETWORK} network (default true). */
        public Builder isolateNetwork(boolean value) {
            this.isolateNetwork = value;
            return this;
        }

        /** Whether unset CPU, memory and process limits get the defaults (default true). */
        public Builder defaultLimits(boolean value) {
            this.defaultLimits = value;
            return this;
        }

        /**
         * Whether the application ports and VS Code's port are published too (default false: only the server's),
         * so that {@code webHosts()} lists them.
         */
        public Builder publishAppPorts(boolean value) {
            this.publishAppPorts = value;
            return this;
        }

        public Builder hostNetwork(boolean value) {
            this.hostNetwork = value;
            return this;
        }

        public Builder pauseMode(PauseMode value) {
            this.pauseMode = value;
            return this;
        }

        public Builder idleTimeout(Duration value) {
            this.idleTimeout = value;
            return this;
        }

        public Builder namePrefix(String value) {
            this.namePrefix = value;
            return this;
        }

        public DockerRuntimeConfig build() {
            return new DockerRuntimeConfig(Optional.ofNullable(dockerHost), Optional.ofNullable(tlsCertPath), image,
                    pullPolicy, environment, Optional.ofNullable(workingDir), volumes,
                    Optional.ofNullable(workspaceMount), Optional.ofNullable(user), Optional.ofNullable(cpus),
                    Optional.ofNullable(memoryBytes), Optional.ofNullable(pidsLimit), Optional.ofNullable(gpus),
                    networks, Optional.ofNullable(containerRuntime), init, privileged,
                    Optional.ofNullable(createCustomizer), Optional.ofNullable(dockerClient), forwardLogs, bindAddress,
                    hostNetwork, pauseMode, idleTimeout, namePrefix, isolateNetwork, defaultLimits, publishAppPorts);
        }
    }
}
