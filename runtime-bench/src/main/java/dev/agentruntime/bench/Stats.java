package dev.agentruntime.bench;

import java.util.Arrays;
import java.util.Collection;

/**
 * Summary of a set of samples: count, min, nearest-rank percentiles p50/p90/p99, max and mean.
 *
 * <p>Nearest rank: the p-th percentile of n sorted samples is the sample at rank {@code ceil(p/100 * n)} (1-based),
 * always an observed value and never an interpolation; p50 of an even count is the lower middle. With fewer than 100
 * samples p99 is the maximum, which the report makes visible through {@link #count()}.
 */
public record Stats(int count, double min, double p50, double p90, double p99, double max, double mean) {

    public Stats {
        if (count < 1) {
            throw new IllegalArgumentException("Stats need at least one sample");
        }
    }

    /** Summarises the samples (their order does not matter; the array is not modified). */
    public static Stats of(double... samples) {
        if (samples.length == 0) {
            throw new IllegalArgumentException("no samples");
        }
        double[] sorted = samples.clone();
        Arrays.sort(sorted);
        double sum = 0;
        for (double s : sorted) {
            sum += s;
        }
        return new Stats(sorted.length, sorted[0], percentile(sorted, 50), percentile(sorted, 90),
                percentile(sorted, 99), sorted[sorted.length - 1], sum / sorted.length);
    }

    public static Stats of(Collection<Double> samples) {
        return of(samples.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** One value, e.g. a wall time or a count: every percentile is that value. */
    public static Stats single(double value) {
        return new Stats(1, value, value, value, value, value, value);
    }

    /**
     * The nearest-rank percentile of already sorted samples.
     *
     * @param p in (0, 100]
     */
    public static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            throw new IllegalArgumentException("no samples");
        }
        if (!(p > 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile must be in (0, 100], was " + p);
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(1, Math.min(rank, sorted.length)) - 1];
    }
}
