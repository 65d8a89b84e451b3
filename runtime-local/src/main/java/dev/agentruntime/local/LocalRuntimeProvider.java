package dev.agentruntime.local;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeProvider;

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
}
