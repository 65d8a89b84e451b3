package dev.agentruntime.kubernetes.sim;

import java.time.Duration;

/**
 * The simulated kubelet's own clocks: how long after a failed sync the pod worker tries again, and the image-pull and
 * crash-loop back-offs (initial value, doubling, capped). The nominal values are a real v1.32 kubelet's as the
 * recordings show them (retries 11-15 s apart, back-off 10 s → 20 s → 40 s … 300 s); {@code scale} compresses the
 * waits for tests while messages keep the nominal numbers ({@code back-off 10s restarting failed container=...}).
 * User-set durations (grace periods, {@code activeDeadlineSeconds}, probe periods) are never scaled. The retry period
 * is 12 s: the recorded retries came 11-15 s apart, and 12 reproduces every recorded pull/back-off and
 * restart/back-off pattern (a retry falling inside or outside a back-off window). {@code plegDelay} is how long after
 * a container starts the kubelet notices it (its PLEG relists every second; the recordings show the Running status
 * 0.4-0.9 s after {@code Started}): the Running status and the first probe come that much later.
 */
public record KubeletTiming(Duration syncRetry, Duration backOffInitial, Duration backOffMax, double scale,
                            Duration relist, Duration plegDelay) {

    public KubeletTiming {
        if (scale <= 0 || scale > 1) {
            throw new IllegalArgumentException("scale must be in (0, 1], was " + scale);
        }
    }

    /** A real kubelet's timings. */
    public static KubeletTiming real() {
        return new KubeletTiming(Duration.ofSeconds(12), Duration.ofSeconds(10), Duration.ofSeconds(300), 1.0,
                Duration.ofSeconds(1), Duration.ofMillis(400));
    }

    /** The real timings, waited {@code scale} times as long (0.05: a 10 s back-off lasts 0.5 s). */
    public static KubeletTiming scaled(double scale) {
        return new KubeletTiming(Duration.ofSeconds(12), Duration.ofSeconds(10), Duration.ofSeconds(300), scale,
                Duration.ofSeconds(1), Duration.ofMillis(400));
    }

    /**
     * Fast for tests that do not compare against recordings: waits scaled by 0.1 and the PLEG noticing a started
     * container after 50 ms instead of 400 ms (a readiness probe may then fail once on a slow-starting server).
     */
    public static KubeletTiming fast() {
        return scaled(0.1).withPlegDelay(Duration.ofMillis(50));
    }

    public KubeletTiming withPlegDelay(Duration delay) {
        return new KubeletTiming(syncRetry, backOffInitial, backOffMax, scale, relist, delay);
    }

    /** A nominal duration as actually waited. */
    Duration actual(Duration nominal) {
        return Duration.ofNanos((long) (nominal.toNanos() * scale));
    }
}
