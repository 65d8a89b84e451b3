package dev.agentruntime.gateway.internal;

import dev.agentruntime.gateway.GatewayConfig;
import dev.agentruntime.gateway.internal.Sessions.Session;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends idle sessions, every {@code reap.interval}: a running session whose server reports an {@code idle_time}
 * (seconds since its last action) over its key's idle timeout, a paused one paused for longer than that as seen by
 * this replica (a restart starts that count again: sessions are reaped late, never early), and stopped ones (their
 * server exited, e.g. by its own idle timeout while no gateway ran). Sessions this replica is proxying to are left
 * alone. Every replica reaps; removing a removed sandbox does nothing.
 */
public final class Reaper implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Reaper.class);

    private final GatewayConfig config;
    private final Sessions sessions;
    private final ProxyRoutes routes;
    private final Metrics metrics;
    private final Map<String, Long> pausedSince = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer;

    public Reaper(GatewayConfig config, Sessions sessions, ProxyRoutes routes, Metrics metrics) {
        this.config = config;
        this.sessions = sessions;
        this.routes = routes;
        this.metrics = metrics;
        this.timer = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "agent-runtime-gateway-reaper");
            thread.setDaemon(true);
            return thread;
        });
    }

    public void start() {
        long millis = config.reapInterval().toMillis();
        timer.scheduleWithFixedDelay(this::reapQuietly, millis, millis, TimeUnit.MILLISECONDS);
    }

    private void reapQuietly() {
        try {
            reap();
        } catch (RuntimeException e) {
            log.warn("reaping failed: {}", e.toString());
        }
    }

    /** One round; returns the runtime ids reaped. */
    public Set<String> reap() {
        Set<String> reaped = new HashSet<>();
        Set<String> seen = new HashSet<>();
        for (Session session : sessions.all()) {
            seen.add(session.runtimeId());
            Optional<GatewayConfig.ApiKey> key = config.key(session.tenant());
            if (key.isEmpty() || routes.busy(session.runtimeId())) {
                continue; // a key no longer configured: its sessions are the operator's to end
            }
            Duration idle = key.get().idleTimeout();
            String reason = switch (session.status()) {
                case "stopped" -> "stopped";
                case "paused" -> {
                    long since = pausedSince.computeIfAbsent(session.runtimeId(), id -> System.nanoTime());
                    yield System.nanoTime() - since > idle.toNanos() ? "paused" : null;
                }
                case "running" -> {
                    pausedSince.remove(session.runtimeId());
                    yield sessions.idleSeconds(session).filter(seconds -> seconds * 1000 > idle.toMillis())
                            .map(seconds -> "idle").orElse(null);
                }
                default -> null;
            };
            if (reason != null && sessions.stop(session)) {
                reaped.add(session.runtimeId());
                pausedSince.remove(session.runtimeId());
                metrics.reaped(session.tenant(), reason);
                log.info("reaped runtime {} of key {} session {} ({}, idle timeout {})", session.runtimeId(),
                        session.tenant(), session.sessionId(), reason, idle);
            }
        }
        pausedSince.keySet().retainAll(seen);
        return reaped;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
