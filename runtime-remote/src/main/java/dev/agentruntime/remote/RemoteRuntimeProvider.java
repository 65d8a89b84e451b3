package dev.agentruntime.remote;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.spi.Options;
import dev.agentruntime.spi.RuntimeProvider;
import java.util.Map;

/**
 * Registers the remote backend as runtime type {@value #TYPE}. {@link RuntimeConfig#fromEnvironment()} reads
 * OpenHands' own variables: {@code SANDBOX_REMOTE_RUNTIME_API_URL}, {@code SANDBOX_API_KEY} (else
 * {@code ALLHANDS_API_KEY}, as OpenHands' evaluation scripts use), {@code SANDBOX_RUNTIME_CONTAINER_IMAGE},
 * {@code SANDBOX_REMOTE_RUNTIME_RESOURCE_FACTOR}, {@code SANDBOX_REMOTE_RUNTIME_CLASS},
 * {@code SANDBOX_PAUSE_CLOSED_RUNTIMES} and {@code SANDBOX_REMOTE_RUNTIME_API_TIMEOUT}.
 */
public final class RemoteRuntimeProvider implements RuntimeProvider {

    public static final String TYPE = "remote";

    private static final Map<String, String> ENVIRONMENT = Map.of(
            "SANDBOX_REMOTE_RUNTIME_API_URL", "api.url",
            "SANDBOX_RUNTIME_CONTAINER_IMAGE", "image",
            "SANDBOX_REMOTE_RUNTIME_RESOURCE_FACTOR", "resource.factor",
            "SANDBOX_REMOTE_RUNTIME_CLASS", "runtime.class",
            "SANDBOX_PAUSE_CLOSED_RUNTIMES", "pause.on.close",
            "SANDBOX_REMOTE_RUNTIME_API_TIMEOUT", "api.timeout");

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Runtime create(RuntimeConfig config) {
        return new RemoteRuntime(config);
    }

    /** Lists the API key's runtimes ({@code GET /list}) and stops them by session ({@code POST /stop}). */
    @Override
    public SandboxHousekeeping housekeeping(RuntimeConfig connection) {
        return new RemoteSandboxes(RemoteRuntimeConfig.from(connection));
    }

    @Override
    public Map<String, String> optionsFromEnvironment(Map<String, String> environment) {
        Map<String, String> options = Options.fromEnvironment(ENVIRONMENT, environment);
        String key = environment.get("SANDBOX_API_KEY");
        if (key == null || key.isEmpty()) {
            key = environment.get("ALLHANDS_API_KEY");
        }
        if (key != null && !key.isEmpty()) {
            options.put("api.key", key);
        }
        return options;
    }
}
