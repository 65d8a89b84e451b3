package example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.agentruntime.testkit.AgentSandboxContainer;
import dev.agentruntime.testkit.DockerProbe;
import dev.agentruntime.testkit.RequiresDocker;
import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;

/** AgentSandboxContainer in Testcontainers' own JUnit 5 lifecycle (same source for the 1.21 and the 2.x line). */
@RequiresDocker(images = "agent-runtime-test/debian:bookworm")
@Testcontainers
class SandboxContainerTest {

    @Container
    static AgentSandboxContainer sandbox = new AgentSandboxContainer(DockerProbe.DEBIAN_IMAGE).withEnv("GREETING", "hello");

    @Test
    void containerFieldIsARunningSandbox() {
        assertEquals("hello", sandbox.runtime().run("echo $GREETING").content().strip());
    }
}
