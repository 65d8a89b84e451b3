package dev.agentruntime.docker;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.spi.RuntimeProvider;

/** Registers the Docker backend as runtime type {@value #TYPE} for {@link dev.agentruntime.RuntimeFactory}. */
public final class DockerRuntimeProvider implements RuntimeProvider {

    public static final String TYPE = "docker";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Runtime create(RuntimeConfig config) {
        return new DockerRuntime(config);
    }

    /** {@link DockerSandboxes} on the daemon the config's Docker settings point at. */
    @Override
    public SandboxHousekeeping housekeeping(RuntimeConfig connection) {
        return DockerSandboxes.connect(DockerRuntimeConfig.from(connection));
    }
}
