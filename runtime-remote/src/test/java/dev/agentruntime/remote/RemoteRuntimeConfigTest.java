package dev.agentruntime.remote;

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

class RemoteRuntimeConfigTest {

    @Test
    void openHandsEnvironmentVariablesReachTheOptions() {
        RuntimeConfig config = RuntimeConfig.fromEnvironment(Map.of(
                "AGENT_RUNTIME_TYPE", "remote",
                "SANDBOX_REMOTE_RUNTIME_API_URL", "https://runtime.example.com",
                "SANDBOX_API_KEY", "k-1",
                "SANDBOX_RUNTIME_CONTAINER_IMAGE", "python:3.12-slim",
                "SANDBOX_REMOTE_RUNTIME_RESOURCE_FACTOR", "4",
                "SANDBOX_REMOTE_RUNTIME_CLASS", "sysbox",
                "SANDBOX_PAUSE_CLOSED_RUNTIMES", "false",
                "SANDBOX_REMOTE_RUNTIME_API_TIMEOUT", "120"));
        RemoteRuntimeConfig remote = RemoteRuntimeConfig.from(config);
        assertThat(remote.apiUrl()).isEqualTo(URI.create("https://runtime.example.com"));
        assertThat(remote.apiKey().reveal()).isEqualTo("k-1");
        assertThat(remote.image()).contains("python:3.12-slim");
        assertThat(remote.resourceFactor()).isEqualTo(4);
        assertThat(remote.runtimeClassOnTheWire()).contains("sysbox-runc");
        assertThat(remote.pauseOnClose()).isFalse();
        assertThat(remote.apiTimeout()).isEqualTo(Duration.ofSeconds(120));

        RemoteRuntimeConfig evaluation = RemoteRuntimeConfig.from(RuntimeConfig.fromEnvironment(Map.of(
                "AGENT_RUNTIME_TYPE", "remote", "SANDBOX_REMOTE_RUNTIME_API_URL", "http://gw:3000",
                "ALLHANDS_API_KEY", "eval-key")));
        assertThat(evaluation.apiKey().reveal()).as("OpenHands' evaluation variable").isEqualTo("eval-key");
        assertThat(evaluation.runtimeClassOnTheWire()).as("gvisor is the server's default, not sent").isEmpty();
    }

    @Test
    void optionsAreCheckedAndTheKeyNeverPrints() {
        RuntimeConfig config = RuntimeConfig.builder().type("remote").option("api.url", "http://gw:3000")
                .option("api-key", "very-secret").option("command", "java -jar /srv/server.jar 60000")
                .option("build.context", "/tmp/ctx").build();
        RemoteRuntimeConfig remote = RemoteRuntimeConfig.from(config);
        assertThat(remote.command()).containsExactly("java", "-jar", "/srv/server.jar", "60000");
        assertThat(remote.buildContext()).contains(Path.of("/tmp/ctx"));
        assertThat(remote.toString()).doesNotContain("very-secret").contains("REDACTED");

        assertThatThrownBy(() -> RemoteRuntimeConfig.from(config.toBuilder().option("api.ur", "x").build()))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("api.url");
        assertThatThrownBy(() -> RemoteRuntimeConfig.from(RuntimeConfig.builder().type("remote")
                .option("api.url", "http://gw").build())).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("SANDBOX_API_KEY");
        assertThatThrownBy(() -> RemoteRuntimeConfig.from(RuntimeConfig.builder().type("remote")
                .option("api.key", "k").build())).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("SANDBOX_REMOTE_RUNTIME_API_URL");
        assertThatThrownBy(() -> RemoteRuntimeConfig.builder().apiUrl(URI.create("ftp://x")).apiKey("k").build())
                .isInstanceOf(InvalidConfigException.class);
        assertThatThrownBy(() -> RemoteRuntimeConfig.builder().apiUrl(URI.create("http://x")).apiKey("k")
                .resourceFactor(3).build()).hasMessageContaining("1, 2, 4 or 8");
        assertThatThrownBy(() -> RemoteRuntimeConfig.builder().apiUrl(URI.create("http://x")).apiKey("k")
                .runtimeClass("kata").build()).hasMessageContaining("gvisor or sysbox");
    }

    @Test
    void theFactoryFindsTheRemoteType() {
        assertThat(RuntimeFactory.availableTypes()).contains("remote");
        RemoteRuntime runtime = (RemoteRuntime) RuntimeFactory.create(RuntimeConfig.builder().type("remote")
                .backendConfig(RemoteRuntimeConfig.builder().apiUrl(URI.create("http://gw:3000")).apiKey("k")
                        .command(List.of("a")).build()).build());
        assertThat(runtime.remoteConfig().command()).containsExactly("a");
        assertThat(runtime.toString()).contains("http://gw:3000").doesNotContain("k]");
        runtime.close();
    }
}
