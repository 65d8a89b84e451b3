package dev.agentruntime.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.dockerjava.api.command.WaitContainerResultCallback;
import com.github.dockerjava.api.exception.DockerClientException;
import dev.agentruntime.testkit.RequiresDocker;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A sandbox whose JVM is killed with SIGKILL does not outlive the idle timeout. */
@RequiresDocker
class DockerKillNineIT {

    private static final int IDLE_SECONDS = 5;

    @Test
    void aSandboxOfAKilledJvmIsGoneWithinTheIdleTimeout() throws Exception {
        String session = "it-kill-" + UUID.randomUUID().toString().substring(0, 8);
        try (DockerTestClient docker = new DockerTestClient(); ChildJvm child = ChildJvm.start("hold", session,
                Integer.toString(IDLE_SECONDS))) {
            String ready = child.readLine(Duration.ofMinutes(3));
            assertThat(ready).startsWith("READY ");
            String id = ready.substring("READY ".length());

            // While its owner lives, the heartbeat keeps the sandbox up well past the idle timeout.
            assertThatThrownBy(() -> docker.client().waitContainerCmd(id).exec(new WaitContainerResultCallback())
                    .awaitStatusCode(2L * IDLE_SECONDS, TimeUnit.SECONDS))
                    .as("the container must not exit while its JVM lives")
                    .isInstanceOf(DockerClientException.class).hasMessageContaining("timeout");

            child.process().destroyForcibly(); // SIGKILL: no shutdown hook, no close()
            assertThat(child.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
            Instant killed = Instant.now();

            assertThat(docker.awaitGone(id, Duration.ofSeconds(IDLE_SECONDS + 15)))
                    .as("container of the killed JVM removed after the idle timeout").isTrue();
            Duration took = Duration.between(killed, Instant.now());
            assertThat(took).isLessThan(Duration.ofSeconds(IDLE_SECONDS + 15));
            System.out.printf("kill -9: container gone %d ms after the owner was killed (idle timeout %d s)%n",
                    took.toMillis(), IDLE_SECONDS);
        }
    }
}
