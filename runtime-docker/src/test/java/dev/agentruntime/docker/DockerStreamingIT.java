package dev.agentruntime.docker;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.testkit.RequiresDocker;
import dev.agentruntime.testkit.StreamingContractTest;

/** Streamed output and asynchronous actions on the Docker backend (through the container's published port). */
@RequiresDocker
class DockerStreamingIT extends StreamingContractTest {

    @Override
    protected RuntimeConfig.Builder configure(RuntimeConfig.Builder builder) {
        return builder.type("docker").option("image", TestImages.DEBIAN);
    }
}
