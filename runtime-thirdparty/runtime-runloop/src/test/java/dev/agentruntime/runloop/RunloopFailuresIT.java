package dev.agentruntime.runloop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.runloop.fake.RunloopFakeExtension;
import dev.agentruntime.testkit.RequiresDocker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Devboxes that fail: at start (a launch command fails) and while in use (the devbox dies). */
@RequiresDocker
class RunloopFailuresIT {

    @RegisterExtension
    static final RunloopFakeExtension RUNLOOP = new RunloopFakeExtension();

    @Test
    void aDevboxThatFailsToStartFailsTheConnectWithRunloopsReason() {
        RuntimeConfig config = RUNLOOP.configure(RuntimeConfig.builder()).option("launch.commands", "exit 3").build();
        try (Runtime sandbox = RuntimeFactory.create(config)) {
            assertThatThrownBy(sandbox::connect).isInstanceOf(RuntimeStartupException.class)
                    .hasMessageContaining(config.sessionId()).hasMessageContaining("did not start")
                    .hasMessageContaining("failure reason execution_failed");
            assertThat(sandbox.status()).isEqualTo(RuntimeStatus.ERROR);
        }
        assertThat(RUNLOOP.fake().liveDevboxes()).isEmpty();
    }

    @Test
    void anOpenRuntimeKeepsItsDevboxAliveAndADevboxThatDiesIsReportedOnTheNextAction() throws Exception {
        RuntimeConfig config = RUNLOOP.configure(RuntimeConfig.builder()).option("idle.time", "30s").build();
        try (RunloopRuntime sandbox = (RunloopRuntime) RuntimeFactory.connect(config)) {
            assertThat(sandbox.run("echo alive").content()).isEqualTo("alive");
            String devbox = sandbox.devboxId().orElseThrow();
            assertThat(RUNLOOP.fake().createBody(devbox).at("/launch_parameters/after_idle/idle_time_seconds").asInt())
                    .isEqualTo(30);
            long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
            while (RUNLOOP.fake().keepAlives(devbox) == 0) {
                assertThat(System.nanoTime()).as("a keep_alive within 20 s (the heartbeat beats every 10 s)")
                        .isLessThan(until);
                Thread.sleep(100); // polling a condition with a deadline
            }
            RUNLOOP.fake().crash(devbox);
            assertThatThrownBy(() -> sandbox.run("echo again")).isInstanceOf(RuntimeDisconnectedException.class)
                    .hasMessageContaining(devbox).hasMessageContaining("no longer running")
                    .hasMessageContaining("health_check_failed");
            assertThat(sandbox.status()).isEqualTo(RuntimeStatus.ERROR_RUNTIME_DISCONNECTED);
        }
        assertThat(RUNLOOP.fake().liveDevboxes()).isEmpty();
    }
}
