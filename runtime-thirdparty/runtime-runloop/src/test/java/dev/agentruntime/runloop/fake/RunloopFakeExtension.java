package dev.agentruntime.runloop.fake;

import dev.agentruntime.RuntimeConfig;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One {@link RunloopFake} per test class, started before the class's {@code @BeforeAll} methods and closed after its
 * {@code @AfterAll} methods (so runtimes closed there still reach it). Register as a static
 * {@code @RegisterExtension} field.
 */
public final class RunloopFakeExtension implements BeforeAllCallback, AfterAllCallback {

    public static final String API_KEY = "rl_test_key_1";
    /** The tunnel domain the backend is told to use; the fake routes any {@code {port}-{key}.tunnel.*} host. */
    public static final String TUNNEL_DOMAIN = "fake-runloop.test";

    private RunloopFake fake;

    @Override
    public void beforeAll(ExtensionContext context) {
        fake = RunloopFake.start(API_KEY);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (fake != null) {
            fake.close();
        }
    }

    public RunloopFake fake() {
        if (fake == null) {
            throw new IllegalStateException("the Runloop fake is not started (register the extension as static)");
        }
        return fake;
    }

    /** A runtime config builder pointed at the fake. */
    public RuntimeConfig.Builder configure(RuntimeConfig.Builder builder) {
        return builder.type("runloop").option("api.key", API_KEY).option("base.url", fake().baseUrl().toString())
                .option("tunnel.address", fake().tunnelAddress().toString()).option("tunnel.domain", TUNNEL_DOMAIN);
    }
}
