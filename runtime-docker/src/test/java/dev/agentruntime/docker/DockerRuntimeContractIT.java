package dev.agentruntime.docker;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.testkit.RequiresDocker;
import dev.agentruntime.testkit.RuntimeContractTest;

/**
 * The Docker backend passes the whole contract suite against the locally built Debian image, configured through
 * string options the way {@code AGENT_RUNTIME_OPTION_*} environment variables would, with the application ports
 * published (off by default) so the web-hosts scenario runs.
 */
@RequiresDocker
class DockerRuntimeContractIT extends RuntimeContractTest {

    @Override
    protected RuntimeConfig.Builder configure(RuntimeConfig.Builder builder) {
        return builder.type("docker")
                .option("image", TestImages.DEBIAN)
                .option("pull.policy", "never")
                // the suite serves HTTP through webHosts(), which lists only published application ports
                .option("publish.app.ports", "true");
    }

    @org.junit.jupiter.api.Test
    void theSessionVariableIsTheSessionId() {
        org.assertj.core.api.Assertions.assertThat(sessionVariable()).isEqualTo(runtime.id());
    }
}
