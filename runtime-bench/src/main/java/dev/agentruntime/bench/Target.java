package dev.agentruntime.bench;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A goal from issue 5, checked against the median ({@link Metric#headline()}) of one metric.
 *
 * @param metricId    the metric it applies to
 * @param description the goal in words, e.g. "Docker echo round trip p50 <= 1 ms"
 * @param atMost      true: the value must be at most {@code limit} (latency, memory); false: at least (throughput)
 * @param limit       the bound, in the metric's unit
 */
public record Target(String metricId, String description, boolean atMost, double limit) {

    public Target {
        Objects.requireNonNull(metricId, "metricId");
        Objects.requireNonNull(description, "description");
    }

    public static Target atMost(String metricId, double limit, String description) {
        return new Target(metricId, description, true, limit);
    }

    public static Target atLeast(String metricId, double limit, String description) {
        return new Target(metricId, description, false, limit);
    }

    /** The targets of issue 5 (medians on the 2-core reference machine). */
    public static final List<Target> ISSUE_5 = List.of(
            atMost("docker.rtt.echo", 1.0, "echo round trip via the Docker backend's published port, p50 <= 1 ms"),
            atLeast("docker.rtt.echo.speedup_vs_tc", 30.0, "... and >= 30x faster than execInContainer (same run)"),
            atMost("local.create.cold", 300, "local create->ready, cold, p50 <= 300 ms"),
            atMost("docker.create.cold", 600, "Docker create->ready, cold, prepared image, p50 <= 600 ms"),
            atMost("local.create.pool", 10, "local create->ready from a warm pool, p50 <= 10 ms"),
            atMost("docker.create.pool", 10, "Docker create->ready from a warm pool, p50 <= 10 ms"),
            atMost("docker.concurrency.failures", 0, "32 concurrent Docker sandboxes x 20 actions: zero failures"),
            atMost("docker.rss.idle", 64, "server RSS inside a Docker sandbox, idle, <= 64 MiB"),
            atMost("docker.rss.after_actions", 96, "server RSS inside a Docker sandbox after 1,000 actions, <= 96 MiB"),
            atLeast("local.copy.to", 200, "copyTo 100 MiB, local, >= 200 MiB/s"),
            atLeast("local.copy.from", 200, "copyFrom 100 MiB, local, >= 200 MiB/s"),
            atLeast("docker.copy.to", 200, "copyTo 100 MiB, Docker, >= 200 MiB/s"),
            atLeast("docker.copy.from", 200, "copyFrom 100 MiB, Docker, >= 200 MiB/s"));

    /**
     * The targets of issue 14 (fast where agents wait): ratios measured in the same run where a baseline exists,
     * medians on the 2-core reference machine.
     */
    public static final List<Target> ISSUE_14 = List.of(
            atMost("local.idle.echo.vs_raw", 1.5, "local: echo after an idle gap <= 1.5x the raw pipe (same run)"),
            atMost("docker.idle.echo.vs_raw", 1.5, "Docker: echo after an idle gap <= 1.5x docker exec -i bash (same run)"),
            atMost("docker.rtt.echo", 1.0, "hot-loop Docker echo p50 <= 1 ms"),
            atLeast("docker.steps.speedup_vs_tc", 15, "agent-step workload >= 15x faster than execInContainer (p50 per step)"),
            atMost("docker.create.cold.vs_tc", 1.5, "Docker create->ready <= 1.5x GenericContainer start (same run)"),
            atMost("local.create.cold", 250, "local create->ready with the defaults < 250 ms"),
            atLeast("local.copy.to", 200, "copyTo 100 MiB, local, >= 200 MiB/s"),
            atLeast("local.copy.from", 200, "copyFrom 100 MiB, local, >= 200 MiB/s"),
            atLeast("docker.copy.to", 200, "copyTo 100 MiB, Docker, >= 200 MiB/s"),
            atLeast("docker.copy.from", 200, "copyFrom 100 MiB, Docker, >= 200 MiB/s"),
            atMost("docker.concurrency.failures", 0, "32 Docker sandboxes x 20 actions: zero failures"),
            atMost("docker.concurrency.ready_wall", 12_000, "32 Docker sandboxes: all ready within 12 s"));

    /**
     * What a run checks: issue 14's targets, then those of issue 5 that it does not restate (its local start-up
     * bound of 300 ms is superseded by 250 ms).
     */
    public static final List<Target> CHECKED = checked();

    private static List<Target> checked() {
        List<Target> all = new java.util.ArrayList<>(ISSUE_14);
        for (Target t : ISSUE_5) {
            if (ISSUE_14.stream().noneMatch(n -> n.metricId().equals(t.metricId()))) {
                all.add(t);
            }
        }
        return List.copyOf(all);
    }

    /** PASS, MISS, or NOT_RUN when the metric was not measured in this run. */
    public enum Verdict { PASS, MISS, NOT_RUN }

    /**
     * The outcome of one target.
     *
     * @param measured the metric's median, NaN when not run
     * @param ratio    measured / limit (NaN when not run or the limit is 0); below 1 is good for an upper bound, above
     *                 1 for a lower bound
     */
    public record Check(Target target, Verdict verdict, double measured, double ratio, String unit) {

        /** "1.25x" or "-" for the table. */
        public String ratioText() {
            return Double.isNaN(ratio) ? "-" : Report.number(ratio) + "x";
        }
    }

    /** Checks this target against the metrics of a run, keyed by id. */
    public Check check(Map<String, Metric> metrics) {
        Metric metric = metrics.get(metricId);
        if (metric == null) {
            return new Check(this, Verdict.NOT_RUN, Double.NaN, Double.NaN, "");
        }
        double value = metric.headline();
        boolean pass = atMost ? value <= limit : value >= limit;
        double ratio = limit == 0 ? Double.NaN : value / limit;
        return new Check(this, pass ? Verdict.PASS : Verdict.MISS, value, ratio, metric.unit());
    }
}
