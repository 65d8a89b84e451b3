package dev.agentruntime.fake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.testkit.RequiresDocker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Pause keeps processes and memory, stop/start keeps files, timeouts kill or pause, sandboxes that die say why. */
@RequiresDocker(images = SandboxHost.DEFAULT_IMAGE)
class SandboxLifecycleIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static SandboxHost host;

    @BeforeAll
    static void start() {
        host = SandboxHost.builder().name("lifecycle-it").build();
    }

    @AfterAll
    static void stop() {
        if (host != null) {
            String id = host.id();
            host.close();
            host.close(); // idempotent
            assertThat(Leaks.containersOf(id)).as("containers left by host " + id).isEmpty();
        }
    }

    /** Waits until the sandbox reaches {@code status} (state listener, with a deadline). */
    private static SandboxState awaitStatus(FakeSandbox sandbox, SandboxState.Status status) throws Exception {
        CompletableFuture<SandboxState> reached = new CompletableFuture<>();
        sandbox.addStateListener(s -> {
            if (s.status() == status) {
                reached.complete(s);
            }
        });
        if (sandbox.state().status() == status) {
            return sandbox.state();
        }
        return reached.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private static long lastCount(SandboxProcess counter) {
        String[] lines = new String(counter.stdout().snapshot(), StandardCharsets.UTF_8).trim().split("\n");
        return Long.parseLong(lines[lines.length - 1].trim());
    }

    private static void awaitCountAbove(SandboxProcess counter, long value) throws InterruptedException {
        long offset = counter.stdout().end();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (counter.stdout().end() == 0 || lastCount(counter) <= value) {
            assertThat(System.nanoTime()).as("counter stuck at " + value).isLessThan(deadline);
            offset = counter.stdout().await(offset, 1 << 16, Duration.ofMillis(500)).nextOffset();
        }
    }

    @Test
    void createIsFastAndExecRoundTripsAreCheap() throws Exception {
        List<Long> creates = new ArrayList<>();
        List<Long> execs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            long t0 = System.nanoTime();
            FakeSandbox sandbox = host.create(SandboxSpec.builder().build());
            SandboxProcess first = sandbox.exec(ExecSpec.argv("true").build());
            first.waitFor(WAIT);
            creates.add((System.nanoTime() - t0) / 1_000_000);
            for (int j = 0; j < 5; j++) {
                long t1 = System.nanoTime();
                assertThat(sandbox.exec(ExecSpec.argv("echo", "x").build()).waitFor(WAIT).code()).isZero();
                execs.add((System.nanoTime() - t1) / 1_000_000);
            }
            sandbox.kill();
            assertThat(sandbox.state().status()).isEqualTo(SandboxState.Status.DEAD);
        }
        System.out.println("[measure] create->first exec done ms " + creates + "; exec round trip ms " + execs);
    }

    @Test
    void specIsAppliedAndAnInitReapsOrphans() throws Exception {
        FakeSandbox sandbox = host.create(SandboxSpec.builder().hostname("box").cpus(0.5).memoryBytes(256L << 20)
                .workingDir("/srv/work").env("FROM_SPEC", "1").label("vendor.metadata", "m1").build());
        SandboxProcess facts = sandbox.exec(ExecSpec.shell("hostname; pwd; echo $FROM_SPEC; cat /proc/1/comm; "
                + "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max 2>/dev/null | head -1 | cut -d' ' -f1; "
                + "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null | head -1")
                .build());
        facts.waitFor(WAIT);
        assertThat(new String(facts.stdout().snapshot(), StandardCharsets.UTF_8).split("\n"))
                .containsExactly("box", "/srv/work", "1", "docker-init", "50000", Long.toString(256L << 20));
        assertThat(Leaks.labelsOf(sandbox.containerId())).containsEntry("vendor.metadata", "m1")
                .containsEntry(SandboxHost.LABEL_MANAGED_BY, SandboxHost.MANAGED_BY_VALUE)
                .containsEntry(SandboxHost.LABEL_HOST, host.id()).containsEntry(SandboxHost.LABEL_SANDBOX, sandbox.id())
                .containsKey("dev.agentruntime.owner-pid");
        // An orphan's parent exits at once; init must reap it when it ends, leaving no zombie.
        sandbox.exec(ExecSpec.shell("(sleep 0.2; exit 0) & exit 0").build()).waitFor(WAIT);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            SandboxProcess ps = sandbox.exec(ExecSpec.shell("ps -eo stat=,args= | grep -v ' ps ' | grep -c "
                    + "'^Z\\|sleep 0.2' || true").build());
            ps.waitFor(WAIT);
            if (new String(ps.stdout().snapshot(), StandardCharsets.UTF_8).trim().equals("0")) {
                break;
            }
            assertThat(System.nanoTime()).as("orphan reaped").isLessThan(deadline);
        }
        sandbox.kill();
    }

    @Test
    void pauseKeepsABackgroundProcessAndItsMemory() throws Exception {
        FakeSandbox sandbox = host.create(SandboxSpec.builder().build());
        // The counter lives only in the process's memory: if it survives the pause, it goes on from where it was.
        SandboxProcess counter = sandbox.exec(ExecSpec.shell("i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; "
                + "done").build());
        awaitCountAbove(counter, 3);
        sandbox.pause();
        assertThat(sandbox.state().status()).isEqualTo(SandboxState.Status.PAUSED);
        long frozenAt = counter.stdout().end();
        long atPause = lastCount(counter);
        assertThatThrownBy(() -> sandbox.exec(ExecSpec.argv("true").build()))
                .isInstanceOf(SandboxStateException.class).hasMessageContaining("it is paused");
        // While frozen no output arrives: an await with a timeout returns nothing new.
        assertThat(counter.stdout().await(frozenAt, 100, Duration.ofMillis(300)).bytes()).isEmpty();
        assertThatThrownBy(sandbox::pause).isInstanceOf(SandboxStateException.class);
        sandbox.resume();
        awaitCountAbove(counter, atPause + 2);
        String all = new String(counter.stdout().snapshot(), StandardCharsets.UTF_8);
        assertThat(all).contains("\n" + atPause + "\n" + (atPause + 1) + "\n");
        assertThat(counter.isRunning()).isTrue();
        assertThat(sandbox.runningProcesses()).contains(counter);
        sandbox.kill();
        assertThat(counter.waitFor(WAIT).sandboxEnded()).isTrue();
    }

    @Test
    void stopLosesProcessesAndKeepsFilesThenStartRunsAgain() throws Exception {
        FakeSandbox sandbox = host.create(SandboxSpec.builder().build());
        sandbox.files().write("/var/kept.txt", "kept");
        SandboxProcess sleeper = sandbox.exec(ExecSpec.argv("sleep", "600").build());
        sandbox.stop();
        assertThat(sandbox.state().status()).isEqualTo(SandboxState.Status.STOPPED);
        ExitStatus ended = sleeper.waitFor(WAIT);
        assertThat(ended.sandboxEnded()).isTrue();
        assertThat(sandbox.runningProcesses()).isEmpty();
        assertThatThrownBy(() -> sandbox.address(80)).isInstanceOf(SandboxStateException.class);
        sandbox.start();
        assertThat(sandbox.state().isRunning()).isTrue();
        assertThat(sandbox.files().readString("/var/kept.txt")).isEqualTo("kept");
        SandboxProcess ps = sandbox.exec(ExecSpec.shell("ps -eo args | grep -c '[s]leep 600'").build());
        ps.waitFor(WAIT);
        assertThat(new String(ps.stdout().snapshot(), StandardCharsets.UTF_8).trim()).isEqualTo("0");
        assertThat(sandbox.address(8080).getPort()).isEqualTo(8080);
        sandbox.kill();
    }

    @Test
    void hardTimeoutKillsAndCanBeExtended() throws Exception {
        FakeSandbox sandbox = host.create(SandboxSpec.builder().timeout(Duration.ofMillis(800)).build());
        assertThat(sandbox.deadline()).isPresent();
        sandbox.setTimeout(Duration.ofMillis(1500)); // extended: counts from now
        assertThat(sandbox.remainingTimeout().orElseThrow()).isGreaterThan(Duration.ofMillis(800));
        SandboxState dead = awaitStatus(sandbox, SandboxState.Status.DEAD);
        assertThat(dead.reason()).isEqualTo(SandboxState.Reason.TIMED_OUT);
        assertThat(host.containerIds()).doesNotContain(sandbox.containerId());
        assertThatThrownBy(() -> sandbox.exec(ExecSpec.argv("true").build()))
                .isInstanceOf(SandboxStateException.class).hasMessageContaining("dead (timed_out)");
    }

    @Test
    void timeoutCanPauseInsteadAndPausedTimeDoesNotCount() throws Exception {
        FakeSandbox sandbox = host.create(SandboxSpec.builder().timeout(Duration.ofMillis(700))
                .onTimeout(TimeoutAction.PAUSE).build());
        sandbox.pause();
        Duration left = sandbox.remainingTimeout().orElseThrow();
        assertThat(sandbox.deadline()).isEmpty();
        assertThat(left).isPositive();
        sandbox.resume();
        SandboxState paused = awaitStatus(sandbox, SandboxState.Status.PAUSED);
        assertThat(paused.reason()).isEqualTo(SandboxState.Reason.TIMED_OUT);
        sandbox.resume();
        assertThat(sandbox.exec(ExecSpec.argv("true").build()).waitFor(WAIT).code()).isZero();
        sandbox.kill();
    }

    @Test
    void aSandboxWhoseMainProcessExitsIsDeadWithTheExitCode() throws Exception {
        FakeSandbox sandbox = host.create(SandboxSpec.builder().command("sh", "-c", "sleep 0.5; exit 5").build());
        SandboxState dead = awaitStatus(sandbox, SandboxState.Status.DEAD);
        assertThat(dead.reason()).isEqualTo(SandboxState.Reason.MAIN_PROCESS_EXITED);
        assertThat(dead.exitCode()).contains(5);
        sandbox.kill();
        assertThat(sandbox.state().reason()).isEqualTo(SandboxState.Reason.MAIN_PROCESS_EXITED);
        assertThat(host.containerIds()).doesNotContain(sandbox.containerId());
    }

    @Test
    void aSandboxThatRunsOutOfMemoryIsDeadForThatReason() throws Exception {
        FakeSandbox sandbox = host.create(SandboxSpec.builder().memoryBytes(48L * 1024 * 1024)
                .command("sh", "-c", "sleep 0.3; head -c 200000000 /dev/zero | tail > /dev/null").build());
        SandboxState dead = awaitStatus(sandbox, SandboxState.Status.DEAD);
        assertThat(dead.reason()).isEqualTo(SandboxState.Reason.OUT_OF_MEMORY);
        sandbox.kill();
    }
}
