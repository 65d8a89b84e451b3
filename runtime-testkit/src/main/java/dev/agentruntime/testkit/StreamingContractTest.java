package dev.agentruntime.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.Observation;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Streamed output and asynchronous actions through a backend, end to end: {@code run(action, listener)} gets the
 * output while the command runs and returns the observation a plain {@code run} would, and {@code executeAsync}
 * runs actions in call order without blocking the caller. Extend it like {@link RuntimeContractTest}; whatever sits
 * between the client and the sandbox's server (a gateway, a vendor's proxy) must pass the stream through.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class StreamingContractTest {

    protected Runtime runtime;

    /** Configures the backend under test. */
    protected abstract RuntimeConfig.Builder configure(RuntimeConfig.Builder builder);

    @BeforeAll
    void connect() {
        runtime = RuntimeFactory.connect(configure(RuntimeConfig.builder()).build());
    }

    @AfterAll
    void close() {
        if (runtime != null) {
            runtime.close();
        }
    }

    /** One chunk and when it arrived. */
    private record Chunk(String text, long atNanos) {
    }

    @Test
    void outputArrivesWhileTheCommandRuns() {
        List<Chunk> chunks = new CopyOnWriteArrayList<>();
        long started = System.nanoTime();

        CmdOutputObservation out = runtime.run(CmdRunAction.of("for i in 1 2 3; do echo $i; sleep 1; done"),
                chunk -> chunks.add(new Chunk(chunk, System.nanoTime() - started)));
        long ended = System.nanoTime() - started;

        assertThat(out.exitCode()).isZero();
        assertThat(out.content()).isEqualTo("1\n2\n3");
        assertThat(String.join("", chunks.stream().map(Chunk::text).toList())).isEqualTo("1\n2\n3\n");
        assertThat(chunks).hasSizeGreaterThanOrEqualTo(3);
        long first = chunks.get(0).atNanos();
        assertThat(ended).isGreaterThan(Duration.ofSeconds(2).toNanos());
        assertThat(first).as("first chunk after %d ms of %d ms", first / 1_000_000, ended / 1_000_000)
                .isLessThan(ended - Duration.ofMillis(1500).toNanos());
        System.out.printf("[%s] first chunk after %d ms, observation after %d ms%n", getClass().getSimpleName(),
                first / 1_000_000, ended / 1_000_000);
    }

    @Test
    void theStreamedObservationEqualsThePlainOne() {
        CmdRunAction action = CmdRunAction.of("cd /tmp && printf 'a\\tb\\nété\\n' && (exit 4)");

        CmdOutputObservation plain = runtime.run(action);
        StringBuilder streamed = new StringBuilder();
        CmdOutputObservation withListener = runtime.run(action, streamed::append);

        assertThat(withListener).isEqualTo(plain);
        assertThat(withListener.exitCode()).isEqualTo(4);
        assertThat(streamed.toString()).isEqualTo("a\tb\nété\n");
    }

    @Test
    void asyncActionsRunInCallOrderWithoutBlockingTheCaller() throws Exception {
        StringBuilder streamed = new StringBuilder();
        CompletableFuture<Observation> first = runtime.executeAsync(
                CmdRunAction.of("sleep 1; echo first > /tmp/agent-runtime-async; echo written"), streamed::append);
        CompletableFuture<Observation> second = runtime.executeAsync(CmdRunAction.of("cat /tmp/agent-runtime-async"));

        assertThat(first).as("the caller does not wait for a one-second command").isNotDone();
        assertThat(second.get(60, TimeUnit.SECONDS).content()).isEqualTo("first");
        assertThat(first).isDone();
        assertThat(first.get().content()).isEqualTo("written");
        assertThat(streamed.toString()).isEqualTo("written\n");
    }

    @Test
    void aRefusedAsyncActionCompletesExceptionallyAndTheNextOneRuns() {
        String tooLong = "echo " + "x".repeat(1024 * 1024 + 1); // beyond the server's 1 MiB command limit

        CompletableFuture<Observation> refused = runtime.executeAsync(CmdRunAction.of(tooLong), chunk -> { });
        CompletableFuture<Observation> next = runtime.executeAsync(CmdRunAction.of("echo still serving"));

        assertThat(refused).failsWithin(Duration.ofSeconds(30))
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withCauseInstanceOf(dev.agentruntime.ActionFailedException.class);
        assertThat(next).succeedsWithin(Duration.ofSeconds(30))
                .satisfies(observation -> assertThat(observation.content()).isEqualTo("still serving"));
    }
}
