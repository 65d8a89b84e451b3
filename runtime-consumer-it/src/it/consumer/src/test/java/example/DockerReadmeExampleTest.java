package example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.testkit.DockerProbe;
import dev.agentruntime.testkit.RequiresDocker;
import org.junit.jupiter.api.Test;

/**
 * The README's example with "docker" swapped in. With Testcontainers in test scope this is where a class path
 * that had not converged failed (docker-java-api 3.4.2 / jackson-annotations 2.10.3: NoClassDefFoundError JsonKey).
 */
@RequiresDocker(images = "agent-runtime-test/debian:bookworm")
class DockerReadmeExampleTest {

    @Test
    void readmeExampleRunsOnDocker() {
        RuntimeConfig config = RuntimeConfig.builder().type("docker").option("image", DockerProbe.DEBIAN_IMAGE).build();
        try (dev.agentruntime.Runtime sandbox = RuntimeFactory.connect(config)) {
            sandbox.run("cd /tmp && export GREETING=hello");
            CmdOutputObservation out = sandbox.run("echo $GREETING from $PWD");
            assertEquals("hello from /tmp", out.content().strip());
            assertEquals(0, out.exitCode());
        }
    }
}
