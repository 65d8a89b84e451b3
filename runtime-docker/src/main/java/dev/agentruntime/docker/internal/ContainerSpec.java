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

    /**
     * @param insidePorts    server, VS Code, app 1, app 2 ports inside the container
     * @param fixedHostPorts host port per inside port; empty: let the daemon pick
     */
    public ContainerSpec(RuntimeConfig config, DockerRuntimeConfig docker, SandboxImage image, String name,
                         Secret sessionApiKey, List<Integer> insidePorts, Map<Integer, Integer> fixedHostPorts) {
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
            List<PortBinding> bindings = new ArrayList<>();
            for (int inside : insidePorts) {
                Integer fixed = fixedHostPorts.get(inside);
                Ports.Binding binding = fixed == null ? Ports.Binding.bindIp(docker.bindAddress())
                        : Ports.Binding.bindIpAndPort(docker.bindAddress(), fixed);
                bindings.add(new PortBinding(binding, ExposedPort.tcp(inside)));
            }
            host.withPortBindings(bindings);
        }
        docker.containerRuntime().ifPresent(host::withRuntime);
        docker.cpus().ifPresent(cpus -> host.withNanoCPUs(Math.round(cpus * 1_000_000_000d)));
        docker.memoryBytes().ifPresent(host::withMemory);
        docker.pidsLimit().ifPresent(host::withPidsLimit);
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
            create.withExposedPorts(insidePorts.stream().map(ExposedPort::tcp).toList());
        }
        if (docker.user().isPresent()) {
            create.withUser("0"); // the server creates the user and runs bash as it, which needs root
        }
        return create;
    }
}
