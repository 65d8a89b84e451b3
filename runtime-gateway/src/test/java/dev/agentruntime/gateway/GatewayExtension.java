package dev.agentruntime.gateway;

import java.net.URI;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * An in-process gateway for one test class: started before the class's {@code @BeforeAll} methods, stopped after its
 * {@code @AfterAll} methods (so runtimes the class closes at the end still reach it), and every sandbox of its
 * tenants removed then, even after failures.
 */
final class GatewayExtension implements BeforeAllCallback, AfterAllCallback {

    private final String[] tenants;
    private final java.util.function.UnaryOperator<GatewayConfig.Builder> customize;
    private Gateway gateway;

    GatewayExtension(String... tenants) {
        this(b -> b, tenants);
    }

    GatewayExtension(java.util.function.UnaryOperator<GatewayConfig.Builder> customize, String... tenants) {
        this.customize = customize;
        this.tenants = tenants;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        gateway = Gateway.start(customize.apply(TestGateways.config(tenants)).build());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        try {
            if (gateway != null) {
                gateway.close();
            }
        } finally {
            TestGateways.removeSandboxesOf(tenants);
        }
    }

    URI uri() {
        if (gateway == null) {
            throw new IllegalStateException("the gateway starts before the class's @BeforeAll methods");
        }
        return gateway.uri();
    }

    Gateway gateway() {
        return gateway;
    }
}
