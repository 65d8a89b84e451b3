package dev.agentruntime.e2b;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.e2b.fake.FakeE2B;
import dev.agentruntime.testkit.RequiresDocker;
import dev.agentruntime.testkit.RuntimeContractTest;
import org.junit.jupiter.api.AfterAll;

/**
 * The E2B backend passes the whole contract suite against the local E2B: sandboxes created over the REST control
 * plane, our server uploaded and started through envd, every action sent through E2B's port routing to the real
 * server in a real Docker sandbox; pause/resume through {@code /pause} and {@code /connect}; attach by session id
 * through the metadata filter. Configured with string options, as {@code E2B_*} variables would.
 */
@RequiresDocker
class E2BRuntimeContractIT extends RuntimeContractTest {

    private static FakeE2B e2b;

    private static synchronized FakeE2B e2b() {
        if (e2b == null) {
            e2b = FakeE2B.builder().start();
        }
        return e2b;
    }

    @Override
    protected RuntimeConfig.Builder configure(RuntimeConfig.Builder builder) {
        FakeE2B fake = e2b();
        return builder.type("e2b")
                .option("api.key", fake.apiKey())
                .option("api.url", fake.uri().toString())
                .option("sandbox.url", fake.uri().toString());
    }

    @AfterAll
    void closeTheFake() {
        if (runtime != null) {
            runtime.close();
        }
        synchronized (E2BRuntimeContractIT.class) {
            if (e2b != null) {
                e2b.close();
                e2b = null;
            }
        }
    }
}
