package dev.agentruntime.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import org.junit.jupiter.api.Test;

/** The README's Java example, verbatim, so the first screen of the docs cannot rot. */
class ReadmeExampleIT {

    @Test
    void readmeExampleWorksAsPrinted() {
        String printed;
        // --- README example ---
        try (dev.agentruntime.Runtime sandbox = RuntimeFactory.connect(RuntimeConfig.builder().type("local").build())) {
            sandbox.run("cd /tmp && export GREETING=hello");                 // cwd and env persist
            CmdOutputObservation out = sandbox.run("echo $GREETING from $PWD");
            printed = out.content() + " (exit " + out.exitCode() + ")";      // hello from /tmp (exit 0)
        }
        // --- end ---
        assertThat(printed).isEqualTo("hello from /tmp (exit 0)");
    }
}
