package example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import org.junit.jupiter.api.Test;

/** The README's first example, verbatim, on the local backend. */
class LocalReadmeExampleTest {

    @Test
    void readmeExampleRunsOnLocal() {
        try (dev.agentruntime.Runtime sandbox = RuntimeFactory.connect(RuntimeConfig.builder().type("local").build())) {
            sandbox.run("cd /tmp && export GREETING=hello");
            CmdOutputObservation out = sandbox.run("echo $GREETING from $PWD");
            assertEquals("hello from /tmp", out.content().strip());
            assertEquals(0, out.exitCode());
        }
    }
}
