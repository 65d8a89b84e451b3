package dev.agentruntime.server;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The backstop for actions past their deadline, built so that arming it costs the action path no thread switch.
 *
 * <p>A {@code ScheduledThreadPoolExecutor} signals its thread whenever a new task becomes the head of its queue, so
 * with one action at a time every action woke the watchdog thread twice (schedule, then nothing to do but sleep
 * again), competing for a core with bash and the request's own thread just when they needed it. Here an action's
 * deadline is only written into a list; the thread is signalled only when the new deadline is earlier than the
 * moment it already plans to wake. Agents send the same timeout with every action, so deadlines only grow and the
 * thread wakes once per deadline period to re-plan, not once per action. A finished action's entry is marked done
 * and dropped at the next wake.
 */
final class ActionWatchdog implements AutoCloseable {

    /** One armed deadline; {@link #cancel()} when the action answered in time. */
    static final class Entry {
        private final long deadlineNanos;
        private final Runnable onExpiry;
        private volatile boolean done;

        private Entry(long deadlineNanos, Runnable onExpiry) {
            this.deadlineNanos = deadlineNanos;
            this.onExpiry = onExpiry;
        }

        /** The action finished: the watchdog will never run it. Costs no thread switch. */
        void cancel() {
            done = true;
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition earlier = lock.newCondition();
    private final List<Entry> entries = new ArrayList<>();
    private final String threadName;
    private Thread thread;
    /** When the thread will wake next on its own ({@code Long.MAX_VALUE}: it waits for a signal). */
    private long plannedWake = Long.MAX_VALUE;
    private boolean waiting;
    private boolean closed;

    ActionWatchdog(String threadName) {
        this.threadName = threadName;
    }

    /** Runs {@code onExpiry} on the watchdog thread once {@code delayNanos} have passed, unless cancelled first. */
    Entry arm(long delayNanos, Runnable onExpiry) {
        long now = System.nanoTime();
        long deadline = delayNanos >= Long.MAX_VALUE / 4 ? now + Long.MAX_VALUE / 4 : now + delayNanos;
        Entry entry = new Entry(deadline, onExpiry);
        lock.lock();
        try {
            if (closed) {
                entry.done = true;
                return entry;
            }
            if (entries.size() >= 64) {
                entries.removeIf(e -> e.done); // finished actions between two wakes: bounded, amortised
            }
            entries.add(entry);
            if (thread == null) {
                thread = new Thread(this::loop, threadName);
                thread.setDaemon(true);
                thread.start();
            } else if (waiting && deadline - plannedWake < 0) {
                earlier.signal(); // only when it must wake sooner than it planned
            }
        } finally {
            lock.unlock();
        }
        return entry;
    }

    private void loop() {
        List<Entry> due = new ArrayList<>();
        while (true) {
            lock.lock();
            try {
                if (closed) {
                    return;
                }
                long now = System.nanoTime();
                long next = Long.MAX_VALUE;
                boolean any = false;
                for (int i = entries.size() - 1; i >= 0; i--) {
                    Entry e = entries.get(i);
                    if (e.done) {
                        entries.remove(i);
                    } else if (e.deadlineNanos - now <= 0) {
                        entries.remove(i);
                        due.add(e);
                    } else if (!any || e.deadlineNanos - next < 0) {
                        next = e.deadlineNanos;
                        any = true;
                    }
                }
                if (due.isEmpty()) {
                    plannedWake = any ? next : Long.MAX_VALUE;
                    waiting = true;
                    try {
                        if (any) {
                            earlier.awaitNanos(next - now);
                        } else {
                            earlier.await();
                        }
                    } catch (InterruptedException e) {
                        return;
                    } finally {
                        waiting = false;
                    }
                    continue;
                }
            } finally {
                lock.unlock();
            }
            for (Entry e : due) {
                if (!e.done) {
                    try {
                        e.onExpiry.run();
                    } catch (RuntimeException | Error ex) {
                        // the expiry answers for an action; a failure there must not stop the watchdog
                    }
                }
            }
            due.clear();
        }
    }

    /** Stops the thread; armed entries never run. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            earlier.signal();
        } finally {
            lock.unlock();
        }
    }

    /** For tests: entries still held (done ones are dropped at the thread's next wake). */
    int held() {
        lock.lock();
        try {
            return entries.size();
        } finally {
            lock.unlock();
        }
    }
}
