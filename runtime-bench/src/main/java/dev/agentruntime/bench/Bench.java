package dev.agentruntime.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/** What the scenarios share: the options, the metrics collected so far, progress output and timing helpers. */
final class Bench {

    final BenchOptions options;
    private final List<Metric> metrics = new ArrayList<>();
    private final PrintStream progress;
    private final List<String> problems = new ArrayList<>();

    Bench(BenchOptions options, PrintStream progress) {
        this.options = options;
        this.progress = progress;
    }

    /** A timed loop's result: the samples of the successful iterations and how many failed. */
    record Loop(Stats stats, int failures, String firstFailure) {
        String note(String base) {
            return failures == 0 ? base : base + (base.isEmpty() ? "" : "; ") + failures + " failed: " + firstFailure;
        }
    }

    /**
     * Runs {@code body} {@code warmup} times untimed, then {@code iterations} times timed (milliseconds). An
     * iteration that returns false or throws counts as a failure and is not timed.
     */
    Loop loop(String what, int warmup, int iterations, Callable<Boolean> body) {
        log("  %s: %d warm-up + %d timed", what, warmup, iterations);
        for (int i = 0; i < warmup; i++) {
            try {
                body.call();
            } catch (Exception e) {
                // warm-up failures show up again in the timed part
            }
        }
        List<Double> samples = new ArrayList<>(iterations);
        int failures = 0;
        String first = "";
        for (int i = 0; i < iterations; i++) {
            long start = System.nanoTime();
            boolean ok;
            String why = "returned a wrong result";
            try {
                ok = body.call();
            } catch (Exception e) {
                ok = false;
                why = e.toString();
            }
            long end = System.nanoTime();
            if (ok) {
                samples.add((end - start) / 1e6);
            } else {
                if (failures++ == 0) {
                    first = why;
                }
            }
        }
        if (samples.isEmpty()) {
            throw new IllegalStateException(what + ": every iteration failed, first: " + first);
        }
        return new Loop(Stats.of(samples), failures, first);
    }

    void add(Metric metric) {
        metrics.add(metric);
        Stats s = metric.stats();
        log("  => %-34s p50 %s %s%s", metric.id(), Report.number(s.p50()), metric.unit(),
                s.count() > 1 ? "  (p99 " + Report.number(s.p99()) + ", n " + s.count() + ")" : "");
    }

    void add(String id, String label, String unit, Stats stats, String note) {
        add(new Metric(id, label, unit, stats, note));
    }

    Optional<Metric> metric(String id) {
        return metrics.stream().filter(m -> m.id().equals(id)).findFirst();
    }

    List<Metric> metrics() {
        return List.copyOf(metrics);
    }

    Map<String, Metric> byId() {
        Map<String, Metric> map = new LinkedHashMap<>();
        metrics.forEach(m -> map.put(m.id(), m));
        return map;
    }

    /** A scenario that could not run: recorded for the report, the run goes on. */
    /** Runs one scenario; a failure is recorded as a problem of that scenario and the run goes on. */
    void guard(String scenario, Runnable body) {
        log("[%s]", scenario);
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            problem(scenario, e);
        }
    }

    void problem(String scenario, Throwable e) {
        String text = scenario + ": " + e;
        problems.add(text);
        log("!! %s", text);
        if (System.getenv("AGENT_RUNTIME_BENCH_TRACE") != null) {
            e.printStackTrace(progress);
        }
    }

    List<String> problems() {
        return List.copyOf(problems);
    }

    void log(String format, Object... args) {
        progress.println(String.format(java.util.Locale.ROOT, format, args));
        progress.flush();
    }

    static double ms(long nanos) {
        return nanos / 1e6;
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis); // settling time before a memory reading, not a wait for a condition
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
