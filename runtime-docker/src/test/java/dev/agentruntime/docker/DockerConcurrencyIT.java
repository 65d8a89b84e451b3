package dev.agentruntime.docker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.testkit.RequiresDocker;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** 32 sandboxes created at once from two JVMs on one daemon all start: no host port is ever fought over. */
@RequiresDocker
class DockerConcurrencyIT {

    private static final int PER_JVM = 16;

    @Test
    void thirtyTwoSandboxesFromTwoJvmsAllStart() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 6);
        try (ChildJvm child = ChildJvm.start("many", Integer.toString(PER_JVM), "it-b-" + run)) {
            assertThat(child.readLine(Duration.ofMinutes(1))).isEqualTo("WAITING");
            Instant start = Instant.now();
            child.send("GO");
            CompletableFuture<List<String>> here = CompletableFuture.supplyAsync(() -> {
                try {
                    return SandboxChild.runMany(PER_JVM, "it-a-" + run);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            List<String> there = child.readAll(Instant.now().plus(Duration.ofMinutes(6)));
            int childExit = child.waitFor(Duration.ofSeconds(30));

            List<String> all = new ArrayList<>(here.get());
            all.addAll(there);
            System.out.printf("32 sandboxes from two JVMs: %d ms%n", Duration.between(start, Instant.now()).toMillis());
            assertThat(all).hasSize(2 * PER_JVM).allMatch(line -> line.startsWith("OK "), "started and answered");
            assertThat(String.join("\n", all)).doesNotContain("already allocated").doesNotContain("already in use");
            assertThat(childExit).isZero();
        }
    }
}
