package dev.agentruntime.e2b;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.spi.RuntimeProvider;
import java.util.Map;

/** Registers the E2B backend as runtime type {@value #TYPE} for {@link dev.agentruntime.RuntimeFactory}. */
public final class E2BRuntimeProvider implements RuntimeProvider {

    public static final String TYPE = "e2b";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Runtime create(RuntimeConfig config) {
        return new E2BRuntime(config, E2BConfig.from(config));
    }

    @Override
    public SandboxHousekeeping housekeeping(RuntimeConfig connection) {
        return new E2BSandboxes(E2BConfig.from(connection));
    }

    /** {@code E2B_API_KEY}, {@code E2B_DOMAIN}, {@code E2B_API_URL}, {@code E2B_SANDBOX_URL}. */
    @Override
    public Map<String, String> optionsFromEnvironment(Map<String, String> environment) {
        return E2BConfig.optionsFromEnvironment(environment);
    }
}
