package dev.agentruntime;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pre-started sandboxes, so an agent gets a ready one in milliseconds instead of waiting for a cold start.
 *
 * <pre>{@code
 * try (WarmPool pool = WarmPool.builder().targetPerConfig(4).build()) {
 *     pool.prewarm(config);                       // starts 4 sandboxes in the background
 *     try (dev.agentruntime.Runtime sandbox = pool.acquire(config)) {   // a ready one, or a cold start
 *         sandbox.run("echo hi");
 *     }
 * }
 * }</pre>
 *
 * Sandboxes are keyed by their configuration (everything but the session id and listener): {@link #acquire}
 * hands out one started from an equal configuration and never one that anybody used before; each is health-checked
 * on the way out, and the pool refills in the background. The pool is bounded ({@code targetPerConfig} idle
 * sandboxes per configuration, {@code maxConfigs} configurations) and closing it closes every idle sandbox it
 * holds; sandboxes already handed out belong to their caller.
 */
public final class WarmPool implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WarmPool.class);
    private static final AtomicInteger POOLS = new AtomicInteger();

    private final int targetPerConfig;
    private final int maxConfigs;
    private final ExecutorService starter;
    private final Map<Key, Deque<Runtime>> idle = new HashMap<>();
    private final Map<Key, Integer> starting = new HashMap<>();
    private final Map<Key, RuntimeConfig> configs = new HashMap<>();
    private boolean closed;

    private WarmPool(Builder builder) {
        this.targetPerConfig = builder.targetPerConfig;
        this.maxConfigs = builder.maxConfigs;
        int pool = POOLS.incrementAndGet();
        AtomicInteger threads = new AtomicInteger();
        this.starter = Executors.newFixedThreadPool(builder.startThreads, r -> {
            Thread t = new Thread(r, "agent-runtime-warm-pool-" + pool + "-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The identity of a configuration for pooling: its session id and listener do not matter. */
    private record Key(RuntimeConfig normalized) {
        static Key of(RuntimeConfig config) {
            return new Key(config.toBuilder().sessionId("pooled").statusListener(StatusListener.NONE).build());
        }
    }

    /** Starts sandboxes in the background until {@code targetPerConfig} are idle for this configuration. */
    public void prewarm(RuntimeConfig config) {
        requireNoFixedSession(config);
        Key key = Key.of(config);
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("WarmPool is closed");
            }
            if (!configs.containsKey(key) && configs.size() >= maxConfigs) {
                throw new IllegalStateException("WarmPool already holds " + maxConfigs + " configurations (maxConfigs)");
            }
            configs.putIfAbsent(key, config.toBuilder().statusListener(StatusListener.NONE).build());
        }
        refill(key);
    }

    /**
     * A connected sandbox for this configuration: a pooled one when one is ready (health-checked), else a cold
     * start on the calling thread. Either way the pool refills in the background if the configuration was prewarmed.
     */
    public Runtime acquire(RuntimeConfig config) {
        Key key = Key.of(config);
        while (true) {
            Runtime candidate;
            synchronized (this) {
                if (closed) {
                    throw new IllegalStateException("WarmPool is closed");
                }
                Deque<Runtime> ready = idle.get(key);
                candidate = ready == null ? null : ready.pollFirst();
            }
            if (candidate == null) {
                log.debug("warm pool: no idle sandbox for {}, starting one cold", config.type());
                refill(key);
                return RuntimeFactory.connect(config);
            }
            refill(key);
            if (candidate.isHealthy()) {
                return candidate;
            }
            log.info("warm pool: dropping unhealthy sandbox {}", candidate.id());
            candidate.close();
        }
    }

    /** Idle sandboxes held for this configuration right now. */
    public synchronized int idleCount(RuntimeConfig config) {
        Deque<Runtime> ready = idle.get(Key.of(config));
        return ready == null ? 0 : ready.size();
    }

    private void refill(Key key) {
        RuntimeConfig config;
        int toStart;
        synchronized (this) {
            config = configs.get(key);
            if (closed || config == null) {
                return;
            }
            int have = idle.getOrDefault(key, new ArrayDeque<>()).size() + starting.getOrDefault(key, 0);
            toStart = Math.max(0, targetPerConfig - have);
            starting.merge(key, toStart, Integer::sum);
        }
        for (int i = 0; i < toStart; i++) {
            starter.execute(() -> startOne(key, config));
        }
    }

    private void startOne(Key key, RuntimeConfig config) {
        Runtime runtime = null;
        try {
            runtime = RuntimeFactory.connect(config.toBuilder().sessionId(null).build());
        } catch (RuntimeException e) {
            log.warn("warm pool: starting a {} sandbox failed: {}", config.type(), e.getMessage());
        }
        boolean keep;
        synchronized (this) {
            starting.merge(key, -1, Integer::sum);
            keep = runtime != null && !closed;
            if (keep) {
                idle.computeIfAbsent(key, k -> new ArrayDeque<>()).addLast(runtime);
                notifyAll();
            }
        }
        if (!keep && runtime != null) {
            runtime.close();
        }
    }

    /** Waits until {@code count} sandboxes are idle for this configuration, or the timeout passes. */
    public synchronized boolean awaitIdle(RuntimeConfig config, int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Key key = Key.of(config);
        while (idle.getOrDefault(key, new ArrayDeque<>()).size() < count) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || closed) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    private static void requireNoFixedSession(RuntimeConfig config) {
        Objects.requireNonNull(config, "config");
        if (config.attachToExisting()) {
            throw new InvalidConfigException("A warm pool cannot pre-start sandboxes that attach to an existing session");
        }
    }

    /** Closes every idle sandbox and stops refilling. Idempotent. */
    @Override
    public void close() {
        Deque<Runtime> toClose = new ArrayDeque<>();
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            idle.values().forEach(toClose::addAll);
            idle.clear();
            notifyAll();
        }
        starter.shutdown();
        toClose.forEach(Runtime::close);
        try {
            starter.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Sizes the pool. */
    public static final class Builder {
        private int targetPerConfig = 2;
        private int maxConfigs = 8;
        private int startThreads = 2;

        private Builder() {
        }

        /** Idle sandboxes to keep ready per configuration (default 2). */
        public Builder targetPerConfig(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("targetPerConfig must be at least 1, was " + value);
            }
            this.targetPerConfig = value;
            return this;
        }

        /** Distinct configurations the pool may hold (default 8). */
        public Builder maxConfigs(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxConfigs must be at least 1, was " + value);
            }
            this.maxConfigs = value;
            return this;
        }

        /** Sandboxes started in parallel in the background (default 2). */
        public Builder startThreads(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("startThreads must be at least 1, was " + value);
            }
            this.startThreads = value;
            return this;
        }

        public WarmPool build() {
            return new WarmPool(this);
        }
    }
}
