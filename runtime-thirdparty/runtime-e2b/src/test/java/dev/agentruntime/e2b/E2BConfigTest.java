package dev.agentruntime.e2b;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.Secret;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class E2BConfigTest {

    @Test
    void optionsBecomeTheTypedConfigWithE2BsDefaults() {
        E2BConfig config = E2BConfig.from(RuntimeConfig.builder().type("e2b").option("api.key", "e2b_123").build());
        assertThat(config.domain()).isEqualTo("e2b.app");
        assertThat(config.apiUrl()).isEqualTo(URI.create("https://api.e2b.app"));
        assertThat(config.sandboxUrl()).isEmpty();
        assertThat(config.template()).isEqualTo("base");
        assertThat(config.timeout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(config.serverPort()).isEqualTo(49999);
        assertThat(config.installDir()).isEqualTo("/opt/agent-runtime");

        E2BConfig custom = E2BConfig.from(RuntimeConfig.builder().type("e2b").option("api.key", "e2b_123")
                .option("domain", "e2b.example.com").option("sandbox-url", "http://127.0.0.1:9")
                .option("TEMPLATE", "my-template").option("timeout", "10m").option("auto.pause", "yes")
                .option("public.traffic", "off").option("allow.out", "10.0.0.0/8, 1.1.1.1").option("server.port", "8000")
                .build());
        assertThat(custom.apiUrl()).as("derived from the domain").isEqualTo(URI.create("https://api.e2b.example.com"));
        assertThat(custom.sandboxUrl()).contains(URI.create("http://127.0.0.1:9"));
        assertThat(custom.template()).isEqualTo("my-template");
        assertThat(custom.timeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(custom.autoPause()).isTrue();
        assertThat(custom.publicTraffic()).contains(false);
        assertThat(custom.internetAccess()).isEmpty();
        assertThat(custom.allowOut()).containsExactly("10.0.0.0/8", "1.1.1.1");
        assertThat(custom.serverPort()).isEqualTo(8000);
    }

    @Test
    void theEnvironmentNamesE2BsVariables() {
        RuntimeConfig config = RuntimeConfig.fromEnvironment(Map.of("AGENT_RUNTIME_TYPE", "e2b",
                "E2B_API_KEY", "e2b_abc", "E2B_DOMAIN", "e2b.dev", "E2B_API_URL", "http://localhost:3000",
                "E2B_SANDBOX_URL", "http://localhost:49983"));
        E2BConfig e2b = E2BConfig.from(config);
        assertThat(e2b.apiKey()).isEqualTo(Secret.of("e2b_abc"));
        assertThat(e2b.domain()).isEqualTo("e2b.dev");
        assertThat(e2b.apiUrl()).isEqualTo(URI.create("http://localhost:3000"));
        assertThat(e2b.sandboxUrl()).contains(URI.create("http://localhost:49983"));
    }

    @Test
    void badInputIsRefusedWithWhatToFix() {
        assertThatThrownBy(() -> E2BConfig.from(RuntimeConfig.builder().type("e2b").build()))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("E2B_API_KEY");
        assertThatThrownBy(() -> E2BConfig.from(RuntimeConfig.builder().type("e2b").option("api.key", "k")
                .option("templte", "x").build())).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("templte").hasMessageContaining("template");
        assertThatThrownBy(() -> E2BConfig.from(RuntimeConfig.builder().type("e2b").option("api.key", "k")
                .option("timeout", "48h").build())).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("24h");
        assertThatThrownBy(() -> E2BConfig.from(RuntimeConfig.builder().type("e2b").option("api.key", "k")
                .option("server.port", "49983").build())).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("envd");
        assertThatThrownBy(() -> E2BConfig.from(RuntimeConfig.builder().type("e2b").option("api.key", "k")
                .option("api.url", "ftp://x").build())).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("api.url");
        assertThatThrownBy(() -> E2BConfig.from(RuntimeConfig.builder().type("e2b").option("api.key", "k")
                .backendConfig(E2BConfig.builder().apiKey(Secret.of("k")).build()).build()))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("both");
    }

    @Test
    void theKeyNeverPrints() {
        E2BConfig config = E2BConfig.builder().apiKey(Secret.of("e2b_supersecret")).build();
        assertThat(config.toString()).doesNotContain("supersecret").contains("REDACTED");
        assertThat(config.toBuilder().build()).isEqualTo(config);
    }

    @Test
    void theProviderIsFoundByTypeAndDeclaresPauseAndAttach() {
        try (Runtime runtime = RuntimeFactory.create(RuntimeConfig.builder().type("e2b")
                .backendConfig(E2BConfig.builder().apiKey(Secret.of("e2b_1")).build()).build())) {
            assertThat(runtime).isInstanceOf(E2BRuntime.class);
            assertThat(runtime.capabilities()).contains(dev.agentruntime.Capability.PAUSE_RESUME,
                    dev.agentruntime.Capability.ATTACH, dev.agentruntime.Capability.ISOLATION,
                    dev.agentruntime.Capability.WEB_HOSTS);
            assertThat(((E2BRuntime) runtime).sandboxId()).isEmpty();
            assertThat(runtime.webHosts()).as("not connected").isEmpty();
        }
        for (E2BConfig noPlainHosts : List.of(
                E2BConfig.builder().apiKey(Secret.of("e2b_1")).sandboxUrl(URI.create("http://127.0.0.1:1")).build(),
                E2BConfig.builder().apiKey(Secret.of("e2b_1")).publicTraffic(false).build())) {
            try (Runtime runtime = RuntimeFactory.create(RuntimeConfig.builder().type("e2b")
                    .backendConfig(noPlainHosts).build())) {
                assertThat(runtime.capabilities()).as("ports need headers: " + noPlainHosts)
                        .doesNotContain(dev.agentruntime.Capability.WEB_HOSTS);
            }
        }
    }

    @Test
    void sandboxHostsFollowE2BsPortScheme() {
        E2BRuntime runtime = new E2BRuntime(RuntimeConfig.builder().type("e2b").sessionApiKey("k-123").build(),
                E2BConfig.builder().apiKey(Secret.of("e2b_1")).build());
        var sandbox = new dev.agentruntime.e2b.internal.E2BApi.Sandbox("i1abc", "base", "0.5.8",
                Optional.of(Secret.of("envd")), Optional.of(Secret.of("traffic")), Optional.empty());
        assertThat(runtime.envdUrl(sandbox)).isEqualTo(URI.create("https://49983-i1abc.e2b.app"));
        var endpoint = runtime.endpoint(sandbox);
        assertThat(endpoint.baseUrl()).isEqualTo(URI.create("https://49999-i1abc.e2b.app"));
        assertThat(endpoint.headers()).extracting(h -> h.name() + "=" + h.value().reveal())
                .containsExactly("e2b-traffic-access-token=traffic");
        assertThat(endpoint.toString()).doesNotContain("traffic\"").doesNotContain("=traffic");

        E2BRuntime routed = new E2BRuntime(RuntimeConfig.builder().type("e2b").build(), E2BConfig.builder()
                .apiKey(Secret.of("e2b_1")).sandboxUrl(URI.create("http://127.0.0.1:7")).build());
        var onDomain = new dev.agentruntime.e2b.internal.E2BApi.Sandbox("i1abc", "base", "0.5.8", Optional.empty(),
                Optional.empty(), Optional.of("eu.e2b.dev"));
        assertThat(routed.envdUrl(onDomain)).isEqualTo(URI.create("http://127.0.0.1:7"));
        assertThat(routed.endpoint(onDomain).headers()).extracting(h -> h.name() + "=" + h.value().reveal())
                .containsExactly("E2b-Sandbox-Id=i1abc", "E2b-Sandbox-Port=49999");
        assertThat(new E2BRuntime(RuntimeConfig.builder().type("e2b").build(), E2BConfig.builder()
                .apiKey(Secret.of("e2b_1")).build()).endpoint(onDomain).baseUrl())
                .as("the sandbox's own domain wins").isEqualTo(URI.create("https://49999-i1abc.eu.e2b.dev"));
        assertThat(List.of(runtime, routed)).allSatisfy(Runtime::close);
    }
}
