package dev.agentruntime.kubernetes.sim;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * client-go's {@code flowcontrol.Backoff} as the kubelet uses it for crash loops and image pulls: an entry per key
 * whose back-off starts at the initial value and doubles on each {@link #next}, capped; an entry not updated for
 * twice the cap starts over. Durations here are nominal ({@link KubeletTiming}); {@code scale} stretches them to
 * the time actually waited. Not thread-safe: one pod worker owns it.
 */
final class BackOff {

    private record Entry(Duration backOff, Instant lastUpdate) {
    }

    private final Duration initial;
    private final Duration max;
    private final double scale;
    private final Map<String, Entry> entries = new HashMap<>();

    BackOff(KubeletTiming timing) {
        this.initial = timing.backOffInitial();
        this.max = timing.backOffMax();
        this.scale = timing.scale();
    }

    /** The nominal back-off of {@code key} (for messages), zero when none. */
    Duration get(String key) {
        Entry entry = entries.get(key);
        return entry == null ? Duration.ZERO : entry.backOff;
    }

    /** {@code IsInBackOffSince}: whether less than the back-off has passed since {@code eventTime}. */
    boolean inBackOffSince(String key, Instant eventTime, Instant now) {
        Entry entry = entries.get(key);
        if (entry == null || expired(eventTime, entry.lastUpdate)) {
            return false;
        }
        return Duration.between(eventTime, now).compareTo(actual(entry.backOff)) < 0;
    }

    /** {@code IsInBackOffSinceUpdate}: whether less than the back-off has passed since the last {@link #next}. */
    boolean inBackOffSinceUpdate(String key, Instant now) {
        Entry entry = entries.get(key);
        if (entry == null || expired(now, entry.lastUpdate)) {
            return false;
        }
        return Duration.between(entry.lastUpdate, now).compareTo(actual(entry.backOff)) < 0;
    }

    void next(String key, Instant eventTime, Instant now) {
        Entry entry = entries.get(key);
        Duration backOff;
        if (entry == null || expired(eventTime, entry.lastUpdate)) {
            backOff = initial;
        } else {
            backOff = entry.backOff.multipliedBy(2);
            if (backOff.compareTo(max) > 0) {
                backOff = max;
            }
        }
        entries.put(key, new Entry(backOff, now));
    }

    private boolean expired(Instant eventTime, Instant lastUpdate) {
        return Duration.between(lastUpdate, eventTime).compareTo(actual(max.multipliedBy(2))) > 0;
    }

    private Duration actual(Duration nominal) {
        return Duration.ofNanos((long) (nominal.toNanos() * scale));
    }
}
