package dev.agentruntime.daytona;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import dev.agentruntime.spi.SessionLabels;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The typed config, the string options and environment variables it is read from, and the create body it makes. */
class DaytonaConfigTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void optionsBecomeTheTypedConfig() {
        DaytonaConfig c = DaytonaConfig.fromOptions(Map.ofEntries(Map.entry("api.url", "http://localhost:3000/api"),
                Map.entry("api.key", "k"), Map.entry("target", "eu"), Map.entry("image", "python:3.12"),
                Map.entry("cpu", "2"), Map.entry("memory", "4"), Map.entry("disk", "10"),
                Map.entry("env", "A=1, B=two"), Map.entry("labels", "team=ml"),
                Map.entry("auto.stop.interval", "30m"), Map.entry("auto.delete.interval", "1h"),
                Map.entry("server.port", "31000"), Map.entry("install.dir", "/home/daytona/.agent-runtime")));
        assertThat(c.apiUrl()).isEqualTo(URI.create("http://localhost:3000/api"));
        assertThat(c.apiKey()).contains(Secret.of("k"));
        assertThat(c.target()).hasValue("eu");
        assertThat(c.image()).hasValue("python:3.12");
        assertThat(c.cpu()).hasValue(2);
        assertThat(c.memoryGb()).hasValue(4);
        assertThat(c.diskGb()).hasValue(10);
        assertThat(c.environment()).isEqualTo(Map.of("A", "1", "B", "two"));
        assertThat(c.labels()).isEqualTo(Map.of("team", "ml"));
        assertThat(c.autoStopInterval()).isEqualTo(Duration.ofMinutes(30));
        assertThat(c.autoDeleteInterval()).hasValue(Duration.ofHours(1));
        assertThat(c.serverPort()).isEqualTo(31000);
        assertThat(c.installDir()).isEqualTo("/home/daytona/.agent-runtime");
        assertThat(c.toBuilder().build()).isEqualTo(c);
    }

    @Test
    void theDefaultsAreDaytonasCloudAndAFifteenMinuteAutoStop() {
        DaytonaConfig c = DaytonaConfig.builder().apiKey(Secret.of("k")).build();
        assertThat(c.apiUrl()).hasToString("https://app.daytona.io/api");
        assertThat(c.autoStopInterval()).isEqualTo(Duration.ofMinutes(15));
        assertThat(c.snapshot()).isEmpty();
        assertThat(c.installDir()).isEqualTo("/opt/agent-runtime");
    }

    @Test
    void credentialsAreRequiredAndNamedWhenMissing() {
        assertThatThrownBy(() -> DaytonaConfig.builder().build()).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("DAYTONA_API_KEY").hasMessageContaining("DAYTONA_JWT_TOKEN");
        assertThatThrownBy(() -> DaytonaConfig.builder().jwtToken(Secret.of("j")).build())
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("DAYTONA_ORGANIZATION_ID");
        assertThat(DaytonaConfig.builder().jwtToken(Secret.of("j")).organizationId("org").build().jwtToken())
                .isPresent();
    }

    @Test
    void secretsDoNotPrint() {
        String text = DaytonaConfig.builder().apiKey(Secret.of("dtn_very_secret")).build().toString();
        assertThat(text).doesNotContain("dtn_very_secret").contains("REDACTED");
    }

    @Test
    void conflictingAndInvalidSettingsAreRefusedWithTheReason() {
        DaytonaConfig.Builder base = DaytonaConfig.builder().apiKey(Secret.of("k"));
        assertThatThrownBy(() -> base.snapshot("s").image("i").build())
                .hasMessageContaining("snapshot or from an image, not both");
        assertThatThrownBy(() -> DaytonaConfig.builder().apiKey(Secret.of("k")).snapshot("s").cpu(2).build())
                .hasMessageContaining("only for sandboxes made from an image");
        assertThatThrownBy(() -> DaytonaConfig.builder().apiKey(Secret.of("k")).autoStopInterval(Duration.ofSeconds(90))
                .build()).hasMessageContaining("whole minutes");
        assertThatThrownBy(() -> DaytonaConfig.builder().apiKey(Secret.of("k")).apiUrl(URI.create("ftp://x")).build())
                .hasMessageContaining("http(s)");
        assertThatThrownBy(() -> DaytonaConfig.builder().apiKey(Secret.of("k")).env("BAD-NAME", "x").build())
                .hasMessageContaining("BAD-NAME");
        assertThatThrownBy(() -> DaytonaConfig.fromOptions(Map.of("api.key", "k", "labels", "novalue")))
                .hasMessageContaining("name=value");
        assertThatThrownBy(() -> DaytonaConfig.fromOptions(Map.of("api.key", "k", "snapshots", "x")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("snapshot");
    }

    @Test
    void daytonasEnvironmentVariablesBecomeOptions() {
        Map<String, String> options = new DaytonaRuntimeProvider().optionsFromEnvironment(Map.of(
                "DAYTONA_API_KEY", "k", "DAYTONA_API_URL", "http://h/api", "DAYTONA_TARGET", "us",
                "DAYTONA_JWT_TOKEN", "j", "DAYTONA_ORGANIZATION_ID", "o", "HOME", "/root"));
        assertThat(options).isEqualTo(Map.of("api.key", "k", "api.url", "http://h/api", "target", "us",
                "jwt.token", "j", "organization.id", "o"));
        assertThat(new DaytonaRuntimeProvider().optionsFromEnvironment(Map.of("DAYTONA_SERVER_URL", "http://old/api")))
                .containsEntry("api.url", "http://old/api");
    }

    @Test
    void theCreateBodyCarriesImageResourcesLabelsEnvTargetAndIntervals() throws Exception {
        DaytonaConfig daytona = DaytonaConfig.builder().apiKey(Secret.of("k")).image("python:3.12-slim").cpu(2)
                .memoryGb(4).diskGb(8).target("eu").env("A", "1").label("team", "ml").user("daytona")
                .autoArchiveInterval(Duration.ofDays(1)).build();
        RuntimeConfig config = RuntimeConfig.builder().type("daytona").sessionId("s-1").backendConfig(daytona).build();
        SessionLabels labels = SessionLabels.forSession(config);
        var body = new DaytonaRuntime(config, daytona).createBody(labels);
        assertThat(body.path("buildInfo").path("dockerfileContent").asText()).isEqualTo("FROM python:3.12-slim\n");
        assertThat(body.has("snapshot")).isFalse();
        assertThat(body.path("cpu").asInt()).isEqualTo(2);
        assertThat(body.path("memory").asInt()).isEqualTo(4);
        assertThat(body.path("disk").asInt()).isEqualTo(8);
        assertThat(body.path("target").asText()).isEqualTo("eu");
        assertThat(body.path("user").asText()).isEqualTo("daytona");
        assertThat(body.path("env")).isEqualTo(JSON.readTree("{\"A\":\"1\"}"));
        assertThat(body.path("labels").path("team").asText()).isEqualTo("ml");
        assertThat(body.path("labels").path("dev.agentruntime.session-id").asText()).isEqualTo("s-1");
        assertThat(body.path("labels").path("dev.agentruntime.managed-by").asText()).isEqualTo("agent-runtime");
        assertThat(body.path("autoStopInterval").asInt()).isEqualTo(15);
        assertThat(body.path("autoArchiveInterval").asInt()).isEqualTo(1440);
        assertThat(body.path("autoDeleteInterval").asInt()).as("an ordinary session goes when it auto-stops")
                .isZero();
    }

    @Test
    void aKeepAliveSessionIsNeverAutoDeletedAndASnapshotSendsNoResources() {
        DaytonaConfig daytona = DaytonaConfig.builder().apiKey(Secret.of("k")).snapshot("agent-runtime-server")
                .build();
        RuntimeConfig config = RuntimeConfig.builder().type("daytona").sessionId("s-2").keepAlive(true)
                .backendConfig(daytona).build();
        var body = new DaytonaRuntime(config, daytona).createBody(SessionLabels.forSession(config));
        assertThat(body.path("snapshot").asText()).isEqualTo("agent-runtime-server");
        assertThat(body.has("buildInfo")).isFalse();
        assertThat(body.has("cpu")).isFalse();
        assertThat(body.path("autoDeleteInterval").asInt()).isEqualTo(-1);
        assertThat(body.path("labels").path("dev.agentruntime.keep-alive").asText()).isEqualTo("true");
    }
}
