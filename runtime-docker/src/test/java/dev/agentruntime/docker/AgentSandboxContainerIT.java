package dev.agentruntime.docker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.testkit.AgentSandboxContainer;
import dev.agentruntime.testkit.RequiresDocker;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;

/** The testkit's Testcontainers adapter runs a real Docker sandbox in the @Container lifecycle. */
@RequiresDocker
@Testcontainers
class AgentSandboxContainerIT {

    @Container
    static final AgentSandboxContainer SANDBOX = new AgentSandboxContainer(TestImages.DEBIAN)
            .withOption("pull.policy", "never")
            .withOption("publish.app.ports", "true")
            .withEnv("GREETING", "hello from a @Container");

    @Test
    void theContainerFieldIsStartedWithAConnectedRuntime() {
        assertThat(SANDBOX.isRunning()).isTrue();
        assertThat(SANDBOX.runtime().status()).isEqualTo(RuntimeStatus.READY);
        assertThat(SANDBOX.runtime().run("echo $GREETING").content()).contains("hello from a @Container");
        assertThat(SANDBOX.webHosts()).hasSize(2);
    }

    @Test
    void stoppingRemovesTheContainer() throws Exception {
        try (DockerTestClient docker = new DockerTestClient()) {
            AgentSandboxContainer sandbox = new AgentSandboxContainer(TestImages.DEBIAN)
                    .withOption("pull.policy", "never");
            sandbox.start();
            String id = ((DockerRuntime) sandbox.runtime()).containerId().orElseThrow();
            assertThat(docker.inspect(id)).isPresent();
            sandbox.stop();
            assertThat(docker.awaitGone(id, Duration.ofSeconds(10))).isTrue();
        }
    }
}
