package dev.agentruntime.modal;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.spi.Options;
import dev.agentruntime.spi.RuntimeProvider;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Registers the Modal backend as runtime type {@value #TYPE}. {@link RuntimeConfig#fromEnvironment()} reads Modal's
 * own settings the way its SDKs do: the profile of {@code MODAL_CONFIG_PATH} (default {@code ~/.modal.toml}) named
 * by {@code MODAL_PROFILE}, else the {@code active} one; then {@code MODAL_TOKEN_ID}, {@code MODAL_TOKEN_SECRET},
 * {@code MODAL_ENVIRONMENT}, {@code MODAL_SERVER_URL} and {@code MODAL_IMAGE_BUILDER_VERSION}, which win over the
 * file.
 */
public final class ModalRuntimeProvider implements RuntimeProvider {

    public static final String TYPE = "modal";

    private static final Map<String, String> ENVIRONMENT = Map.of(
            "MODAL_TOKEN_ID", "token.id",
            "MODAL_TOKEN_SECRET", "token.secret",
            "MODAL_ENVIRONMENT", "environment",
            "MODAL_SERVER_URL", "server.url",
            "MODAL_IMAGE_BUILDER_VERSION", "builder.version");

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Runtime create(RuntimeConfig config) {
        return new ModalRuntime(config);
    }

    /** Lists the app's sandboxes tagged by this library ({@code SandboxList}) and terminates them by session. */
    @Override
    public SandboxHousekeeping housekeeping(RuntimeConfig connection) {
        return new ModalSandboxes(ModalConfig.from(connection));
    }

    @Override
    public Map<String, String> optionsFromEnvironment(Map<String, String> environment) {
        Map<String, String> options = new LinkedHashMap<>();
        String home = environment.getOrDefault("HOME", System.getProperty("user.home"));
        Path file = Optional.ofNullable(environment.get("MODAL_CONFIG_PATH")).filter(p -> !p.isBlank()).map(Path::of)
                .orElseGet(() -> Path.of(home, ".modal.toml"));
        ModalProfile.load(file, Optional.ofNullable(environment.get("MODAL_PROFILE")).filter(p -> !p.isBlank()))
                .ifPresent(profile -> {
                    profile.tokenId().ifPresent(id -> options.put("token.id", id.reveal()));
                    profile.tokenSecret().ifPresent(secret -> options.put("token.secret", secret.reveal()));
                    profile.environment().ifPresent(env -> options.put("environment", env));
                    profile.serverUrl().ifPresent(url -> options.put("server.url", url));
                });
        options.putAll(Options.fromEnvironment(ENVIRONMENT, environment));
        return options;
    }
}
