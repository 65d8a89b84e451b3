package dev.agentruntime.kubernetes;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.testkit.RuntimeContractTest;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole contract suite through the real backend code path: pods created on the simulated API server, run by
 * the simulated node as Docker containers (the server copied in by the init container from the server image),
 * followed by watch, reached by pod IP; housekeeping by labels proves nothing is left. With
 * {@code -Dagent.runtime.kubernetes=real} the same suite runs against KUBECONFIG's cluster (see the module README).
 * Needs Docker and the test images only for the simulation ({@link SimulatedKubernetes} is the condition).
 */
class KubernetesRuntimeContractIT extends RuntimeContractTest {

    @RegisterExtension
    static final SimulatedKubernetes K8S = new SimulatedKubernetes();

    @Override
    protected RuntimeConfig.Builder configure(RuntimeConfig.Builder builder) {
        return builder.type("kubernetes").backendConfig(K8S.config().build());
    }
}
