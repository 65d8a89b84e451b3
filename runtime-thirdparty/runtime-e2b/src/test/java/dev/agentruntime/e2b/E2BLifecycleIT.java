package dev.agentruntime.e2b;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.e2b.fake.FakeE2B;
import dev.agentruntime.e2b.internal.E2BApi;
import dev.agentruntime.spi.SessionLabels;
import dev.agentruntime.testkit.RequiresDocker;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * E2B's own safety nets, as the backend uses them: a sandbox lives {@code timeout} past the last heartbeat (it
 * outlives several timeouts while the runtime is open), and housekeeping reaps sandboxes whose owner is gone and
 * deletes kept-alive ones by session id.
 */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class E2BLifecycleIT {

    private FakeE2B e2b;

    @BeforeAll
    void start() {
        e2b = FakeE2B.builder().start();
    }

    @AfterAll
    void stop() {
        if (e2b != null) {
            e2b.close();
        }
    }

    private RuntimeConfig.Builder config() {
        return RuntimeConfig.builder().type("e2b").option("api.key", e2b.apiKey())
                .option("api.url", e2b.uri().toString()).option("sandbox.url", e2b.uri().toString())
                .startupTimeout(Duration.ofSeconds(120));
    }

    @Test
    void theHeartbeatKeepsASandboxAlivePastItsTimeout() {
        try (Runtime runtime = RuntimeFactory.connect(config().option("timeout", "3s").build())) {
            String sandboxId = ((E2BRuntime) runtime).sandboxId().orElseThrow();
            String refresh = "POST /sandboxes/" + sandboxId + "/timeout";
            await("three refreshes of the 3 s timeout", () -> e2b.calls().stream().filter(refresh::equals).count() >= 4);
            assertThat(e2b.sandboxIds()).as("alive after more than its timeout").contains(sandboxId);
            assertThat(runtime.run("echo still here").content()).isEqualTo("still here");
        }
        assertThat(e2b.sandboxIds()).isEmpty();
    }

    @Test
    void housekeepingReapsAGoneOwnersSandboxAndDeletesAKeptOne() throws Exception {
        RuntimeConfig kept = config().keepAlive(true).sessionApiKey(RuntimeConfig.randomKey()).build();
        String sandboxId;
        try (Runtime runtime = RuntimeFactory.connect(kept)) {
            runtime.run("echo kept > /tmp/kept.txt");
            sandboxId = ((E2BRuntime) runtime).sandboxId().orElseThrow();
        }
        // the server dies while nobody is attached (killed hard: no exit code is written): attaching starts it again
        dev.agentruntime.fake.FakeSandbox box = e2b.host().find(sandboxId).orElseThrow();
        box.exec(dev.agentruntime.fake.ExecSpec.shell("pkill -KILL -f 'runtime-server[.]jar'; true").user("root").build())
                .waitFor(Duration.ofSeconds(30));
        await("the kept sandbox's server is gone", () -> !serverRunning(box));
        try (Runtime attached = RuntimeFactory.connect(kept.toBuilder().attachToExisting(true).build())) {
            assertThat(((E2BRuntime) attached).sandboxId()).contains(sandboxId);
            assertThat(attached.run("cat /tmp/kept.txt").content()).isEqualTo("kept");
        }
        E2BApi api = new E2BApi(E2BConfig.from(config().build()));
        Map<String, String> orphan = new LinkedHashMap<>(SessionLabels.forSession("orphan-session", false).asLabels());
        orphan.put(SessionLabels.PREFIX + SessionLabels.OWNER_PID, "999999999");
        orphan.put(SessionLabels.PREFIX + SessionLabels.OWNER_STARTED, "1");
        E2BApi.Sandbox orphaned = api.create(new E2BApi.CreateRequest("base", Duration.ofMinutes(2), false, orphan,
                Map.of(), Optional.empty(), Optional.empty(), List.of(), List.of()));

        try (SandboxHousekeeping housekeeping = RuntimeFactory.housekeeping(config().build())) {
            assertThat(housekeeping.list()).extracting(SandboxInfo::sessionId)
                    .contains(kept.sessionId(), "orphan-session");
            assertThat(housekeeping.find(kept.sessionId())).hasValueSatisfying(info -> {
                assertThat(info.type()).isEqualTo("e2b");
                assertThat(info.keepAlive()).isTrue();
                assertThat(info.state()).isEqualTo("running");
            });
            List<SandboxInfo> reaped = housekeeping.reap();
            assertThat(reaped).extracting(SandboxInfo::sandboxId).containsExactly(orphaned.sandboxId());
            assertThat(e2b.sandboxIds()).doesNotContain(orphaned.sandboxId());
            assertThat(housekeeping.delete(kept.sessionId())).isTrue();
            assertThat(housekeeping.delete(kept.sessionId())).isFalse();
            assertThat(housekeeping.list()).isEmpty();
        }
        assertThat(e2b.sandboxIds()).isEmpty();
    }

    private static boolean serverRunning(dev.agentruntime.fake.FakeSandbox box) {
        try {
            return box.exec(dev.agentruntime.fake.ExecSpec.shell("pgrep -f 'runtime-server[.]jar'").build())
                    .waitFor(Duration.ofSeconds(30)).code() == 0;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Timed out waiting until " + what);
            }
            try {
                Thread.sleep(100); // polling a condition with a deadline
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
