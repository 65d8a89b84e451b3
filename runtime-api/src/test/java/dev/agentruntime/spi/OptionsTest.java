package dev.agentruntime.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class OptionsTest {

    private static final Set<String> KEYS = Set.of("image", "pull.policy", "init", "idle.timeout", "memory", "cpus",
            "networks", "api.key", "docker.host", "work.dir", "count");

    private static Options of(Map<String, String> options) {
        return Options.of("docker", options, KEYS);
    }

    @Test
    void unknownKeysAreListedWithTheValidOnes() {
        assertThatThrownBy(() -> of(Map.of("imgae", "x", "zzz", "1")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessage("Unknown option(s) [imgae, zzz] for runtime type 'docker'. Valid options: [api.key, count,"
                        + " cpus, docker.host, idle.timeout, image, init, memory, networks, pull.policy, work.dir]");
    }

    @Test
    void dashesUnderscoresAndCaseNameTheSameKey() {
        Options options = of(Map.of("Pull_Policy", "never", "idle-timeout", "90s"));
        assertThat(options.string("pull.policy")).contains("never");
        assertThat(options.duration("idle.timeout")).contains(Duration.ofSeconds(90));
        assertThatThrownBy(() -> of(Map.of("pull-policy", "never", "pull.policy", "always")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("given twice");
    }

    @Test
    void everyBooleanSpellingIsAcceptedAndNothingElse() {
        for (String yes : List.of("true", "TRUE", "yes", "on", "1")) {
            assertThat(of(Map.of("init", yes)).bool("init", false)).as(yes).isTrue();
        }
        for (String no : List.of("false", "No", "off", "0")) {
            assertThat(of(Map.of("init", no)).bool("init", true)).as(no).isFalse();
        }
        assertThat(of(Map.of()).bool("init", true)).isTrue();
        assertThatThrownBy(() -> of(Map.of("init", "maybe")).bool("init", true))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("option init must be true or false");
    }

    @Test
    void sizesAndDurationsParseLikeDockerWritesThem() {
        assertThat(Options.parseBytes("x", "512m")).isEqualTo(512L << 20);
        assertThat(Options.parseBytes("x", "1.5g")).isEqualTo(3L << 29);
        assertThat(Options.parseBytes("x", "64kb")).isEqualTo(64L << 10);
        assertThat(Options.parseBytes("x", "2GiB")).isEqualTo(2L << 30);
        assertThat(Options.parseBytes("x", "1048576")).isEqualTo(1L << 20);
        assertThat(Options.parseDuration("x", "5m")).isEqualTo(Duration.ofMinutes(5));
        assertThat(Options.parseDuration("x", "1h")).isEqualTo(Duration.ofHours(1));
        assertThat(Options.parseDuration("x", "2d")).isEqualTo(Duration.ofDays(2));
        assertThat(Options.parseDuration("x", "250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(Options.parseDuration("x", "PT30S")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Options.parseDuration("x", "45")).isEqualTo(Duration.ofSeconds(45));
        assertThat(Options.parseDuration("x", "0")).isEqualTo(Duration.ZERO);
        for (String bad : List.of("-5s", "soon", "1e400", "", "5x")) {
            assertThatThrownBy(() -> Options.parseDuration("option idle.timeout", bad)).as(bad)
                    .isInstanceOf(InvalidConfigException.class).hasMessageContaining("option idle.timeout must look like");
        }
        assertThatThrownBy(() -> of(Map.of("memory", "big")).bytes("memory"))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("memory must look like 512m");
    }

    @Test
    void typedReadersNameTheOptionOnBadValues() {
        Options options = of(Map.of("cpus", "1.5", "count", "3", "networks", " a, ,b ", "docker.host", "tcp://h:2376",
                "work.dir", "/w", "api.key", "k-123"));
        assertThat(options.decimal("cpus")).contains(1.5);
        assertThat(options.integer("count")).contains(3);
        assertThat(options.list("networks")).containsExactly("a", "b");
        assertThat(options.uri("docker.host")).contains(URI.create("tcp://h:2376"));
        assertThat(options.path("work.dir")).contains(Path.of("/w"));
        assertThat(options.secret("api.key")).contains(Secret.of("k-123"));
        assertThat(options.toString()).doesNotContain("k-123");
        assertThatThrownBy(() -> of(Map.of("cpus", "lots")).decimal("cpus")).hasMessageContaining("option cpus");
        assertThatThrownBy(() -> of(Map.of("count", "3.5")).integer("count")).hasMessageContaining("option count");
        assertThatThrownBy(() -> of(Map.of("docker.host", "no scheme")).uri("docker.host"))
                .hasMessageContaining("option docker.host must be a URI");
        assertThatThrownBy(() -> of(Map.of("image", "x")).parsed("image", v -> {
            throw new IllegalArgumentException("nope");
        }, "a known image")).hasMessageContaining("option image must be a known image, was 'x'");
    }

    record TypedConfig(String image) implements BackendConfig {
    }

    @Test
    void typedConfigWinsAndGivingBothIsAnError() {
        RuntimeConfig typed = RuntimeConfig.builder().type("t").backendConfig(new TypedConfig("from-typed")).build();
        assertThat(Options.typedConfig(typed, TypedConfig.class, KEYS, o -> new TypedConfig("from-options")).image())
                .isEqualTo("from-typed");
        RuntimeConfig options = RuntimeConfig.builder().type("t").option("image", "from-options").build();
        assertThat(Options.typedConfig(options, TypedConfig.class, KEYS,
                o -> new TypedConfig(o.string("image", "?"))).image()).isEqualTo("from-options");
        RuntimeConfig both = typed.toBuilder().option("image", "x").build();
        assertThatThrownBy(() -> Options.typedConfig(both, TypedConfig.class, KEYS, o -> new TypedConfig("?")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("has both a TypedConfig and string"
                        + " options [image]");
        RuntimeConfig wrong = RuntimeConfig.builder().type("t").backendConfig(new BackendConfig() { }).build();
        assertThatThrownBy(() -> Options.typedConfig(wrong, TypedConfig.class, KEYS, o -> new TypedConfig("?")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("takes a TypedConfig");
    }
}
