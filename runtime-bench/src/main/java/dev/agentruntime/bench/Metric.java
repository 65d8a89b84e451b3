package dev.agentruntime.bench;

import java.util.Objects;

/**
 * One measured quantity of a run.
 *
 * @param id    stable identifier, used by targets and in the JSON ({@code docker.rtt.echo})
 * @param label what was measured, for the table
 * @param unit  {@code ms}, {@code MiB/s}, {@code MiB}, {@code actions/s}, {@code count}, {@code x}
 * @param stats the samples' summary; a single value for wall times and counts
 * @param note  how it was measured or what to keep in mind (may be empty)
 */
public record Metric(String id, String label, String unit, Stats stats, String note) {

    public Metric {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(unit, "unit");
        Objects.requireNonNull(stats, "stats");
        note = note == null ? "" : note;
    }

    /** The value targets are checked against: the median (the value itself for a single sample). */
    public double headline() {
        return stats.p50();
    }
}
