package dev.agentruntime.docker.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Ports;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import dev.agentruntime.docker.DockerRuntimeConfig;
import dev.agentruntime.docker.GpuRequest;
import dev.agentruntime.docker.PauseMode;
import dev.agentruntime.docker.SandboxImage;
import dev.agentruntime.docker.SandboxUser;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a sandbox container is created with, without a daemon. */
class ContainerSpecTest {

    private static final SandboxImage IMAGE = new SandboxImage("agent-runtime/sandbox:x", "debian:12",
            SandboxImage.BUNDLED_JAVA, true, false);
    private static final List<Integer> PORTS = List.of(60000, 60001, 60002, 60003);

    private static ContainerSpec spec(RuntimeConfig.Builder runtime, DockerRuntimeConfig docker,
                                      Map<Integer, Integer> fixed) {
        return new ContainerSpec(runtime.sessionId("s1").backendConfig(docker).build(), docker, IMAGE,
                "agent-runtime-s1", Secret.of("the-key"), PORTS, fixed);
    }

    @Test
    void portsArePublishedOnTheBindingAddressForTheDaemonToPick() {
        ContainerSpec onlyServer = spec(RuntimeConfig.builder(), DockerRuntimeConfig.defaults(), Map.of());
        assertThat(onlyServer.hostConfig().getPortBindings().getBindings()).containsOnlyKeys(ExposedPort.tcp(60000));
        assertThat(onlyServer.publishedPorts()).containsExactly(60000);
        assertThat(onlyServer.launch().environment()).as("the shell still knows its application ports")
                .containsEntry("APP_PORT_1", "60002").containsEntry("VSCODE_PORT", "60001");
        HostConfig host = spec(RuntimeConfig.builder(), DockerRuntimeConfig.builder().publishAppPorts(true).build(),
                Map.of()).hostConfig();
        Map<ExposedPort, Ports.Binding[]> bindings = host.getPortBindings().getBindings();
        assertThat(bindings).hasSize(4);
        for (int port : PORTS) {
            Ports.Binding binding = bindings.get(ExposedPort.tcp(port))[0];
            assertThat(binding.getHostIp()).isEqualTo("127.0.0.1");
            assertThat(binding.getHostPortSpec()).isNull();
        }
        assertThat(host.getAutoRemove()).isTrue();
    }

    @Test
    void stopModeUsesFixedHostPortsAndKeepsTheContainer() {
        DockerRuntimeConfig docker = DockerRuntimeConfig.builder().pauseMode(PauseMode.STOP).build();
        HostConfig host = spec(RuntimeConfig.builder(), docker, Map.of(60000, 31000, 60001, 41000, 60002, 51000,
                60003, 56000)).hostConfig();
        assertThat(host.getPortBindings().getBindings().get(ExposedPort.tcp(60000))[0].getHostPortSpec())
                .isEqualTo("31000");
        assertThat(host.getAutoRemove()).isFalse();
    }

    @Test
    void keepAliveContainersAreNotAutoRemoved() {
        assertThat(spec(RuntimeConfig.builder().keepAlive(true), DockerRuntimeConfig.defaults(), Map.of())
                .autoRemove()).isFalse();
    }

    @Test
    void environmentCarriesTheKeyTimeoutsPortsAndTheShellsVariables() {
        Map<String, String> env = spec(RuntimeConfig.builder().env("SHELL_VAR", "1")
                        .noChangeTimeout(Duration.ofMillis(2500)),
                DockerRuntimeConfig.builder().env("CONTAINER_VAR", "2").idleTimeout(Duration.ofSeconds(30)).build(),
                Map.of()).environment();
        assertThat(env).doesNotContainKey("SESSION_API_KEY").doesNotContainValue("the-key")
                .containsEntry("SHELL_VAR", "1").containsEntry("CONTAINER_VAR", "2")
                .containsEntry("NO_CHANGE_TIMEOUT_SECONDS", "2.5")
                .containsEntry("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS", "30")
                .containsEntry("AGENT_RUNTIME_SERVER_PORT", "60000").containsEntry("VSCODE_PORT", "60001")
                .containsEntry("APP_PORT_1", "60002").containsEntry("APP_PORT_2", "60003")
                .containsEntry("AGENT_RUNTIME_SESSION_ID", "s1");
    }

    @Test
    void aZeroIdleTimeoutIsNotPassed() {
        Map<String, String> env = spec(RuntimeConfig.builder(),
                DockerRuntimeConfig.builder().idleTimeout(Duration.ZERO).build(), Map.of()).environment();
        assertThat(env).doesNotContainKey("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS");
    }

    @Test
    void labelsNameTheOwnerAndSession() {
        Map<String, String> labels = spec(RuntimeConfig.builder().label("tenant", "team-a"),
                DockerRuntimeConfig.defaults(), Map.of()).labels();
        assertThat(labels).containsEntry("dev.agentruntime.label.tenant", "team-a");
        assertThat(labels).containsEntry(Labels.MANAGED_BY, "agent-runtime").containsEntry(Labels.SESSION_ID, "s1")
                .containsEntry(Labels.OWNER_PID, Long.toString(ProcessHandle.current().pid()))
                .containsEntry(Labels.ROLE, Labels.ROLE_SANDBOX).containsEntry(Labels.KEEP_ALIVE, "false")
                .containsKeys(Labels.OWNER_HOST, Labels.CREATED_AT, Labels.VERSION, Labels.OWNER_STARTED);
    }

    @Test
    void workspaceAndVolumesBecomeBinds() {
        DockerRuntimeConfig docker = DockerRuntimeConfig.builder().volume("/data:/data:ro").volume("cache:/cache")
                .build();
        List<Bind> binds = spec(RuntimeConfig.builder().workspace(Path.of("/home/me/project")), docker, Map.of())
                .binds();
        assertThat(binds).extracting(b -> b.getPath() + ">" + b.getVolume().getPath() + ":" + b.getAccessMode())
                .containsExactly("/home/me/project>/workspace:" + AccessMode.rw, "/data>/data:" + AccessMode.ro,
                        "cache>/cache:" + AccessMode.rw);
    }

    @Test
    void limitsGpusRuntimeAndHostNetworkMapToHostConfig() {
        DockerRuntimeConfig docker = DockerRuntimeConfig.builder().cpus(2).memoryBytes(1L << 30).pidsLimit(300)
                .gpus(GpuRequest.all()).containerRuntime("runsc").hostNetwork(true).init(false).build();
        HostConfig host = spec(RuntimeConfig.builder(), docker, Map.of()).hostConfig();
        assertThat(host.getNanoCPUs()).isEqualTo(2_000_000_000L);
        assertThat(host.getMemory()).isEqualTo(1L << 30);
        assertThat(host.getPidsLimit()).isEqualTo(300L);
        assertThat(host.getRuntime()).isEqualTo("runsc");
        assertThat(host.getNetworkMode()).isEqualTo("host");
        assertThat(host.getPortBindings()).isNull();
        assertThat(host.getInit()).isFalse();
        assertThat(host.getDeviceRequests().get(0).getCount()).isEqualTo(-1);
        assertThat(host.getDeviceRequests().get(0).getCapabilities()).containsExactly(List.of("gpu"));
    }

    @Test
    void theServerCommandStartsTheShippedJavaWithSmallMemoryFlags() {
        List<String> command = spec(RuntimeConfig.builder(), DockerRuntimeConfig.builder()
                .user(new SandboxUser("oh", 1000)).build(), Map.of()).launch().command();
        assertThat(command.get(0)).isEqualTo("/opt/agent-runtime/jre/bin/java");
        assertThat(command).contains("-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
                .containsSubsequence("-jar", "/opt/agent-runtime/runtime-server.jar", "60000", "--working-dir",
                        "/workspace", "--username", "oh", "--user-id", "1000");
    }

    @Test
    void imagesWithAClassDataArchiveStartTheServerMappingIt() {
        List<String> plain = spec(RuntimeConfig.builder(), DockerRuntimeConfig.defaults(), Map.of()).launch()
                .command();
        assertThat(plain).noneMatch(arg -> arg.startsWith("-XX:SharedArchiveFile"));
        SandboxImage trained = new SandboxImage("agent-runtime/sandbox:y", "debian:12", SandboxImage.BUNDLED_JAVA,
                true, false, true);
        RuntimeConfig config = RuntimeConfig.builder().sessionId("s1").backendConfig(DockerRuntimeConfig.defaults())
                .build();
        List<String> command = new ContainerSpec(config, DockerRuntimeConfig.defaults(), trained, "agent-runtime-s1",
                Secret.of("the-key"), PORTS, Map.of()).launch().command();
        // after the same JVM flags the archive was trained with, before the jar
        assertThat(command).containsSubsequence("-Xlog:all=warning:stderr",
                "-XX:SharedArchiveFile=" + SandboxImage.CLASS_DATA_ARCHIVE, "-jar", SandboxImage.SERVER_JAR);
    }

    @Test
    void theKeyGoesInARootOnlyFileCopiedInBeforeEachStartNotInTheContainerConfig() throws Exception {
        ContainerSpec spec = spec(RuntimeConfig.builder(), DockerRuntimeConfig.defaults(), Map.of());
        assertThat(spec.keyAsFile()).isTrue();
        assertThat(spec.launch().command()).containsSubsequence("--session-api-key-file", ContainerSpec.KEY_FILE);
        byte[] tar = ContainerSpec.keyArchive(Secret.of("the-key"));
        assertThat(new String(tar, 0, 11, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("session.key");
        assertThat(new String(tar, 100, 7, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("0000600");
        assertThat(new String(tar, 512, 8, java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("the-key\n");
    }

    @Test
    void sandboxesJoinTheIsolatedNetworkAndGetDefaultLimits() {
        HostConfig host = new ContainerSpec(RuntimeConfig.builder().sessionId("s1").build(),
                DockerRuntimeConfig.defaults(), IMAGE, "n", Secret.of("k"), PORTS, Map.of(), 1, true).hostConfig();
        assertThat(host.getNetworkMode()).isEqualTo(DockerRuntimeConfig.ISOLATED_NETWORK);
        assertThat(host.getNanoCPUs()).as("never more than the daemon's one CPU").isEqualTo(1_000_000_000L);
        assertThat(host.getMemory()).isEqualTo(DockerRuntimeConfig.DEFAULT_MEMORY);
        assertThat(host.getPidsLimit()).isEqualTo(DockerRuntimeConfig.DEFAULT_PIDS);
        HostConfig open = spec(RuntimeConfig.builder(), DockerRuntimeConfig.builder().isolateNetwork(false)
                .defaultLimits(false).build(), Map.of()).hostConfig();
        assertThat(open.getNetworkMode()).isNull();
        assertThat(open.getMemory()).isNull();
        assertThat(open.getPidsLimit()).isNull();
        assertThat(open.getNanoCPUs()).isNull();
    }
}
