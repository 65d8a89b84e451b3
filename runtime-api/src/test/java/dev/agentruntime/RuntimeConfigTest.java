package dev.agentruntime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.spi.BackendConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RuntimeConfigTest {

    private static final String SECRET = "s3cr3t-session-key-0123456789";

    @Test
    void defaultsMatchOpenHands() {
        RuntimeConfig config = RuntimeConfig.builder().build();
        assertThat(config.type()).isEqualTo("local");
        assertThat(config.sessionId()).matches("ar-[0-9a-f]{12}");
        assertThat(config.workspace()).isEmpty();
        assertThat(config.sandboxWorkspace()).isEqualTo("/workspace");
        assertThat(config.environment()).isEmpty();
        assertThat(config.actionTimeout()).isEqualTo(Duration.ofSeconds(120));
        assertThat(config.startupTimeout()).isEqualTo(Duration.ofSeconds(120));
        assertThat(config.noChangeTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(config.sessionApiKey()).isEmpty();
        assertThat(config.options()).isEmpty();
        assertThat(config.backendConfig()).isEmpty();
        assertThat(config.statusListener()).isSameAs(StatusListener.NONE);
        assertThat(config.attachToExisting()).isFalse();
        assertThat(config.keepAlive()).isFalse();
    }

    @Test
    void eachBuildWithoutSessionIdGetsAFreshOne() {
        assertThat(RuntimeConfig.builder().build().sessionId())
                .isNotEqualTo(RuntimeConfig.builder().build().sessionId());
    }

    @Test
    void toBuilderRoundTripsEveryField() {
        BackendConfig backend = new BackendConfig() { };
        StatusListener listener = event -> { };
        RuntimeConfig config = RuntimeConfig.builder()
                .type("docker")
                .sessionId("session-1")
                .workspace(Path.of("/tmp/ws"))
                .sandboxWorkspace("/home/user/ws")
                .env("GREETING", "hello")
                .actionTimeout(Duration.ofSeconds(30))
                .startupTimeout(Duration.ofMinutes(3))
                .noChangeTimeout(Duration.ofSeconds(5))
                .sessionApiKey(SECRET)
                .option("docker.image", "ubuntu:24.04")
                .backendConfig(backend)
                .statusListener(listener)
                .attachToExisting(true)
                .keepAlive(true)
                .label("tenant", "t-1")
                .build();
        RuntimeConfig copy = config.toBuilder().build();
        assertThat(copy).isEqualTo(config);
        assertThat(copy.backendConfig()).containsSame(backend);
        assertThat(copy.statusListener()).isSameAs(listener);

        RuntimeConfig variant = config.toBuilder().actionTimeout(Duration.ofSeconds(1)).build();
        assertThat(variant.actionTimeout()).isEqualTo(Duration.ofSeconds(1));
        assertThat(config.actionTimeout()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void configIsImmutable() {
        Map<String, String> env = new HashMap<>(Map.of("A", "1"));
        RuntimeConfig config = RuntimeConfig.builder().environment(env).build();
        env.put("B", "2");
        assertThat(config.environment()).containsOnlyKeys("A");
        assertThatThrownBy(() -> config.environment().put("C", "3")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> config.options().put("c", "3")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void blankTypeIsRejected() {
        assertThatThrownBy(() -> RuntimeConfig.builder().type(" ").build())
                .isInstanceOf(InvalidConfigException.class)
                .hasMessage("type must not be blank");
        assertThatThrownBy(() -> RuntimeConfig.builder().type(null).build())
                .isInstanceOf(InvalidConfigException.class)
                .hasMessage("type must not be blank");
    }

    @Test
    void badSessionIdIsRejectedWithTheRule() {
        assertThatThrownBy(() -> RuntimeConfig.builder().sessionId("has space").build())
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageStartingWith("sessionId 'has space' is not valid: use 1-63 letters, digits, '_', '.' or '-'")
                .hasMessageContaining("it names containers and pods");
        assertThatThrownBy(() -> RuntimeConfig.builder().sessionId("-leading-dash").build())
                .isInstanceOf(InvalidConfigException.class);
        assertThatThrownBy(() -> RuntimeConfig.builder().sessionId("x".repeat(64)).build())
                .isInstanceOf(InvalidConfigException.class);
        assertThat(RuntimeConfig.builder().sessionId("x".repeat(63)).build().sessionId()).hasSize(63);
    }

    @Test
    void relativeSandboxWorkspaceIsRejected() {
        assertThatThrownBy(() -> RuntimeConfig.builder().sandboxWorkspace("workspace").build())
                .isInstanceOf(InvalidConfigException.class)
                .hasMessage("sandboxWorkspace must be an absolute path, was 'workspace'");
    }

    @Test
    void badEnvironmentVariableNameIsRejected() {
        assertThatThrownBy(() -> RuntimeConfig.builder().env("MY-VAR", "x").build())
                .isInstanceOf(InvalidConfigException.class)
                .hasMessage("environment variable name 'MY-VAR' is not a valid shell identifier ([A-Za-z_][A-Za-z0-9_]*)");
        assertThatThrownBy(() -> RuntimeConfig.builder().env("1ABC", "x").build())
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("'1ABC'");
    }

    @Test
    void nullEnvironmentValueIsRejectedByName() {
        assertThatThrownBy(() -> RuntimeConfig.builder().env("EMPTY", null).build())
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("'EMPTY'");
    }

    @Test
    void nullOptionValueIsRejectedByName() {
        assertThatThrownBy(() -> RuntimeConfig.builder().option("docker.image", null).build())
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("'docker.image'");
    }

    @Test
    void nonPositiveDurationsAreRejected() {
        assertThatThrownBy(() -> RuntimeConfig.builder().actionTimeout(Duration.ZERO).build())
                .isInstanceOf(InvalidConfigException.class)
                .hasMessage("actionTimeout must be a positive duration, was PT0S");
        assertThatThrownBy(() -> RuntimeConfig.builder().startupTimeout(Duration.ofSeconds(-1)).build())
                .isInstanceOf(InvalidConfigException.class)
                .hasMessage("startupTimeout must be a positive duration, was PT-1S");
        assertThatThrownBy(() -> RuntimeConfig.builder().noChangeTimeout(null).build())
                .isInstanceOf(InvalidConfigException.class)
                .hasMessage("noChangeTimeout must be a positive duration, was null");
    }

    @Test
    void validationFailuresAreNotTransient() {
        assertThatThrownBy(() -> RuntimeConfig.builder().type("").build())
                .isInstanceOfSatisfying(AgentRuntimeException.class, e -> assertThat(e.isTransient()).isFalse());
    }

    @Test
    void fromEnvironmentReadsTypedSettings() {
        RuntimeConfig config = RuntimeConfig.fromEnvironment(Map.of(
                "AGENT_RUNTIME_TYPE", "docker",
                "AGENT_RUNTIME_SESSION_ID", "env-session",
                "AGENT_RUNTIME_WORKSPACE", "/tmp/ws",
                "AGENT_RUNTIME_ACTION_TIMEOUT_SECONDS", "2.5",
                "AGENT_RUNTIME_STARTUP_TIMEOUT_SECONDS", "300",
                "SESSION_API_KEY", SECRET,
                "PATH", "/usr/bin"));
        assertThat(config.type()).isEqualTo("docker");
        assertThat(config.sessionId()).isEqualTo("env-session");
        assertThat(config.workspace()).contains(Path.of("/tmp/ws"));
        assertThat(config.actionTimeout()).isEqualTo(Duration.ofMillis(2500));
        assertThat(config.startupTimeout()).isEqualTo(Duration.ofSeconds(300));
        assertThat(config.sessionApiKey()).contains(Secret.of(SECRET));
        assertThat(config.environment()).isEmpty();
    }

    @Test
    void fromEnvironmentMapsSandboxEnvAndOptions() {
        RuntimeConfig config = RuntimeConfig.fromEnvironment(Map.of(
                "SANDBOX_ENV_GITHUB_TOKEN", "ghp_x",
                "SANDBOX_ENV_LANG", "C.UTF-8",
                "SANDBOX_ENV_", "ignored: no name",
                "AGENT_RUNTIME_OPTION_DOCKER_IMAGE", "ubuntu:24.04",
                "AGENT_RUNTIME_OPTION_", "ignored: no key"));
        assertThat(config.environment()).containsExactlyInAnyOrderEntriesOf(Map.of(
                "GITHUB_TOKEN", "ghp_x", "LANG", "C.UTF-8"));
        assertThat(config.options()).containsExactlyInAnyOrderEntriesOf(Map.of("docker.image", "ubuntu:24.04"));
    }

    @Test
    void fromEnvironmentOfAnEmptyMapGivesDefaults() {
        RuntimeConfig config = RuntimeConfig.fromEnvironment(Map.of());
        assertThat(config.type()).isEqualTo("local");
        assertThat(config.actionTimeout()).isEqualTo(RuntimeConfig.DEFAULT_ACTION_TIMEOUT);
    }

    @Test
    void fromEnvironmentRejectsABadNumberNamingTheVariable() {
        assertThatThrownBy(() -> RuntimeConfig.fromEnvironment(Map.of("AGENT_RUNTIME_ACTION_TIMEOUT_SECONDS", "two")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessage("AGENT_RUNTIME_ACTION_TIMEOUT_SECONDS must be a positive number of seconds, was 'two'");
    }

    @Test
    void fromEnvironmentRejectsNonPositiveOrNonFiniteSecondsNamingTheVariable() {
        assertThatThrownBy(() -> RuntimeConfig.fromEnvironment(Map.of("AGENT_RUNTIME_ACTION_TIMEOUT_SECONDS", "-5")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessage("AGENT_RUNTIME_ACTION_TIMEOUT_SECONDS must be a positive number of seconds, was '-5'");
        assertThatThrownBy(() -> RuntimeConfig.fromEnvironment(Map.of("AGENT_RUNTIME_STARTUP_TIMEOUT_SECONDS", "NaN")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("AGENT_RUNTIME_STARTUP_TIMEOUT_SECONDS");
        assertThatThrownBy(() -> RuntimeConfig.fromEnvironment(Map.of("AGENT_RUNTIME_STARTUP_TIMEOUT_SECONDS", "Infinity")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("AGENT_RUNTIME_STARTUP_TIMEOUT_SECONDS");
    }

    @Test
    void toStringNeverContainsTheApiKeyOrEnvironmentValues() {
        RuntimeConfig config = RuntimeConfig.builder().sessionApiKey(SECRET).env("GITHUB_TOKEN", "ghp_secret")
                .option("e2b.api.key", "e2b_secret").build();
        assertThat(config.toString())
                .doesNotContain(SECRET)
                .doesNotContain("ghp_secret")
                .doesNotContain("e2b_secret")
                .contains("sessionApiKey=REDACTED")
                .contains("GITHUB_TOKEN");
        assertThat(RuntimeConfig.builder().build().toString()).contains("sessionApiKey=(generated)");
    }

    @Test
    void sessionApiKeyOrGeneratePrefersTheConfiguredKey() {
        assertThat(RuntimeConfig.builder().sessionApiKey(SECRET).build().sessionApiKeyOrGenerate().reveal())
                .isEqualTo(SECRET);
        RuntimeConfig unset = RuntimeConfig.builder().build();
        assertThat(unset.sessionApiKeyOrGenerate().reveal()).matches("[0-9a-f]{48}")
                .isNotEqualTo(unset.sessionApiKeyOrGenerate().reveal());
        assertThat(RuntimeConfig.randomKey()).matches("[0-9a-f]{48}").isNotEqualTo(RuntimeConfig.randomKey());
    }
}
