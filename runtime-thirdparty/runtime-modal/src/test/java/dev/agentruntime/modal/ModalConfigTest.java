package dev.agentruntime.modal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModalConfigTest {

    @TempDir
    Path home;

    private final ModalRuntimeProvider provider = new ModalRuntimeProvider();

    private void toml(String text) throws Exception {
        Files.writeString(home.resolve(".modal.toml"), text);
    }

    @Test
    void theActiveProfileOfModalTomlIsReadAndEnvironmentVariablesWin() throws Exception {
        toml("""
                [personal]
                token_id = "ak-personal"
                token_secret = "as-personal"

                [work]
                token_id = "ak-work"
                token_secret = "as-work"
                environment = "dev"   # a comment
                active = true
                """);
        Map<String, String> options = provider.optionsFromEnvironment(Map.of("HOME", home.toString()));
        assertThat(options).containsEntry("token.id", "ak-work").containsEntry("token.secret", "as-work")
                .containsEntry("environment", "dev");
        options = provider.optionsFromEnvironment(Map.of("HOME", home.toString(), "MODAL_PROFILE", "personal",
                "MODAL_ENVIRONMENT", "prod", "MODAL_SERVER_URL", "https://api.example.test"));
        assertThat(options).containsEntry("token.id", "ak-personal").containsEntry("environment", "prod")
                .containsEntry("server.url", "https://api.example.test");
        assertThat(provider.optionsFromEnvironment(Map.of("HOME", home.toString(), "MODAL_TOKEN_ID", "ak-env",
                "MODAL_TOKEN_SECRET", "as-env"))).containsEntry("token.id", "ak-env")
                .containsEntry("token.secret", "as-env");
    }

    @Test
    void anUnknownProfileNamesTheOnesThereAre() throws Exception {
        toml("[a]\ntoken_id = \"ak-a\"\ntoken_secret = \"as-a\"\n");
        assertThatThrownBy(() -> provider.optionsFromEnvironment(Map.of("HOME", home.toString(),
                "MODAL_PROFILE", "b"))).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("'b'").hasMessageContaining("[a]");
    }

    @Test
    void optionsBecomeATypedConfigWithTokensRedacted() {
        RuntimeConfig config = RuntimeConfig.builder().type("modal").option("token.id", "ak-1")
                .option("token.secret", "as-1").option("timeout", "2h").option("idle.timeout", "5m")
                .option("ports", "8080, 9000").option("cpu", "1.5").option("memory", "2g").build();
        ModalConfig modal = ModalConfig.from(config);
        assertThat(modal.timeout()).isEqualTo(Duration.ofHours(2));
        assertThat(modal.idleTimeout()).contains(Duration.ofMinutes(5));
        assertThat(modal.ports()).containsExactly(8080, 9000);
        assertThat(modal.cpu()).contains(1.5);
        assertThat(modal.memoryBytes()).contains(2L * 1024 * 1024 * 1024);
        assertThat(modal.serverUrl()).isEqualTo(ModalConfig.DEFAULT_SERVER_URL);
        assertThat(modal.imageRecipe()).containsExactly("FROM " + ModalConfig.DEFAULT_IMAGE);
        assertThat(modal.toString()).doesNotContain("as-1").doesNotContain("ak-1");
    }

    @Test
    void badSettingsAreRefusedWithWhatToFix() {
        assertThatThrownBy(() -> ModalConfig.from(RuntimeConfig.builder().type("modal").build()))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("MODAL_TOKEN_ID");
        RuntimeConfig.Builder base = RuntimeConfig.builder().type("modal").option("token.id", "ak")
                .option("token.secret", "as");
        assertThatThrownBy(() -> ModalConfig.from(base.option("timeout", "25h").build()))
                .hasMessageContaining("24 h");
        assertThatThrownBy(() -> ModalConfig.from(base.option("timeout", "1h").option("workdir", "rel").build()))
                .hasMessageContaining("absolute");
        assertThatThrownBy(() -> ModalConfig.from(base.option("workdir", "/w").option("tokn.id", "x").build()))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("token.id");
        assertThatThrownBy(() -> ModalConfig.builder().token(dev.agentruntime.Secret.of("a"),
                dev.agentruntime.Secret.of("b")).dockerfileCommands(List.of("RUN true")).build())
                .hasMessageContaining("FROM");
    }

    @Test
    void aDockerfileIsReadAsTheRecipe() throws Exception {
        Path dockerfile = Files.writeString(home.resolve("Dockerfile"), """
                # the base
                FROM python:3.12-slim
                RUN apt-get update && \\
                    apt-get install -y curl
                ENV A=1
                """);
        ModalConfig modal = ModalConfig.builder().token(dev.agentruntime.Secret.of("a"), dev.agentruntime.Secret.of("b"))
                .dockerfile(dockerfile).build();
        assertThat(modal.imageRecipe()).containsExactly("FROM python:3.12-slim",
                "RUN apt-get update && apt-get install -y curl", "ENV A=1");
    }
}
