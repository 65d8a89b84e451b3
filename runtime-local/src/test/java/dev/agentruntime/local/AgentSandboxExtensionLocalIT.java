package dev.agentruntime.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.testkit.AgentSandbox;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The testkit's {@code @AgentSandbox} extension on the real local backend (its housekeeping is the leak check). */
class AgentSandboxExtensionLocalIT {

    @AgentSandbox(env = "GREETING=hello")
    static Runtime shared;

    static Runtime perTestSeen;

    @Test
    void aStaticFieldIsAConnectedLocalSandboxWithTheAnnotatedEnvironment() {
        assertThat(shared.status()).isEqualTo(RuntimeStatus.READY);
        assertThat(shared.run("echo $GREETING").content().strip()).isEqualTo("hello");
        assertThat(shared.id()).startsWith("junit-agentsandboxextensionlocalit-");
    }

    @Test
    void aParameterIsAFreshSandboxOfItsOwn(@AgentSandbox Runtime scratch) {
        assertThat(scratch).isNotSameAs(shared);
        scratch.run("export ONLY_HERE=1");
        assertThat(shared.run("echo ${ONLY_HERE:-unset}").content().strip()).isEqualTo("unset");
        perTestSeen = scratch;
    }

    @AfterAll
    static void thePerTestSandboxIsGoneBeforeTheClassEnds() {
        assertThat(perTestSeen.status()).isEqualTo(RuntimeStatus.CLOSED);
        try (SandboxHousekeeping sandboxes = RuntimeFactory.housekeeping(RuntimeConfig.builder().type("local").build())) {
            assertThat(sandboxes.find(perTestSeen.id())).isEmpty();
            assertThat(sandboxes.find(shared.id())).isPresent(); // closed after @AfterAll, then leak-checked
        }
    }
}
