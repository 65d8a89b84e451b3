package dev.agentruntime.local;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.testkit.RuntimeContractTest;

/** The local backend passes the whole contract suite. */
class LocalRuntimeContractIT extends RuntimeContractTest {

    @Override
    protected RuntimeConfig.Builder configure(RuntimeConfig.Builder builder) {
        return builder.type("local");
    }

    @org.junit.jupiter.api.Test
    void theSessionVariableIsTheSessionId() {
        org.assertj.core.api.Assertions.assertThat(sessionVariable()).isEqualTo(runtime.id());
    }
}
