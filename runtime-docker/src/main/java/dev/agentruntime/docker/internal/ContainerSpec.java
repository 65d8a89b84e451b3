package dev.agentruntime.docker.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.DeviceRequest;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import com.github.dockerjava.api.model.Volume;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import dev.agentruntime.docker.DockerRuntimeConfig;
import dev.agentruntime.docker.DockerVolume;
import dev.agentruntime.docker.PauseMode;
import dev.agentruntime.docker.SandboxImage;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.SessionLabels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything a sandbox container is created with, derived from the runtime's and the Docker backend's settings:
 * entry point, environment, labels, ports, mounts, limits, devices. Separate from the runtime so the mapping can be
 * checked without a daemon.
 */
public final class ContainerSpec {

    /** Set in host-network containers, so an attaching runtime knows the ports are the host's. */
    public static final String ENV_HOST_NETWORK = "AGENT_RUNTIME_HOST_NETWORK";

    private final RuntimeConfig config;
    private final DockerRuntimeConfig docker;
    private final SandboxImage image;
    private final String name;
    private final List<Integer> insidePorts;
    private final Map<Integer, Integer> fixedHostPorts;
    private final ServerLaunch launch;
    private final int daemonCpus;

    /** Where the session key is put (root, 0600) before every start; the server reads and deletes it. */
    public static final String KEY_FILE = SandboxImage.HOME + "/session.key";

    /**
     * @param insidePorts    server, VS Code, app 1, app 2 ports inside the container
     * @param fixedHostPorts host port per inside port; empty: let the daemon pick
     */
    public ContainerSpec(RuntimeConfig config, DockerRuntimeConfig docker, SandboxImage image, String name,
                         Secret sessionApiKey, List<Integer> insidePorts, Map<Integer, Integer> fixedHostPorts) {
        this(config, docker, image, name, sessionApiKey, insidePorts, fixedHostPorts,
                java.lang.Runtime.getRuntime().availableProcessors(), true);
    }

    /**
     * @param daemonCpus how many CPUs the daemon has: the default CPU limit is never above it
     * @param keyAsFile  hand the key over in {@link #KEY_FILE} (root, 0600); false only for images whose own user is
     *                   not root and no sandbox user is configured (the server could not read a root file), where it
     *                   goes in the environment as OpenHands does
     */
    public ContainerSpec(RuntimeConfig config, DockerRuntimeConfig docker, SandboxImage image, String name,
                         Secret sessionApiKey, List<Integer> insidePorts, Map<Integer, Integer> fixedHostPorts,
                         int daemonCpus, boolean keyAsFile) {
        this.daemonCpus = daemonCpus;
        this.config = config;
        this.docker = docker;
        this.image = image;
        this.name = name;
        this.insidePorts = List.copyOf(insidePorts);
        this.fixedHostPorts = Map.copyOf(fixedHostPorts);
        this.launch = ServerLaunch.forSession(config).sessionApiKey(sessionApiKey)
                .java(image.javaPath()).jar(SandboxImage.SERVER_JAR).port(this.insidePorts.get(0))
                .workingDir(workingDir())
                .user(docker.user().map(u -> new ServerLaunch.User(u.name(), u.uid())))
                .idleTimeout(docker.idleTimeout())
                .classDataOptions(image.classData() ? ClassDataTraining.containerOptions() : List.of())
                // not in the container's environment: docker inspect, docker-java's DEBUG log and /proc/1/environ
                // would show it
                .keyDelivery(keyAsFile ? ServerLaunch.KeyDelivery.file(KEY_FILE)
                        : ServerLaunch.KeyDelivery.environment())
                .appPorts(this.insidePorts.get(1), this.insidePorts.get(2), this.insidePorts.get(3))
                .build();
    }

    /** How the server is started in the container: its entry point and environment. */
    public ServerLaunch launch() {
        return launch;
    }

    /** The shell's start directory. */
    public String workingDir() {
        return docker.workingDir().orElse(config.sandboxWorkspace());
    }

    /** The container's environment: the backend's, then the server's (the shell's variables and ours; ours win). */
    public Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>(docker.environment());
        env.putAll(launch.environment());
        if (docker.hostNetwork()) {
            env.put(ENV_HOST_NETWORK, "1");
        }
        return env;
    }

    /** Our labels: ownership, session, keep-alive, what the image was made from. */
    public Map<String, String> labels() {
        Map<String, String> labels = new LinkedHashMap<>(SessionLabels.forSession(config).asLabels());
        labels.put(Labels.BASE_IMAGE, image.baseImage());
        labels.put(Labels.PYTHON3, Boolean.toString(image.python3()));
        return labels;
    }

    /** Auto-removal when the server exits, unless the container must survive (keep-alive, stop/start pausing). */
    public boolean autoRemove() {
        return !config.keepAlive() && docker.pauseMode() == PauseMode.FREEZE;
    }

    /** The host configuration: ports, mounts, limits, devices, runtime, init. */
    public HostConfig hostConfig() {
        HostConfig host = HostConfig.newHostConfig()
                .withAutoRemove(autoRemove())
                .withInit(docker.init())
                .withPrivileged(docker.privileged())
                .withBinds(binds());
        if (docker.hostNetwork()) {
            host.withNetworkMode("host");
        } else {
            if (docker.isolateNetwork()) {
                host.withNetworkMode(DockerRuntimeConfig.ISOLATED_NETWORK);
            }
            List<PortBinding> bindings = new ArrayList<>();
            for (int inside : publishedPorts()) {
                Integer fixed = fixedHostPorts.get(inside);
                Ports.Binding binding = fixed == null ? Ports.Binding.bindIp(docker.bindAddress())
                        : Ports.Binding.bindIpAndPort(docker.bindAddress(), fixed);
                bindings.add(new PortBinding(binding, ExposedPort.tcp(inside)));
            }
            host.withPortBindings(bindings);
        }
        docker.containerRuntime().ifPresent(host::withRuntime);
        cpus().ifPresent(cpus -> host.withNanoCPUs(Math.round(cpus * 1_000_000_000d)));
        memoryBytes().ifPresent(host::withMemory);
        pidsLimit().ifPresent(host::withPidsLimit);
        docker.gpus().ifPresent(gpus -> {
            DeviceRequest request = new DeviceRequest().withDriver("").withCapabilities(List.of(List.of("gpu")));
            if (gpus.allDevices()) {
                request.withCount(-1);
            } else {
                request.withDeviceIds(gpus.deviceIds());
            }
            host.withDeviceRequests(List.of(request));
        });
        return host;
    }

    /**
     * The inside ports published on the host: the server's, and the VS Code and application ports only when
     * {@link DockerRuntimeConfig#publishAppPorts()} asks (each published port is a docker-proxy process to start).
     */
    public List<Integer> publishedPorts() {
        return docker.publishAppPorts() ? insidePorts : insidePorts.subList(0, 1);
    }

    /** The CPU limit: the configured one, or the default (at most the daemon's CPUs) unless defaults are off. */
    public Optional<Double> cpus() {
        return docker.cpus().or(() -> docker.defaultLimits()
                ? Optional.of(Math.min(DockerRuntimeConfig.DEFAULT_CPUS, Math.max(1, daemonCpus))) : Optional.empty());
    }

    public Optional<Long> memoryBytes() {
        return docker.memoryBytes().or(() -> docker.defaultLimits() ? Optional.of(DockerRuntimeConfig.DEFAULT_MEMORY)
                : Optional.empty());
    }

    public Optional<Long> pidsLimit() {
        return docker.pidsLimit().or(() -> docker.defaultLimits() ? Optional.of(DockerRuntimeConfig.DEFAULT_PIDS)
                : Optional.empty());
    }

    /**
     * Creates the isolated network when it is missing: a bridge with inter-container traffic off, labelled as ours.
     * Two creators racing both end with the one network.
     */
    public void ensureIsolatedNetwork(DockerClient client) {
        if (docker.hostNetwork() || !docker.isolateNetwork()) {
            return;
        }
        String name = DockerRuntimeConfig.ISOLATED_NETWORK;
        if (!client.listNetworksCmd().withNameFilter(name).exec().stream().filter(n -> name.equals(n.getName()))
                .toList().isEmpty()) {
            return;
        }
        try {
            client.createNetworkCmd().withName(name).withDriver("bridge").withCheckDuplicate(true)
                    .withOptions(Map.of("com.docker.network.bridge.enable_icc", "false"))
                    .withLabels(Labels.owned("network")).exec();
        } catch (com.github.dockerjava.api.exception.ConflictException raced) {
            // another JVM created it first
        }
    }

    /** Whether the key goes in {@link #KEY_FILE}, to be copied in with {@link #keyArchive} before each start. */
    public boolean keyAsFile() {
        return launch.keyDelivery() instanceof ServerLaunch.KeyDelivery.File;
    }

    /** The session key as a tar for the container's {@link SandboxImage#HOME}: one root-owned 0600 file. */
    public static byte[] keyArchive(Secret key) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (dev.agentruntime.internal.TarWriter tar = new dev.agentruntime.internal.TarWriter(bytes, 0)) {
            tar.bytes("session.key", (key.reveal() + "\n")
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8), 0600);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** Bind mounts and named volumes, the workspace first. */
    public List<Bind> binds() {
        List<Bind> binds = new ArrayList<>();
        Optional<Path> workspace = docker.workspaceMount().or(config::workspace);
        workspace.ifPresent(dir -> binds.add(new Bind(dir.toAbsolutePath().normalize().toString(),
                new Volume(config.sandboxWorkspace()), AccessMode.rw)));
        for (DockerVolume volume : docker.volumes()) {
            binds.add(new Bind(volume.source(), new Volume(volume.target()),
                    volume.readOnly() ? AccessMode.ro : AccessMode.rw));
        }
        return binds;
    }

    /** Creates the named volumes that do not exist yet, with our labels (Docker would create them unlabelled). */
    public void ensureNamedVolumes(DockerClient client) {
        for (DockerVolume volume : docker.volumes()) {
            if (!volume.isNamedVolume()) {
                continue;
            }
            try {
                client.inspectVolumeCmd(volume.source()).exec();
            } catch (NotFoundException e) {
                Map<String, String> labels = SessionLabels.forSession(config).withRole(Labels.ROLE_VOLUME).asLabels();
                client.createVolumeCmd().withName(volume.source()).withLabels(labels).exec();
            }
        }
    }

    /** Fills the create command (the caller may still customise it). */
    public CreateContainerCmd apply(CreateContainerCmd create) {
        List<String> env = new ArrayList<>();
        environment().forEach((k, v) -> env.add(k + "=" + v));
        create.withName(name)
                .withEntrypoint(launch.command())
                .withCmd(List.of())
                .withEnv(env)
                .withLabels(labels())
                .withWorkingDir(workingDir())
                .withHostConfig(hostConfig());
        if (!docker.hostNetwork()) {
            create.withExposedPorts(publishedPorts().stream().map(ExposedPort::tcp).toList());
        }
        if (docker.user().isPresent()) {
            create.withUser("0"); // the server creates the user and runs bash as it, which needs root
        }
        return create;
    }
}
