package dev.agentruntime.runloop;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.spi.RuntimeProvider;
import java.util.Map;

/** Registers the Runloop backend as runtime type {@value #TYPE} for {@link dev.agentruntime.RuntimeFactory}. */
public final class RunloopRuntimeProvider implements RuntimeProvider {

    public static final String TYPE = "runloop";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Runtime create(RuntimeConfig config) {
        return new RunloopRuntime(config);
    }

    @Override
    public SandboxHousekeeping housekeeping(RuntimeConfig connection) {
        return new RunloopSandboxes(RunloopConfig.from(connection));
    }

    /** {@code RUNLOOP_API_KEY} → {@code api.key}, {@code RUNLOOP_BASE_URL} → {@code base.url}. */
    @Override
    public Map<String, String> optionsFromEnvironment(Map<String, String> environment) {
        return RunloopConfig.optionsFromEnvironment(environment);
    }
}
