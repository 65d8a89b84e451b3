package dev.agentruntime.kubernetes;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.spi.RuntimeProvider;

/** Registers the Kubernetes backend as runtime type {@value #TYPE} for {@link dev.agentruntime.RuntimeFactory}. */
public final class KubernetesRuntimeProvider implements RuntimeProvider {

    public static final String TYPE = "kubernetes";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Runtime create(RuntimeConfig config) {
        return new KubernetesRuntime(config);
    }

    /** {@link KubernetesSandboxes} in the namespace the config's Kubernetes settings name. */
    @Override
    public SandboxHousekeeping housekeeping(RuntimeConfig connection) {
        return KubernetesSandboxes.connect(KubernetesConfig.from(connection));
    }
}
