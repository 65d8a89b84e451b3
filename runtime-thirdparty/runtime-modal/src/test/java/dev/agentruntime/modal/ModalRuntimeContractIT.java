package dev.agentruntime.modal;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.modal.fake.FakeModal;
import dev.agentruntime.testkit.RequiresDocker;
import dev.agentruntime.testkit.RuntimeContractTest;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole contract suite against the Modal backend through the local Modal (plain-text gRPC; sandboxes are Docker
 * containers), our real server behind each sandbox's tunnel.
 */
@RequiresDocker
class ModalRuntimeContractIT extends RuntimeContractTest {

    @RegisterExtension
    static final FakeModalExtension FAKE = new FakeModalExtension(FakeModal.builder());

    @Override
    protected RuntimeConfig.Builder configure(RuntimeConfig.Builder builder) {
        FakeModal modal = FAKE.modal();
        return builder.type("modal")
                .option("server.url", modal.url().toString())
                .option("token.id", modal.tokenId())
                .option("token.secret", modal.tokenSecret())
                .option("image", "agent-runtime-test/debian:bookworm")
                .option("timeout", "10m")
                .option("ports", "8080");
    }
}
