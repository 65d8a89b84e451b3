package dev.agentruntime.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.gateway.internal.Signer;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayConfigTest {

    private static final String SECRET = "0123456789abcdef0123456789abcdef-secret";

    @Test
    void theFileIsReadAndEnvironmentVariablesWin(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("gateway.properties"), """
                listen.port = 8080
                public.url = https://gateway.example.com/
                secret = %s
                backend.type = docker
                backend.option.pull.policy = never
                sandbox.image = python:3.12-slim
                sandbox.memory = 2g
                sandbox.cpus = 1.5
                runtime.classes = sysbox-runc:sysbox-runc, gvisor:runsc
                key.alice.secret = alice-key
                key.alice.max-sessions = 3
                key.alice.idle-timeout = 15m
                key.bob.secret = bob-key
                """.formatted(SECRET));
        GatewayConfig config = GatewayConfig.load(Optional.of(file), Map.of(
                "AGENT_RUNTIME_GATEWAY_LISTEN_PORT", "9090",
                "AGENT_RUNTIME_GATEWAY_KEY_BOB_MAX_SESSIONS", "7",
                "AGENT_RUNTIME_GATEWAY_BACKEND_OPTION_BIND_ADDRESS", "0.0.0.0",
                "UNRELATED", "x"));
        assertThat(config.port()).isEqualTo(9090);
        assertThat(config.publicUrl()).contains(URI.create("https://gateway.example.com"));
        assertThat(config.backendOptions()).containsEntry("pull.policy", "never").containsEntry("bind.address",
                "0.0.0.0");
        assertThat(config.defaultImage()).contains("python:3.12-slim");
        assertThat(config.memoryBytes()).hasValue(2L << 30);
        assertThat(config.cpus()).hasValue(1.5);
        assertThat(config.runtimeClasses()).containsEntry("sysbox-runc", "sysbox-runc").containsEntry("gvisor", "runsc");
        assertThat(config.key("alice")).hasValueSatisfying(k -> {
            assertThat(k.maxSessions()).isEqualTo(3);
            assertThat(k.idleTimeout()).isEqualTo(Duration.ofMinutes(15));
        });
        assertThat(config.key("bob")).hasValueSatisfying(k -> assertThat(k.maxSessions()).isEqualTo(7));
        assertThat(config.idleOption()).contains("idle.timeout");
        assertThat(config.toString()).doesNotContain(SECRET).doesNotContain("alice-key").contains("alice");
    }

    @Test
    void theDocumentedExampleFileLoadsWithItsSecretsFromTheEnvironment() {
        GatewayConfig config = GatewayConfig.load(Optional.of(Path.of("gateway.properties.example")), Map.of(
                "AGENT_RUNTIME_GATEWAY_SECRET", SECRET, "AGENT_RUNTIME_GATEWAY_KEY_ALICE_SECRET", "alice-key"));
        assertThat(config.port()).isEqualTo(3000);
        assertThat(config.backendType()).isEqualTo("docker");
        assertThat(config.key("alice")).hasValueSatisfying(k -> {
            assertThat(k.maxSessions()).isEqualTo(10);
            assertThat(k.idleTimeout()).isEqualTo(Duration.ofMinutes(30));
        });
    }

    @Test
    void mistakesAreRefusedWithWhatToDo() {
        Map<String, String> base = Map.of("secret", SECRET, "key.alice.secret", "a");
        assertThatThrownBy(() -> GatewayConfig.fromProperties(Map.of("key.alice.secret", "a")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("openssl rand");
        assertThatThrownBy(() -> GatewayConfig.fromProperties(Map.of("secret", "short", "key.alice.secret", "a")))
                .hasMessageContaining("at least 32");
        assertThatThrownBy(() -> GatewayConfig.fromProperties(Map.of("secret", SECRET)))
                .hasMessageContaining("no API keys");
        assertThatThrownBy(() -> GatewayConfig.fromProperties(with(base, "listen.prot", "1")))
                .hasMessageContaining("listen.prot").hasMessageContaining("listen.port");
        assertThatThrownBy(() -> GatewayConfig.fromProperties(with(base, "key.alice.max.sesions", "1")))
                .hasMessageContaining("key.alice.max.sesions");
        assertThatThrownBy(() -> GatewayConfig.fromProperties(Map.of("secret", SECRET, "key.alice.max.sessions", "2")))
                .hasMessageContaining("key.alice.secret");
        assertThatThrownBy(() -> GatewayConfig.fromProperties(Map.of("secret", SECRET, "key.Al-ice.secret", "a")))
                .isInstanceOf(InvalidConfigException.class);
        assertThatThrownBy(() -> GatewayConfig.fromProperties(Map.of("secret", SECRET, "key.a.secret", "same",
                "key.b.secret", "same"))).hasMessageContaining("same secret");
        assertThatThrownBy(() -> GatewayConfig.fromProperties(with(base, "runtime.classes", "sysbox")))
                .hasMessageContaining("runtime_class:backend runtime");
        assertThatThrownBy(() -> GatewayConfig.fromProperties(with(base, "reap.interval", "soon")))
                .hasMessageContaining("reap.interval");
    }

    @Test
    void runtimeIdsAndSessionKeysAreDerivedTheSameWayByEveryReplicaAndDifferPerTenant() {
        GatewayConfig config = GatewayConfig.fromProperties(Map.of("secret", SECRET, "key.alice.secret", "ka",
                "key.bob.secret", "kb"));
        Signer one = new Signer(config);
        Signer other = new Signer(config);
        String id = one.runtimeId("alice", "sess-1");
        assertThat(id).matches(Signer.RUNTIME_ID_PATTERN).isEqualTo(other.runtimeId("alice", "sess-1"));
        assertThat(one.runtimeId("bob", "sess-1")).isNotEqualTo(id);
        assertThat(one.sessionKey(id)).isEqualTo(other.sessionKey(id));
        assertThat(one.sessionKeyMatches(id, other.sessionKey(id).reveal())).isTrue();
        assertThat(one.sessionKeyMatches(id, "nope")).isFalse();
        assertThat(one.sessionKeyMatches(id, null)).isFalse();
        Signer rotated = new Signer(GatewayConfig.fromProperties(Map.of("secret", SECRET + "-rotated",
                "key.alice.secret", "ka")));
        assertThat(rotated.runtimeId("alice", "sess-1")).isNotEqualTo(id);
        assertThat(one.tenant("kb")).hasValueSatisfying(k -> assertThat(k.name()).isEqualTo("bob"));
        assertThat(one.tenant("kc")).isEmpty();
        assertThat(one.tenant("")).isEmpty();
    }

    private static Map<String, String> with(Map<String, String> base, String key, String value) {
        Map<String, String> more = new java.util.HashMap<>(base);
        more.put(key, value);
        return more;
    }
}
