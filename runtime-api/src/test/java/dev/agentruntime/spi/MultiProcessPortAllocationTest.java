package dev.agentruntime.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Four separate JVMs allocate 8 ports each, concurrently, from one range of exactly 32 ports with a shared lock
 * directory; a fifth JVM must then find the range exhausted.
 */
class MultiProcessPortAllocationTest {

    private static final int PROCESSES = 4;
    private static final int PORTS_PER_PROCESS = 8;
    private static final int RANGE_SIZE = PROCESSES * PORTS_PER_PROCESS; // 32

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void concurrentProcessesNeverShareAPortAndExhaustTheRange() {
        PortRange range = TestPorts.freeRange(RANGE_SIZE);
        Path lockDir = tmp.resolve("shared-locks");
        List<ChildJvm> holders = new ArrayList<>();
        ChildJvm fifth = null;
        try {
            // Start every JVM (including the fifth) before anyone allocates; each waits for "go".
            for (int i = 0; i < PROCESSES; i++) {
                holders.add(ChildJvm.start(tmp, "holder-" + i, lockDir, range, PORTS_PER_PROCESS));
            }
            fifth = ChildJvm.start(tmp, "fifth", lockDir, range, 1);
            for (ChildJvm child : holders) {
                child.expectLine("READY");
            }
            fifth.expectLine("READY");

            // Release all four at once: allocation really is concurrent.
            holders.forEach(child -> child.send("go"));

            List<Integer> allPorts = new ArrayList<>();
            for (ChildJvm child : holders) {
                List<Integer> ports = new ArrayList<>();
                for (String line = child.readLine(); !line.equals("ALLOCATED"); line = child.readLine()) {
                    if (!line.startsWith("PORT ")) {
                        throw new AssertionError(child.name() + ": " + line + child.diagnostics());
                    }
                    ports.add(Integer.parseInt(line.substring("PORT ".length())));
                }
                assertThat(ports).as(child.name()).hasSize(PORTS_PER_PROCESS);
                allPorts.addAll(ports);
            }
            assertThat(allPorts)
                    .hasSize(RANGE_SIZE)
                    .doesNotHaveDuplicates()
                    .allMatch(range::contains);

            // All 32 ports are held by live processes now: the fifth process must fail.
            fifth.send("go");
            String verdict = fifth.readLine();
            assertThat(verdict)
                    .startsWith("FAILED ")
                    .contains(range.toString())
                    .contains("after " + RANGE_SIZE + " attempt(s)")
                    .contains(RANGE_SIZE + " locked by another process")
                    .contains(lockDir.toString());
            assertThat(fifth.waitForExit()).isEqualTo(AllocatorChild.EXIT_ALLOCATION_FAILED);

            // Tell the holders to release (EOF on stdin) and wait for them to finish.
            for (ChildJvm child : holders) {
                child.closeStdin();
            }
            for (ChildJvm child : holders) {
                child.expectLine("RELEASED");
                assertThat(child.waitForExit()).as(child.name()).isZero();
            }

            // Released across processes: this JVM can now take the whole range.
            PortAllocator allocator = PortAllocator.builder().lockDirectory(lockDir).build();
            PortRange[] everything = new PortRange[RANGE_SIZE];
            java.util.Arrays.fill(everything, range);
            List<PortLease> leases = allocator.allocate(everything);
            assertThat(leases).hasSize(RANGE_SIZE);
            leases.forEach(PortLease::close);
        } finally {
            holders.forEach(ChildJvm::close);
            if (fifth != null) {
                fifth.close();
            }
        }
    }
}
