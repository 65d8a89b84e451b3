package dev.agentruntime.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The action watchdog: expiry runs once past the deadline, never for a cancelled entry, sooner ones are not missed. */
class ActionWatchdogTest {

    @Test
    void anExpiredEntryRunsAndACancelledOneNever() throws Exception {
        try (ActionWatchdog dog = new ActionWatchdog("test-watchdog")) {
            AtomicInteger cancelledRan = new AtomicInteger();
            CountDownLatch fired = new CountDownLatch(1);
            ActionWatchdog.Entry cancelled = dog.arm(TimeUnit.MILLISECONDS.toNanos(50), cancelledRan::incrementAndGet);
            cancelled.cancel();
            long start = System.nanoTime();
            dog.arm(TimeUnit.MILLISECONDS.toNanos(100), fired::countDown);

            assertThat(fired.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(100));
            assertThat(cancelledRan).hasValue(0);
        }
    }

    @Test
    void aSoonerDeadlineArmedAfterALaterOneWakesTheThreadInTime() throws Exception {
        try (ActionWatchdog dog = new ActionWatchdog("test-watchdog")) {
            dog.arm(TimeUnit.HOURS.toNanos(1), () -> { });
            // the thread now sleeps until the hour is up; a short deadline must still fire on time
            CountDownLatch fired = new CountDownLatch(1);
            dog.arm(TimeUnit.MILLISECONDS.toNanos(100), fired::countDown);

            assertThat(fired.await(10, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void finishedEntriesDoNotAccumulate() {
        try (ActionWatchdog dog = new ActionWatchdog("test-watchdog")) {
            for (int i = 0; i < 10_000; i++) {
                dog.arm(TimeUnit.HOURS.toNanos(1) + i, () -> { }).cancel();
            }
            assertThat(dog.held()).isLessThanOrEqualTo(64);
        }
    }

    @Test
    void nothingRunsAfterClose() throws Exception {
        AtomicInteger ran = new AtomicInteger();
        ActionWatchdog dog = new ActionWatchdog("test-watchdog");
        dog.arm(TimeUnit.MILLISECONDS.toNanos(100), ran::incrementAndGet);
        dog.close();
        CountDownLatch later = new CountDownLatch(1);
        try (ActionWatchdog other = new ActionWatchdog("test-watchdog-2")) {
            other.arm(TimeUnit.MILLISECONDS.toNanos(300), later::countDown); // a clock for "well past 100 ms"
            assertThat(later.await(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(ran).hasValue(0);
    }
}
