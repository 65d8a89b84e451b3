package dev.agentruntime.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DockerRuntimeConfigTest {

    @Test
    void defaultsAreSafe() {
        DockerRuntimeConfig c = DockerRuntimeConfig.defaults();
        assertThat(c.bindAddress()).isEqualTo("127.0.0.1");
        assertThat(c.privileged()).isFalse();
        assertThat(c.init()).isTrue();
        assertThat(c.hostNetwork()).isFalse();
        assertThat(c.pauseMode()).isEqualTo(PauseMode.FREEZE);
        assertThat(c.idleTimeout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(c.namePrefix()).isEqualTo("agent-runtime");
        assertThat(c.publishAppPorts()).as("only the server's port is published unless asked").isFalse();
    }

    @Test
    void everyOptionReachesTheTypedConfiguration() {
        Map<String, String> options = Map.ofEntries(
                Map.entry("image", "python:3.12-slim"), Map.entry("pull.policy", "never"),
                Map.entry("docker.host", "tcp://build:2376"), Map.entry("tls.cert.path", "/certs"),
                Map.entry("working.dir", "/work"), Map.entry("volumes", "/data:/data:ro, cache:/root/.cache"),
                Map.entry("workspace.mount", "/home/me/project"), Map.entry("user", "openhands:1000"),
                Map.entry("cpus", "1.5"), Map.entry("memory", "2g"), Map.entry("pids.limit", "512"),
                Map.entry("gpus", "0,2"), Map.entry("networks", "backend, db"),
                Map.entry("container.runtime", "runsc"), Map.entry("init", "false"),
                Map.entry("privileged", "true"), Map.entry("forward.logs", "yes"),
                Map.entry("bind.address", "0.0.0.0"), Map.entry("host.network", "false"),
                Map.entry("pause.mode", "stop"), Map.entry("idle.timeout", "90s"),
                Map.entry("name.prefix", "sbx"), Map.entry("isolate.network", "false"),
                Map.entry("default.limits", "false"), Map.entry("publish.app.ports", "true"));
        assertThat(options.keySet()).containsExactlyInAnyOrderElementsOf(DockerRuntimeConfig.OPTION_KEYS);
        DockerRuntimeConfig c = DockerRuntimeConfig.fromOptions(options);
        assertThat(c.image()).isEqualTo("python:3.12-slim");
        assertThat(c.pullPolicy()).isEqualTo(PullPolicy.NEVER);
        assertThat(c.dockerHost()).contains(URI.create("tcp://build:2376"));
        assertThat(c.tlsCertPath()).contains(Path.of("/certs"));
        assertThat(c.workingDir()).contains("/work");
        assertThat(c.volumes()).containsExactly(new DockerVolume("/data", "/data", true),
                new DockerVolume("cache", "/root/.cache", false));
        assertThat(c.workspaceMount()).contains(Path.of("/home/me/project"));
        assertThat(c.user()).contains(new SandboxUser("openhands", 1000));
        assertThat(c.cpus()).contains(1.5);
        assertThat(c.memoryBytes()).contains(2L << 30);
        assertThat(c.pidsLimit()).contains(512L);
        assertThat(c.gpus()).contains(GpuRequest.devices("0", "2"));
        assertThat(c.networks()).containsExactly("backend", "db");
        assertThat(c.containerRuntime()).contains("runsc");
        assertThat(c.init()).isFalse();
        assertThat(c.privileged()).isTrue();
        assertThat(c.forwardLogs()).isTrue();
        assertThat(c.bindAddress()).isEqualTo("0.0.0.0");
        assertThat(c.pauseMode()).isEqualTo(PauseMode.STOP);
        assertThat(c.idleTimeout()).isEqualTo(Duration.ofSeconds(90));
        assertThat(c.namePrefix()).isEqualTo("sbx");
        assertThat(c.isolateNetwork()).isFalse();
        assertThat(c.defaultLimits()).isFalse();
        assertThat(c.publishAppPorts()).isTrue();
    }

    @Test
    void unknownOptionsAreRejectedWithTheValidKeysListed() {
        assertThatThrownBy(() -> DockerRuntimeConfig.fromOptions(Map.of("imgae", "debian")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("[imgae]")
                .hasMessageContaining("Valid options: [bind.address, container.runtime, cpus");
    }

    @Test
    void malformedValuesNameTheOption() {
        assertThatThrownBy(() -> DockerRuntimeConfig.fromOptions(Map.of("cpus", "lots")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("option cpus");
        assertThatThrownBy(() -> DockerRuntimeConfig.fromOptions(Map.of("memory", "big")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("memory must look like 512m");
        assertThatThrownBy(() -> DockerRuntimeConfig.fromOptions(Map.of("init", "maybe")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("init must be true or false");
        assertThatThrownBy(() -> DockerRuntimeConfig.fromOptions(Map.of("publish.app.ports", "app")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("publish.app.ports must be true or false");
        assertThatThrownBy(() -> DockerRuntimeConfig.fromOptions(Map.of("pause.mode", "sleep")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("freeze, stop");
        assertThatThrownBy(() -> DockerRuntimeConfig.fromOptions(Map.of("volumes", "relative:/x:rx")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("valid modes: ro, rw");
    }

    @Test
    void contradictionsAndUnsafeValuesAreRefused() {
        assertThatThrownBy(() -> DockerRuntimeConfig.builder().hostNetwork(true).network("db").build())
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("hostNetwork cannot be combined");
        assertThatThrownBy(() -> DockerRuntimeConfig.builder().memoryBytes(1024).build())
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("at least 6m");
        assertThatThrownBy(() -> DockerRuntimeConfig.builder().idleTimeout(Duration.ofMillis(100)).build())
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("at least 2 seconds");
        assertThatThrownBy(() -> DockerRuntimeConfig.builder().workingDir("relative").build())
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("absolute");
        assertThatThrownBy(() -> DockerRuntimeConfig.builder().image(" ").build())
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("image must not be blank");
    }

    @Test
    void volumesParseDockersSyntax() {
        assertThat(DockerVolume.parse("/a:/b")).isEqualTo(new DockerVolume("/a", "/b", false));
        assertThat(DockerVolume.parse("/a:/b:ro").readOnly()).isTrue();
        assertThat(DockerVolume.parse("volume:pip:/root/.cache/pip").isNamedVolume()).isTrue();
        assertThat(DockerVolume.parse("pip:/root/.cache/pip").source()).isEqualTo("pip");
        assertThatThrownBy(() -> DockerVolume.parse("/a")).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("host-path-or-volume:container-path");
        assertThatThrownBy(() -> DockerVolume.parse("/a:relative")).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("absolute container path");
    }

    @Test
    void gpuRequestsParseAllOrDeviceIds() {
        assertThat(GpuRequest.parse("all").allDevices()).isTrue();
        assertThat(GpuRequest.parse("0, 1").deviceIds()).containsExactly("0", "1");
        assertThatThrownBy(() -> GpuRequest.parse("0,,1")).isInstanceOf(InvalidConfigException.class);
    }

    @Test
    void toStringShowsEnvironmentNamesButNotValues() {
        DockerRuntimeConfig c = DockerRuntimeConfig.builder().env("API_TOKEN", "s3cr3t-value").build();
        assertThat(c.toString()).contains("API_TOKEN").doesNotContain("s3cr3t-value");
    }

    @Test
    void toBuilderRoundTrips() {
        DockerRuntimeConfig c = DockerRuntimeConfig.builder().image("x:1").cpus(2).volume("/a:/b:ro")
                .gpus(GpuRequest.all()).user("u", 7).build();
        assertThat(c.toBuilder().build()).isEqualTo(c);
    }

    @Test
    void theProviderIsFoundAsTypeDocker() {
        assertThat(RuntimeFactory.availableTypes()).contains("docker");
        RuntimeConfig config = RuntimeConfig.builder().type("docker").option("image", "debian:bookworm-slim").build();
        try (dev.agentruntime.Runtime runtime = RuntimeFactory.create(config)) {
            assertThat(runtime).isInstanceOf(DockerRuntime.class);
            assertThat(((DockerRuntime) runtime).containerName()).isEqualTo("agent-runtime-" + config.sessionId());
        }
    }

    @Test
    void aTypedConfigAndOptionsTogetherAreRefused() {
        RuntimeConfig config = RuntimeConfig.builder().type("docker").option("image", "a")
                .backendConfig(DockerRuntimeConfig.defaults()).build();
        assertThatThrownBy(() -> new DockerRuntime(config)).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("both a DockerRuntimeConfig and string options");
    }

    @Test
    void unknownOptionsFailAtCreation() {
        RuntimeConfig config = RuntimeConfig.builder().type("docker").option("gpu", "all").build();
        assertThatThrownBy(() -> RuntimeFactory.create(config)).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("Unknown option(s) [gpu]").hasMessageContaining("gpus");
        assertThat(List.copyOf(DockerRuntimeConfig.OPTION_KEYS)).contains("gpus");
    }

    @Test
    void anUnreachableDaemonIsReportedWithItsEndpoint() {
        RuntimeConfig config = RuntimeConfig.builder().type("docker").backendConfig(DockerRuntimeConfig.builder()
                .dockerHost(URI.create("unix:///nonexistent/agent-runtime-test.sock")).build()).build();
        DockerRuntime runtime = new DockerRuntime(config);
        assertThatThrownBy(runtime::connect).isInstanceOf(dev.agentruntime.RuntimeUnavailableException.class)
                .hasMessageContaining("unix:///nonexistent/agent-runtime-test.sock")
                .hasMessageContaining("Is dockerd running");
        runtime.close();
        assertThat(runtime.status()).isEqualTo(dev.agentruntime.RuntimeStatus.CLOSED);
    }
}
