package dev.agentruntime.gateway;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.testkit.RequiresDocker;
import dev.agentruntime.testkit.StreamingContractTest;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Streamed output on the {@code remote} backend through the real gateway: the gateway's path-mode proxy passes the
 * chunked NDJSON answer on as it arrives, so chunks still come while the command runs.
 */
@RequiresDocker
class RemoteStreamingThroughGatewayIT extends StreamingContractTest {

    @RegisterExtension
    static final GatewayExtension GATEWAY = new GatewayExtension("streaming");

    @Override
    protected RuntimeConfig.Builder configure(RuntimeConfig.Builder builder) {
        return builder.type("remote")
                .option("api.url", GATEWAY.uri().toString())
                .option("api.key", TestGateways.keyOf("streaming"))
                .option("image", TestGateways.IMAGE);
    }
}
