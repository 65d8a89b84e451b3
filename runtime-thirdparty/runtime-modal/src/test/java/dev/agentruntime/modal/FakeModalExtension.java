package dev.agentruntime.modal;

import dev.agentruntime.modal.fake.FakeModal;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Starts a {@link FakeModal} before the test class's {@code @BeforeAll} methods and closes it after its
 * {@code @AfterAll} methods (when the class's context closes), so a contract suite's last sandbox is terminated
 * while the fake still answers.
 */
final class FakeModalExtension implements BeforeAllCallback {

    private final FakeModal.Builder builder;
    private volatile FakeModal modal;

    FakeModalExtension(FakeModal.Builder builder) {
        this.builder = builder;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        modal = builder.start();
        FakeModal started = modal;
        context.getStore(ExtensionContext.Namespace.create(FakeModalExtension.class, context.getUniqueId()))
                .put("modal", (ExtensionContext.Store.CloseableResource) started::close);
    }

    FakeModal modal() {
        if (modal == null) {
            throw new IllegalStateException("the fake Modal starts before the test class's @BeforeAll methods");
        }
        return modal;
    }
}
