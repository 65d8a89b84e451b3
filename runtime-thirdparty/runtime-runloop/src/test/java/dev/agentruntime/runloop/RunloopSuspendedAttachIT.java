package dev.agentruntime.runloop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.Secret;
import dev.agentruntime.StatusEvent;
import dev.agentruntime.runloop.fake.RunloopFakeExtension;
import dev.agentruntime.runloop.internal.RunloopApi;
import dev.agentruntime.testkit.RequiresDocker;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A keep-alive session whose devbox Runloop suspended (as its idle rule does): attaching resumes the devbox, finds the
 * files on its kept disk, and starts the server again (suspend ended it) without uploading the bundle a second time.
 */
@RequiresDocker
class RunloopSuspendedAttachIT {

    @RegisterExtension
    static final RunloopFakeExtension RUNLOOP = new RunloopFakeExtension();

    @Test
    void attachingToASuspendedDevboxResumesItAndRestartsTheServer() {
        RuntimeConfig kept = RUNLOOP.configure(RuntimeConfig.builder()).keepAlive(true)
                .sessionApiKey(RuntimeConfig.randomKey()).startupTimeout(Duration.ofSeconds(120)).build();
        try (Runtime first = RuntimeFactory.connect(kept)) {
            assertThat(first.run("echo on-disk > /tmp/suspend-kept.txt && echo ok").content()).isEqualTo("ok");
        }
        SandboxInfo info;
        try (SandboxHousekeeping sandboxes = RuntimeFactory.housekeeping(kept)) {
            info = sandboxes.find(kept.sessionId()).orElseThrow();
        }
        RunloopApi api = RunloopApi.create(RUNLOOP.fake().baseUrl(), Secret.of(RunloopFakeExtension.API_KEY), null);
        api.suspend(info.sandboxId());
        assertThat(api.waitForStatus(info.sandboxId(), List.of("suspended"), Instant.now().plusSeconds(60)).status())
                .isEqualTo("suspended");

        List<StatusEvent> events = new CopyOnWriteArrayList<>();
        RuntimeConfig attaching = kept.toBuilder().keepAlive(false).attachToExisting(true).statusListener(events::add)
                .build();
        try (Runtime second = RuntimeFactory.connect(attaching)) {
            assertThat(second.run("cat /tmp/suspend-kept.txt").content()).isEqualTo("on-disk");
        }
        assertThat(events).extracting(StatusEvent::message).anyMatch(m -> m.startsWith("Resuming Runloop devbox"))
                .noneMatch(m -> m.startsWith("Uploading the action server bundle"));
        assertThat(RUNLOOP.fake().status(info.sandboxId())).contains("shutdown");
        try (SandboxHousekeeping sandboxes = RuntimeFactory.housekeeping(attaching)) {
            assertThat(sandboxes.find(kept.sessionId())).as("nothing left of the session").isEmpty();
        }
    }
}
