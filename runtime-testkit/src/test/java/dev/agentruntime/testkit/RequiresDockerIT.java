package dev.agentruntime.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Runs only where an engine answers (and in CI must): then the probe of the real engine finds the images. */
@RequiresDocker(images = "agent-runtime-test/debian:bookworm")
class RequiresDockerIT {

    @Test
    void realEngineHasTheTestImage() {
        assertThat(DockerProbe.fromEnvironment().problem(List.of(DockerProbe.DEBIAN_IMAGE))).isEmpty();
        assertThat(DockerProbe.fromEnvironment().problem(List.of("agent-runtime-test/never-built:none")))
                .contains("is missing");
    }
}
