package dev.agentruntime.local;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.testkit.StreamingContractTest;

/** Streamed output and asynchronous actions on the local backend. */
class LocalStreamingIT extends StreamingContractTest {

    @Override
    protected RuntimeConfig.Builder configure(RuntimeConfig.Builder builder) {
        return builder.type("local");
    }
}
