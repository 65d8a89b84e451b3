package dev.agentruntime.server.http;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A bounded pool of named daemon worker threads. An idle worker is handed its next task directly (one unpark), and
 * the most recently idle worker goes first (LIFO), so a lone client keeps hitting the same warm thread. Tasks beyond
 * {@code max} busy workers wait in FIFO order. Idle workers exit after {@code keepAlive}.
 */
final class Workers {

    private static final AtomicInteger POOLS = new AtomicInteger();

    private final Object lock = new Object();
    private final ArrayDeque<Worker> idle = new ArrayDeque<>();
    private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
    private final int max;
    private final long keepAliveNanos;
    private final String namePrefix;
    private final AtomicInteger names = new AtomicInteger();
    private int threads;
    private boolean shutdown;

    Workers(int max, long keepAlive, TimeUnit unit, String namePrefix) {
        this.max = max;
        this.keepAliveNanos = unit.toNanos(keepAlive);
        this.namePrefix = namePrefix + (POOLS.incrementAndGet() == 1 ? "" : POOLS.get() + "-");
    }

    void execute(Runnable task) {
        Worker worker;
        synchronized (lock) {
            if (shutdown) {
                throw new IllegalStateException("worker pool is shut down");
            }
            worker = idle.pollFirst();
            if (worker == null) {
                if (threads < max) {
                    threads++;
                    worker = new Worker(task);
                    Thread thread = new Thread(worker, namePrefix + names.incrementAndGet());
                    thread.setDaemon(true);
                    worker.thread = thread;
                    thread.start();
                    return;
                }
                queue.addLast(task);
                return;
            }
            worker.task = task;
        }
        LockSupport.unpark(worker.thread);
    }

    int queued() {
        synchronized (lock) {
            return queue.size();
        }
    }

    void shutdown() {
        synchronized (lock) {
            shutdown = true;
            queue.clear();
            for (Worker w : idle) {
                LockSupport.unpark(w.thread);
            }
        }
    }

    private final class Worker implements Runnable {
        volatile Runnable task;
        Thread thread;

        Worker(Runnable first) {
            this.task = first;
        }

        @Override
        public void run() {
            Runnable next = task;
            while (next != null) {
                try {
                    next.run();
                } catch (Throwable t) {
                    // a task must not kill its worker; tasks report their own failures
                }
                next = take();
            }
        }

        private Runnable take() {
            synchronized (lock) {
                Runnable queued = queue.pollFirst();
                if (queued != null) {
                    return queued;
                }
                if (shutdown) {
                    threads--;
                    return null;
                }
                task = null;
                idle.addFirst(this);
            }
            long deadline = System.nanoTime() + keepAliveNanos;
            while (true) {
                Runnable given = task;
                if (given != null) {
                    return given;
                }
                long left = deadline - System.nanoTime();
                synchronized (lock) {
                    if (task != null) {
                        return task;
                    }
                    if (left <= 0 || shutdown) {
                        idle.remove(this);
                        threads--;
                        return null;
                    }
                }
                LockSupport.parkNanos(this, left);
            }
        }
    }
}
