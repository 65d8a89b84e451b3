package dev.agentruntime.runloop;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.runloop.fake.RunloopFakeExtension;
import dev.agentruntime.testkit.RequiresDocker;
import dev.agentruntime.testkit.RuntimeContractTest;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole contract suite against the Runloop backend through the local Runloop fake: real Docker devboxes, our
 * server uploaded and started through executions, every action through the devbox's authenticated tunnel.
 */
@RequiresDocker
class RunloopRuntimeContractIT extends RuntimeContractTest {

    @RegisterExtension
    static final RunloopFakeExtension RUNLOOP = new RunloopFakeExtension();

    @Override
    protected RuntimeConfig.Builder configure(RuntimeConfig.Builder builder) {
        return RUNLOOP.configure(builder);
    }
}
