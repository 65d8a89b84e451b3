package dev.agentruntime.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.PortAllocationException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PortAllocatorTest {

    @TempDir
    Path tmp;

    private PortAllocator allocator(Path lockDir) {
        return PortAllocator.builder().lockDirectory(lockDir).build();
    }

    @Test
    void heldPortIsNeverHandedOutBySecondAllocatorUntilReleased() {
        Path lockDir = tmp.resolve("locks");
        PortRange range = TestPorts.freeRange(3);
        PortAllocator first = allocator(lockDir);
        PortAllocator second = allocator(lockDir);

        for (int round = 0; round < 25; round++) { // random candidate order differs per round
            PortLease held = first.allocate(range);
            assertThat(range.contains(held.port())).isTrue();

            PortLease b1 = second.allocate(range);
            PortLease b2 = second.allocate(range);
            assertThat(Set.of(held.port(), b1.port(), b2.port())).hasSize(3);
            assertThatThrownBy(() -> second.allocate(range)).isInstanceOf(PortAllocationException.class);

            held.close();
            PortLease again = second.allocate(range);
            assertThat(again.port()).isEqualTo(held.port());

            Stream.of(b1, b2, again).forEach(PortLease::close);
        }
    }

    @Test
    @SuppressWarnings("try") // resources held for their side effect
    void portBoundByAnotherProgramIsSkipped() throws IOException {
        PortRange range = TestPorts.freeRange(2);
        PortAllocator allocator = allocator(tmp.resolve("locks"));
        try (ServerSocket squatter = new ServerSocket(range.first())) { // plain socket, no lock file involved
            for (int i = 0; i < 20; i++) {
                try (PortLease lease = allocator.allocate(range)) {
                    assertThat(lease.port()).isEqualTo(range.last());
                }
            }
            PortRange onlyBound = new PortRange(range.first(), range.first());
            assertThatThrownBy(() -> allocator.allocate(onlyBound))
                    .isInstanceOf(PortAllocationException.class)
                    .hasMessageContaining("1 bound by another program");
        }
    }

    /*
     * Justifies SO_REUSEADDR on the probe: a port whose only occupant is a connection in TIME_WAIT (the server side
     * closed first, as when a sandbox server shuts down) is usable by a normal server and must be handed out.
     */
    @Test
    @SuppressWarnings("try") // accepted is closed early on purpose
    void portWithOnlyTimeWaitConnectionIsAllocatable() throws IOException {
        PortRange range = TestPorts.freeRange(1);
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(loopback, range.first()));
            try (java.net.Socket client = new java.net.Socket(loopback, range.first());
                 java.net.Socket accepted = server.accept()) {
                accepted.close(); // server side closes first -> its end (local port = range.first()) ends in TIME_WAIT
                assertThat(client.getInputStream().read()).isEqualTo(-1); // wait for the FIN, no sleeping
            }
        }
        try (PortLease lease = allocator(tmp.resolve("locks")).allocate(range)) {
            assertThat(lease.port()).isEqualTo(range.first());
        }
    }

    @Test
    @SuppressWarnings("try") // resources held for their side effect
    void portBoundOnLoopbackOnlyIsSkippedByWildcardProbe() throws IOException {
        PortRange range = TestPorts.freeRange(1);
        try (ServerSocket squatter = new ServerSocket()) {
            squatter.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), range.first()));
            assertThatThrownBy(() -> allocator(tmp.resolve("locks")).allocate(range))
                    .isInstanceOf(PortAllocationException.class)
                    .hasMessageContaining("bound by another program");
        }
    }

    @Test
    @SuppressWarnings("try") // resources held for their side effect
    void exhaustedRangeThrowsWithRangeAttemptsAndLockDirectory() {
        Path lockDir = tmp.resolve("locks");
        PortRange range = TestPorts.freeRange(2);
        PortAllocator holder = allocator(lockDir);
        try (PortLease a = holder.allocate(range); PortLease b = holder.allocate(range)) {
            assertThatThrownBy(() -> allocator(lockDir).allocate(range))
                    .isInstanceOf(PortAllocationException.class)
                    .hasMessageContaining(range.toString())
                    .hasMessageContaining("after 2 attempt(s)")
                    .hasMessageContaining("2 reserved within this JVM")
                    .hasMessageContaining(lockDir.toString());
        }
    }

    @Test
    void messageSaysWhenMaxAttemptsCoversOnlyPartOfTheRange() {
        Path lockDir = tmp.resolve("locks");
        PortRange range = TestPorts.freeRange(4);
        PortAllocator holder = allocator(lockDir);
        List<PortLease> all = holder.allocate(range, range, range, range);
        try {
            PortAllocator limited = PortAllocator.builder().lockDirectory(lockDir).maxAttempts(3).build();
            assertThatThrownBy(() -> limited.allocate(range))
                    .isInstanceOf(PortAllocationException.class)
                    .hasMessageContaining("after 3 attempt(s)")
                    .hasMessageContaining("maxAttempts=3");
        } finally {
            all.forEach(PortLease::close);
        }
    }

    @Test
    void closeIsIdempotentAndThreadSafe() throws Exception {
        Path lockDir = tmp.resolve("locks");
        PortRange range = TestPorts.freeRange(1);
        PortAllocator allocator = allocator(lockDir);

        PortLease lease = allocator.allocate(range);
        lease.close();
        assertThatCode(lease::close).doesNotThrowAnyException();
        assertThat(lease.port()).isEqualTo(range.first());

        for (int round = 0; round < 20; round++) {
            PortLease shared = allocator.allocate(range);
            int threads = 8;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                CountDownLatch gate = new CountDownLatch(1);
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    futures.add(pool.submit(() -> {
                        gate.await();
                        shared.close();
                        // whichever thread returns from close(), the port must be free again
                        try (PortLease next = allocator(lockDir).allocate(range)) {
                            return next.port();
                        } catch (PortAllocationException e) {
                            return -1; // another closer thread holds it right now: fine
                        }
                    }));
                }
                gate.countDown();
                for (Future<?> f : futures) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
        }
        // nothing left behind but the (never deleted) lock file
        try (Stream<Path> files = Files.list(lockDir)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactly("port-" + range.first() + ".lock");
        }
        try (PortLease last = allocator.allocate(range)) {
            assertThat(last.port()).isEqualTo(range.first());
        }
    }

    @Test
    void allocateManyReturnsOneLeasePerRangeInOrder() {
        PortAllocator allocator = allocator(tmp.resolve("locks"));
        PortRange a = TestPorts.freeRange(3);
        PortRange b = TestPorts.freeRange(1);
        List<PortLease> leases = allocator.allocate(a, b, a, a);
        try {
            assertThat(leases).hasSize(4);
            assertThat(a.contains(leases.get(0).port())).isTrue();
            assertThat(leases.get(1).port()).isEqualTo(b.first());
            assertThat(leases.stream().map(PortLease::port).collect(Collectors.toSet())).hasSize(4);
            assertThatThrownBy(() -> leases.add(null)).isInstanceOf(UnsupportedOperationException.class);
        } finally {
            leases.forEach(PortLease::close);
        }
        assertThat(allocator.allocate(new PortRange[0])).isEmpty();
    }

    @Test
    @SuppressWarnings("try") // resources held for their side effect
    void allocateManyIsAllOrNothing() {
        Path lockDir = tmp.resolve("locks");
        PortRange free = TestPorts.freeRange(2);
        PortRange taken = TestPorts.freeRange(1);
        PortAllocator other = allocator(lockDir);
        PortAllocator allocator = allocator(lockDir);

        try (PortLease blocker = other.allocate(taken)) {
            assertThatThrownBy(() -> allocator.allocate(free, free, taken))
                    .isInstanceOf(PortAllocationException.class)
                    .hasMessageContaining(taken.toString());
            // the two ports of `free` taken before the failure were released again
            List<PortLease> both = other.allocate(free, free);
            assertThat(both.stream().map(PortLease::port)).containsExactlyInAnyOrder(free.first(), free.last());
            both.forEach(PortLease::close);
        }
    }

    @Test
    void separateAllocatorsOnManyThreadsNeverShareAPort() throws Exception {
        Path lockDir = tmp.resolve("locks");
        PortRange range = TestPorts.freeRange(16);
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<PortLease> leases = new ArrayList<>();
        try {
            CountDownLatch gate = new CountDownLatch(1);
            List<Future<List<PortLease>>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Callable<List<PortLease>> task = () -> {
                    PortAllocator own = allocator(lockDir);
                    gate.await();
                    return List.of(own.allocate(range), own.allocate(range));
                };
                futures.add(pool.submit(task));
            }
            gate.countDown();
            for (Future<List<PortLease>> f : futures) {
                leases.addAll(f.get());
            }
            List<Integer> ports = leases.stream().map(PortLease::port).collect(Collectors.toList());
            assertThat(ports).hasSize(16).doesNotHaveDuplicates().allMatch(range::contains);
        } finally {
            pool.shutdownNow();
            leases.forEach(PortLease::close);
        }
    }

    /*
     * Regression test for POSIX fcntl semantics: a failed lock attempt by a second allocator in the same JVM must
     * not drop the first allocator's OS lock (closing any descriptor of a file drops the whole process's locks on
     * it). Observed by a different process, the port must stay locked.
     */
    @Test
    void failedAttemptBySecondAllocatorInSameJvmDoesNotReleaseTheLockForOtherProcesses() {
        Path lockDir = tmp.resolve("locks");
        PortRange range = TestPorts.freeRange(1);
        try (PortLease held = allocator(lockDir).allocate(range)) {
            for (int i = 0; i < 3; i++) {
                assertThatThrownBy(() -> allocator(lockDir).allocate(range))
                        .isInstanceOf(PortAllocationException.class)
                        .hasMessageContaining("reserved within this JVM");
            }
            try (ChildJvm child = ChildJvm.start(tmp, "observer", lockDir, range, 1)) {
                child.expectLine("READY");
                child.send("go");
                String line = child.readLine();
                assertThat(line).as("other process while port %d is held", held.port())
                        .startsWith("FAILED").contains("1 locked by another process");
                assertThat(child.waitForExit()).isEqualTo(AllocatorChild.EXIT_ALLOCATION_FAILED);
            }
        }
    }

    @Test
    void candidateOrderVisitsDistinctPortsOfTheRange() {
        Random random = new Random(42);
        for (int size = 1; size <= 300; size++) {
            PortRange range = new PortRange(1000, 1000 + size - 1);
            for (int trial = 0; trial < 20; trial++) {
                int[] all = PortAllocator.candidateOrder(range, Integer.MAX_VALUE, random);
                assertThat(all).hasSize(size);
                assertThat(IntStream.of(all).sorted().toArray())
                        .isEqualTo(IntStream.rangeClosed(range.first(), range.last()).toArray());

                int[] some = PortAllocator.candidateOrder(range, 7, random);
                assertThat(some).hasSize(Math.min(7, size));
                assertThat(IntStream.of(some).boxed().collect(Collectors.toSet())).hasSize(some.length);
                assertThat(IntStream.of(some).allMatch(range::contains)).isTrue();
            }
        }
        // the start and the stride are random: orders over a big range differ
        Set<String> orders = new HashSet<>();
        for (int i = 0; i < 10; i++) {
            orders.add(Arrays.toString(PortAllocator.candidateOrder(PortRange.EXECUTION_SERVER, 5, random)));
        }
        assertThat(orders).hasSizeGreaterThan(1);
    }

    @Test
    void defaults() {
        PortAllocator allocator = PortAllocator.defaults();
        assertThat(allocator.lockDirectory())
                .isEqualTo(Path.of(System.getProperty("java.io.tmpdir"), "agent-runtime-port-locks").toAbsolutePath());
        assertThat(allocator.bindAddress().isAnyLocalAddress()).isTrue();
        assertThat(allocator.bindAddress().getAddress()).hasSize(4);
        assertThat(allocator.maxAttempts()).isEqualTo(64);
    }

    @Test
    void builderValidates() {
        assertThatThrownBy(() -> PortAllocator.builder().maxAttempts(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0");
        assertThatThrownBy(() -> PortAllocator.builder().lockDirectory(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> PortAllocator.builder().bindAddress(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void createsMissingLockDirectoryWithDefaultPermissions() throws IOException {
        Path lockDir = tmp.resolve("a/b/locks");
        try (PortLease lease = allocator(lockDir).allocate(TestPorts.freeRange(1))) {
            assertThat(lockDir).isDirectory();
            assertThat(lockDir.resolve("port-" + lease.port() + ".lock")).isRegularFile();
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(lockDir);
            assertThat(permissions).doesNotContain(PosixFilePermission.OTHERS_WRITE);
        }
    }

    @Test
    void unusableLockDirectoryIsReportedAsAllocationFailure() throws IOException {
        Path notADirectory = Files.createFile(tmp.resolve("plain-file"));
        PortRange range = TestPorts.freeRange(1);
        assertThatThrownBy(() -> allocator(notADirectory).allocate(range))
                .isInstanceOf(PortAllocationException.class)
                .hasMessageContaining(range.toString())
                .hasMessageContaining(notADirectory.toString());
    }
}
