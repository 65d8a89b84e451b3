package dev.agentruntime.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.WarmPool;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The warm pool hands out ready, never-used local sandboxes and refills itself. */
class LocalWarmPoolIT {

    private final RuntimeConfig config = RuntimeConfig.builder().type("local").env("POOL_MARK", "pooled").build();

    @Test
    void handsOutReadyUnusedSandboxesAndRefills() throws Exception {
        Runtime first;
        Runtime second;
        try (WarmPool pool = WarmPool.builder().targetPerConfig(2).build()) {
            pool.prewarm(config);
            assertThat(pool.awaitIdle(config, 2, Duration.ofSeconds(60))).isTrue();

            first = pool.acquire(config);
            second = pool.acquire(config);
            assertThat(first.id()).isNotEqualTo(second.id());
            assertThat(first.status()).isEqualTo(RuntimeStatus.READY);
            assertThat(first.run("echo $POOL_MARK").content()).isEqualTo("pooled");

            first.run("export USED_BY=first");
            assertThat(second.run("echo \"[$USED_BY]\"").content()).isEqualTo("[]");

            assertThat(pool.awaitIdle(config, 2, Duration.ofSeconds(60))).as("pool refilled").isTrue();
            Runtime third = pool.acquire(config);
            assertThat(third.id()).isNotIn(first.id(), second.id());
            assertThat(third.run("echo \"[$USED_BY]\"").content()).isEqualTo("[]");
            third.close();
        }
        assertThat(first.run("echo still mine").content()).isEqualTo("still mine");
        first.close();
        second.close();
    }

    @Test
    void aConfigurationNeverPrewarmedStartsColdAndDifferentConfigurationsDoNotMix() throws Exception {
        RuntimeConfig other = config.toBuilder().env("POOL_MARK", "other").build();
        try (WarmPool pool = WarmPool.builder().targetPerConfig(1).build()) {
            pool.prewarm(config);
            assertThat(pool.awaitIdle(config, 1, Duration.ofSeconds(60))).isTrue();
            try (Runtime cold = pool.acquire(other)) {
                assertThat(cold.run("echo $POOL_MARK").content()).isEqualTo("other");
            }
            assertThat(pool.idleCount(config)).isEqualTo(1);
        }
    }

    /** Live action-server processes started by this JVM. */
    private static java.util.List<ProcessHandle> serverProcesses() {
        return ProcessHandle.current().children().filter(ProcessHandle::isAlive)
                .filter(p -> p.info().commandLine().orElse("").contains("runtime-server")).toList();
    }

    @Test
    void closingThePoolClosesItsIdleSandboxes() throws Exception {
        WarmPool pool = WarmPool.builder().targetPerConfig(1).build();
        pool.prewarm(config);
        assertThat(pool.awaitIdle(config, 1, Duration.ofSeconds(60))).isTrue();
        Runtime pooled = pool.acquire(config);
        assertThat(pool.awaitIdle(config, 1, Duration.ofSeconds(60))).isTrue();
        assertThat(serverProcesses()).as("the handed-out and the idle sandbox").hasSize(2);
        pool.close();
        pool.close();
        assertThat(pool.idleCount(config)).isZero();
        assertThat(serverProcesses()).as("only the handed-out sandbox survives the pool").hasSize(1);
        assertThat(pooled.run("echo mine").content()).isEqualTo("mine");
        pooled.close();
    }
}
