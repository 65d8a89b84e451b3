package dev.agentruntime.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Secrets print as REDACTED wherever they travel: config records, endpoints, launches, errors. */
class SecretTest {

    private static final String VALUE = "sk-live-1234567890";

    @Test
    void aSecretPrintsRedactedAndRevealsOnlyOnRequest() {
        Secret secret = Secret.of(VALUE);
        assertThat(secret.toString()).isEqualTo("REDACTED");
        assertThat(secret.reveal()).isEqualTo(VALUE);
        assertThat(secret).isEqualTo(Secret.of(VALUE)).isNotEqualTo(Secret.of(VALUE + "x"));
        assertThat(secret.hashCode()).isEqualTo(Secret.of("other").hashCode());
    }

    @Test
    void anEmptySecretIsRefused() {
        assertThatThrownBy(() -> Secret.of("")).isInstanceOf(InvalidConfigException.class);
        assertThatThrownBy(() -> Secret.of(null)).isInstanceOf(InvalidConfigException.class);
        assertThatThrownBy(() -> RuntimeConfig.builder().sessionApiKey("")).isInstanceOf(InvalidConfigException.class);
        assertThatThrownBy(() -> RuntimeConfig.fromEnvironment(Map.of("SESSION_API_KEY", "")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("SESSION_API_KEY is set but empty");
        assertThat(Secret.fromEnvironment(Map.of("K", ""), "K")).isEmpty();
    }

    @Test
    void noToStringAlongTheWayShowsTheValue() {
        Secret secret = Secret.of(VALUE);
        RuntimeConfig config = RuntimeConfig.builder().sessionApiKey(secret).option("api.key", VALUE).build();
        ServerEndpoint endpoint = ServerEndpoint.of(URI.create("https://host/prefix"), secret)
                .withSecretHeader("X-Token", secret).withHeader("X-Sandbox", "sb-1");
        ServerLaunch launch = ServerLaunch.forSession(config).java("/j").jar("/s.jar").port(1).build();
        for (Object o : new Object[] {config, endpoint, endpoint.headers(), launch, new Options[] {
                Options.of(config, java.util.Set.of("api.key"))}[0]}) {
            assertThat(o.toString()).as(o.getClass().getSimpleName()).doesNotContain(VALUE);
        }
        assertThat(endpoint.toString()).contains("X-Sandbox: sb-1").contains("X-Token: REDACTED");
        assertThat(launch.environment()).containsEntry("SESSION_API_KEY", VALUE);
    }
}
