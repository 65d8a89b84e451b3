package dev.agentruntime.daytona;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.daytona.fake.DaytonaFake;
import dev.agentruntime.testkit.RequiresDocker;
import dev.agentruntime.testkit.RuntimeContractTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;

/**
 * The Daytona backend passes the whole contract suite through the local Daytona fake: sandboxes created over the
 * API, our server uploaded through the toolbox and reached through the preview proxy. The fake's sandboxes are of
 * class {@code linux-vm}, so pause/resume runs too; attach finds the kept-alive sandbox by its labels.
 */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DaytonaRuntimeContractIT extends RuntimeContractTest {

    private DaytonaFake fake;

    @Override
    protected RuntimeConfig.Builder configure(RuntimeConfig.Builder builder) {
        if (fake == null) {
            fake = DaytonaFake.builder().apiKey("contract-key").sandboxClass("linux-vm").build();
        }
        return builder.type("daytona")
                .option("api.url", fake.apiUrl().toString())
                .option("api.key", "contract-key");
    }

    @AfterAll
    void closeFake() {
        if (runtime != null) {
            runtime.close(); // before the fake goes (the suite's own close comes after this one; it is idempotent)
        }
        if (fake != null) {
            fake.close();
        }
    }
}
