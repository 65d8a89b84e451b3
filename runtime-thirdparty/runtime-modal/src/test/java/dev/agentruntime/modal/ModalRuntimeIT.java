package dev.agentruntime.modal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.StatusEvent;
import dev.agentruntime.modal.fake.FakeModal;
import dev.agentruntime.modal.fake.FakeModalApi;
import dev.agentruntime.modal.internal.proto.Sandbox;
import dev.agentruntime.spi.SessionLabels;
import dev.agentruntime.testkit.RequiresDocker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What the runtime asks Modal for, and how the end of a sandbox's fixed lifetime reaches the caller. */
@RequiresDocker
class ModalRuntimeIT {

    @RegisterExtension
    static final FakeModalExtension FAKE = new FakeModalExtension(FakeModal.builder());

    private RuntimeConfig.Builder config() {
        FakeModal modal = FAKE.modal();
        return RuntimeConfig.builder().type("modal")
                .option("server.url", modal.url().toString())
                .option("token.id", modal.tokenId())
                .option("token.secret", modal.tokenSecret())
                .option("image", "agent-runtime-test/debian:bookworm")
                .startupTimeout(Duration.ofSeconds(90));
    }

    @Test
    void theRequestCarriesTheSettingsAndTheEndOfTheLifetimeIsATypedError() {
        List<StatusEvent> events = new CopyOnWriteArrayList<>();
        RuntimeConfig config = config().option("timeout", "10m").option("cpu", "0.5").option("memory", "512m")
                .option("workdir", "/tmp").env("SHAPE_VARIABLE", "from the secret").statusListener(events::add)
                .build();
        try (Runtime runtime = RuntimeFactory.connect(config)) {
            assertThat(runtime.run("echo $SHAPE_VARIABLE").content()).isEqualTo("from the secret");

            FakeModal modal = FAKE.modal();
            var sandbox = modal.sandboxes().values().stream()
                    .filter(s -> config.sessionId().equals(s.tags().get(SessionLabels.PREFIX + SessionLabels.SESSION_ID)))
                    .findFirst().orElseThrow();
            Sandbox definition = sandbox.definition();
            assertThat(definition.getTimeoutSecs()).isEqualTo(600);
            assertThat(definition.getResources().getMilliCpu()).isEqualTo(500);
            assertThat(definition.getResources().getMemoryMb()).isEqualTo(512);
            assertThat(definition.getWorkdir()).isEqualTo("/tmp");
            assertThat(definition.getEntrypointArgsList()).containsExactly("sleep", "infinity");
            assertThat(definition.getOpenPorts().getPortsList()).singleElement().satisfies(port -> {
                assertThat(port.getPort()).isEqualTo(ModalConfig.DEFAULT_SERVER_PORT);
                assertThat(port.getUnencrypted()).as("an encrypted tunnel").isFalse();
            });
            assertThat(definition.getSecretIdsList()).as("the environment as an ephemeral secret").hasSize(1);
            assertThat(sandbox.tags()).containsEntry(SessionLabels.PREFIX + SessionLabels.MANAGED_BY,
                    SessionLabels.MANAGED_BY_VALUE);
            assertThat(modal.calls("SandboxCreate").get(modal.calls("SandboxCreate").size() - 1).headers().toString())
                    .as("the session key is on no Modal call").doesNotContain(config.sessionApiKeyOrGenerate().reveal());
            assertThat(events).as("the image step is reported (its build log only on the first build: ModalApiTest)")
                    .anyMatch(e -> e.status() == RuntimeStatus.BUILDING_RUNTIME
                            && e.message().startsWith("Preparing the Modal image FROM"));

            // the end of the lifetime, brought forward (the real timer is covered by CommandRouterIT)
            sandbox.expire();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (sandbox.result().isEmpty()) {
                assertThat(System.nanoTime()).as("the sandbox ended").isLessThan(deadline);
                sleepABit();
            }
            assertThatThrownBy(() -> runtime.run("echo too late")).isInstanceOf(ModalSandboxEndedException.class)
                    .hasMessageContaining("reached its timeout").hasMessageContaining(config.sessionId())
                    .matches(e -> ((ModalSandboxEndedException) e).reason() == ModalSandboxEndedException.Reason.TIMEOUT,
                            "reason TIMEOUT");
        }
    }

    @Test
    void anOpenRuntimeOutlivesItsIdleTimeoutAndAClosedKeptAliveOneEndsByIt() {
        RuntimeConfig config = config().option("idle.timeout", "4s").keepAlive(true).build();
        FakeModal modal = FAKE.modal();
        FakeModalApi.ModalSandbox sandbox;
        try (Runtime runtime = RuntimeFactory.connect(config)) {
            sandbox = modal.sandboxes().values().stream()
                    .filter(s -> config.sessionId().equals(s.tags().get(SessionLabels.PREFIX + SessionLabels.SESSION_ID)))
                    .findFirst().orElseThrow();
            assertThat(sandbox.definition().getIdleTimeoutSecs()).isEqualTo(4);
            // quiet for two idle timeouts: only the heartbeat (every 1.3 s, through the tunnel) keeps it
            long quietUntil = System.nanoTime() + Duration.ofSeconds(8).toNanos();
            while (System.nanoTime() < quietUntil) {
                assertThat(sandbox.result()).as("ended while open and idle").isEmpty();
                sleepABit();
            }
            assertThat(runtime.run("echo still here").content()).isEqualTo("still here");
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (sandbox.result().isEmpty()) {
            assertThat(System.nanoTime()).as("kept alive, then ended by its idle timeout").isLessThan(deadline);
            sleepABit();
        }
        assertThat(sandbox.result().orElseThrow().getStatus())
                .isEqualTo(dev.agentruntime.modal.internal.proto.GenericResult.GenericStatus.GENERIC_STATUS_IDLE_TIMEOUT);
        try (dev.agentruntime.SandboxHousekeeping housekeeping = RuntimeFactory.housekeeping(config)) {
            assertThat(housekeeping.find(config.sessionId())).as("nothing left once it ended").isEmpty();
        }
    }

    private static void sleepABit() {
        try {
            Thread.sleep(100); // polling the fake's state with a deadline
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
