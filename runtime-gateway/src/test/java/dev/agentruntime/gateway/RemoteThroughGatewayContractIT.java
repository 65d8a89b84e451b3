package dev.agentruntime.gateway;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.testkit.RequiresDocker;
import dev.agentruntime.testkit.RuntimeContractTest;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole contract suite on the {@code remote} backend, through the real gateway (in process) over the Docker
 * backend: every action, transfer, pause/resume and attach goes client → Remote Runtime API / path-mode proxy →
 * sandbox.
 */
@RequiresDocker
class RemoteThroughGatewayContractIT extends RuntimeContractTest {

    @RegisterExtension
    static final GatewayExtension GATEWAY = new GatewayExtension("contract");

    @Override
    protected RuntimeConfig.Builder configure(RuntimeConfig.Builder builder) {
        return builder.type("remote")
                .option("api.url", GATEWAY.uri().toString())
                .option("api.key", TestGateways.keyOf("contract"))
                .option("image", TestGateways.IMAGE);
    }
}
