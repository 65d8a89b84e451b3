package dev.agentruntime.daytona;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.spi.Options;
import dev.agentruntime.spi.RuntimeProvider;
import java.util.Map;

/** Registers the Daytona backend as runtime type {@value #TYPE} for {@link dev.agentruntime.RuntimeFactory}. */
public final class DaytonaRuntimeProvider implements RuntimeProvider {

    public static final String TYPE = "daytona";

    /** Daytona's own environment variables and the options they become. */
    static final Map<String, String> ENVIRONMENT = Map.of(
            "DAYTONA_API_KEY", "api.key",
            "DAYTONA_API_URL", "api.url",
            "DAYTONA_TARGET", "target",
            "DAYTONA_JWT_TOKEN", "jwt.token",
            "DAYTONA_ORGANIZATION_ID", "organization.id");

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Runtime create(RuntimeConfig config) {
        return new DaytonaRuntime(config);
    }

    @Override
    public SandboxHousekeeping housekeeping(RuntimeConfig connection) {
        return new DaytonaSandboxes(DaytonaConfig.from(connection));
    }

    /** {@code DAYTONA_API_KEY}, {@code DAYTONA_API_URL}, {@code DAYTONA_TARGET}, {@code DAYTONA_JWT_TOKEN}, {@code DAYTONA_ORGANIZATION_ID}. */
    @Override
    public Map<String, String> optionsFromEnvironment(Map<String, String> environment) {
        Map<String, String> options = Options.fromEnvironment(ENVIRONMENT, environment);
        if (!options.containsKey("api.url") && environment.get("DAYTONA_SERVER_URL") != null) {
            options.put("api.url", environment.get("DAYTONA_SERVER_URL")); // Daytona's deprecated name
        }
        return options;
    }
}
