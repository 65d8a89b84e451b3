package dev.agentruntime.docker;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.ContainerNetwork;
import com.github.dockerjava.api.model.HostConfig;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.ErrorObservation;
import dev.agentruntime.FileReadAction;
import dev.agentruntime.Observation;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.testkit.RequiresDocker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Docker backend's half of the hardening (issue 15): the session key is in no container config or environment,
 * neighbouring sandboxes cannot reach each other's servers, limits are set by default, and a configured sandbox
 * user's file actions run as that user.
 */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DockerHardeningIT {

    private final DockerTestClient docker = new DockerTestClient();

    @AfterAll
    void close() {
        docker.close();
    }

    private static RuntimeConfig.Builder config(DockerRuntimeConfig.Builder dockerConfig) {
        String session = "it-hard-" + UUID.randomUUID().toString().substring(0, 8);
        return RuntimeConfig.builder().type("docker").sessionId(session).startupTimeout(Duration.ofMinutes(3))
                .backendConfig(dockerConfig.image(TestImages.DEBIAN).pullPolicy(PullPolicy.NEVER).build());
    }

    @Test
    void theSessionKeyIsInNoContainerConfigEnvironmentOrCommandLine() {
        String key = "hardening-key-" + UUID.randomUUID();
        try (DockerRuntime sandbox = new DockerRuntime(config(DockerRuntimeConfig.builder()).sessionApiKey(key)
                .build())) {
            sandbox.connect();
            InspectContainerResponse info = docker.inspect(sandbox.containerId().orElseThrow()).orElseThrow();
            assertThat(Arrays.toString(info.getConfig().getEnv())).doesNotContain(key);
            assertThat(String.join(" ", info.getConfig().getEntrypoint())).doesNotContain(key);
            assertThat(info.getConfig().getLabels().values()).noneMatch(v -> v.contains(key));
            // the shell runs as root here: it may read every process's environment and command line
            // the pattern goes to grep through a file, written by a builtin from two halves: grep's own command line
            // (listed when the glob expands after it started) must not carry the key
            int half = key.length() / 2;
            String found = sandbox.run(CmdRunAction.of("printf '%s%s\\n' '" + key.substring(0, half) + "' '"
                    + key.substring(half) + "' > /tmp/key-pattern && cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline"
                    + " 2>/dev/null | tr '\\\\0' '\\\\n' | grep -c -F -f /tmp/key-pattern || true")).content().strip();
            assertThat(found).as("processes whose environment or command line shows the key").isEqualTo("0");
            assertThat(sandbox.run("test -e " + dev.agentruntime.docker.internal.ContainerSpec.KEY_FILE
                    + " && echo present || echo gone").content()).as("the key file after the start").isEqualTo("gone");
            assertThat(sandbox.run("echo reachable").content()).isEqualTo("reachable");
        }
    }

    @Test
    void neighbouringSandboxesCannotReachEachOthersServersButTheHostCan() {
        try (DockerRuntime a = new DockerRuntime(config(DockerRuntimeConfig.builder()).build());
             DockerRuntime b = new DockerRuntime(config(DockerRuntimeConfig.builder()).build())) {
            a.connect();
            b.connect();
            InspectContainerResponse bInfo = docker.inspect(b.containerId().orElseThrow()).orElseThrow();
            ContainerNetwork network = bInfo.getNetworkSettings().getNetworks()
                    .get(DockerRuntimeConfig.ISOLATED_NETWORK);
            assertThat(network).as("b is on the isolated network").isNotNull();
            String ip = network.getIpAddress();
            String probe = a.run(CmdRunAction.of("timeout 3 bash -c 'exec 3<>/dev/tcp/" + ip + "/"
                    + SandboxImage.SERVER_PORT + "' 2>/dev/null && echo connected || echo refused")
                    .withTimeout(Duration.ofSeconds(20))).content().strip();
            assertThat(probe).as("a connecting to b's server at " + ip).isEqualTo("refused");
            assertThat(b.isHealthy()).as("the host still reaches b through its published port").isTrue();
            assertThat(docker.client().inspectNetworkCmd().withNetworkId(DockerRuntimeConfig.ISOLATED_NETWORK).exec()
                    .getOptions()).containsEntry("com.docker.network.bridge.enable_icc", "false");
        }
    }

    @Test
    void sandboxesGetDefaultLimitsUnlessTheyAreSwitchedOff() {
        try (DockerRuntime sandbox = new DockerRuntime(config(DockerRuntimeConfig.builder()).build())) {
            sandbox.connect();
            HostConfig host = docker.inspect(sandbox.containerId().orElseThrow()).orElseThrow().getHostConfig();
            assertThat(host.getPidsLimit()).isEqualTo(DockerRuntimeConfig.DEFAULT_PIDS);
            assertThat(host.getMemory()).isEqualTo(DockerRuntimeConfig.DEFAULT_MEMORY);
            assertThat(host.getNanoCPUs()).isPositive().isLessThanOrEqualTo(2_000_000_000L);
        }
    }

    @Test
    void aSandboxUsersFileActionsRunAsThatUser(@TempDir Path host) throws Exception {
        try (DockerRuntime sandbox = new DockerRuntime(config(DockerRuntimeConfig.builder().user("sbx", 1500))
                .build())) {
            sandbox.connect();
            Observation shadow = sandbox.read(FileReadAction.of("/etc/shadow"));
            assertThat(shadow).isInstanceOf(ErrorObservation.class);
            assertThat(shadow.content()).containsIgnoringCase("permission denied");
            sandbox.run("mkdir -p /tmp/uploads");
            sandbox.copyTo(Files.writeString(host.resolve("up.txt"), "uploaded"), "/tmp/uploads", false);
            assertThat(sandbox.run("stat -c '%U %a' /tmp/uploads/up.txt").content()).isEqualTo("sbx 644");
            assertThat(sandbox.run("whoami").content()).isEqualTo("sbx");
        }
    }
}
