package dev.agentruntime.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.Action;
import dev.agentruntime.FileReadAction;
import dev.agentruntime.Observation;
import dev.agentruntime.server.files.FileService;
import dev.agentruntime.server.shell.BashSession;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ActionExecutorTest {

    @TempDir
    Path root;

    /** An executor whose first action hangs like a read blocked in the kernel, until released. */
    private static final class Hanging extends ActionExecutor {
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicBoolean first = new AtomicBoolean(true);

        Hanging(BashSession shell, FileService files, ServerLimits limits) {
            super(shell, () -> null, files, limits);
        }

        @Override
        Observation run(Action action, JsonNode rawArgs, Duration deadline) {
            if (first.getAndSet(false)) {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return super.run(action, rawArgs, deadline);
        }
    }

    @Test
    void aHangingActionIsAnsweredAtItsDeadlineAndFreesTheLock() throws Exception {
        BashSession shell = new BashSession(root, Map.of(), Duration.ofSeconds(10), List.of("bash"), "u", "h");
        Hanging executor = new Hanging(shell, new FileService(root), ServerLimits.defaults());
        try {
            FileReadAction hangs = new FileReadAction("/nonexistent-a", 0, -1, "", FileReadAction.ImplSource.DEFAULT,
                    null, Duration.ofMillis(200));
            CompletableFuture<Observation> answered = new CompletableFuture<>();
            AtomicBoolean claimed = new AtomicBoolean();
            Thread caller = new Thread(() -> executor.execute(hangs, null, new ActionExecutor.Answer() {
                @Override
                public boolean claim() {
                    return claimed.compareAndSet(false, true);
                }

                @Override
                public void deliver(Observation observation) {
                    answered.complete(observation);
                }
            }));
            caller.start();
            Observation watchdog = answered.get(30, TimeUnit.SECONDS); // 200 ms deadline + 5 s grace
            assertThat(watchdog.content()).contains("The read action did not finish within 0.2 seconds and was abandoned");
            // the lock is free although the first action is still stuck: a second action runs and is answered
            Observation next = executor.execute(new FileReadAction("/nonexistent-b", 0, -1, "",
                    FileReadAction.ImplSource.DEFAULT, null, null), null);
            assertThat(next.content()).startsWith("File not found: /nonexistent-b");
            executor.release.countDown();
            caller.join(10_000);
            assertThat(caller.isAlive()).isFalse();
        } finally {
            executor.release.countDown();
            executor.close();
        }
    }
}
