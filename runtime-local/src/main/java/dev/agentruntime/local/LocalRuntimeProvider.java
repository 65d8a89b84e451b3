package dev.agentruntime.local;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.spi.RuntimeProvider;

/** Registers the {@code "local"} backend with {@link dev.agentruntime.RuntimeFactory}. */
public final class LocalRuntimeProvider implements RuntimeProvider {

    @Override
    public String type() {
        return "local";
    }

    @Override
    public Runtime create(RuntimeConfig config) {
        return new LocalRuntime(config, LocalRuntimeConfig.from(config));
    }

    @Override
    public SandboxHousekeeping housekeeping(RuntimeConfig connection) {
        LocalRuntimeConfig.from(connection); // reject options this backend does not know
        return new LocalSandboxes();
    }
}
