package dev.agentruntime.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The harness's command line. Every count has a default for the full run and a smaller one for {@code --quick}
 * (a CI-safe smoke run of a minute or two); explicit flags win over both.
 */
public final class BenchOptions {

    /** Every scenario, in the order a run performs them. */
    public static final List<String> SCENARIOS = List.of(
            "fork",               // host fork/exec of bash -c: the floor
            "local.idle",         // echo / ls after an idle gap, local, beside a host bash over a pipe (issue 14)
            "local.breakdown",    // one local round trip taken apart
            "local.rtt",          // echo / ls round trips through the local backend's server
            "local.create",       // local create->ready, cold (with and without ~/.bashrc)
            "local.pool",         // local create->ready from a WarmPool
            "local.copy",         // copyTo / copyFrom of a big file, local
            "local.rss",          // the local server's RSS idle and after N actions
            "server.startup",     // the server jar alone: JVM start -> ready line, RSS, per JVM flag set
            "docker.prepare",     // first preparation of a new base image (+ first connect)
            "docker.create",      // Docker create->ready, cold, prepared image
            "docker.pool",        // Docker create->ready from a WarmPool
            "docker.idle",        // echo / ls after an idle gap, Docker, beside docker exec -i bash (issue 14)
            "docker.steps",       // the agent-step workload vs execInContainer, interleaved (issue 14)
            "docker.breakdown",   // one Docker round trip taken apart
            "docker.rtt",         // echo / ls through our server in a container, and docker-java exec in the same one
            "tc.exec",            // Testcontainers execInContainer on a container of the same image
            "docker.concurrency", // N concurrent Docker sandboxes x M actions
            "docker.copy",        // copyTo / copyFrom of a big file, Docker
            "docker.rss",         // the server's RSS inside a container, idle and after N actions
            "gateway.create",     // create->ready through the runtime gateway vs the Docker backend directly
            "gateway.rtt");       // echo through the gateway's proxy vs straight to the published port

    static final String USAGE = """
            usage: java -jar runtime-bench/target/agent-runtime-bench.jar [options]

              --only LIST         run only these scenarios (comma separated ids or prefixes: docker, local.rtt, ...)
              --skip LIST         run all but these
              --quick             CI-safe smoke run: few iterations, small file, 4 sandboxes (numbers are indicative)
              --iterations N      timed round trips per command        (default 1000, quick 100)
              --gap-ms N          idle gap before each agent-style action (default 200)
              --idle-iterations N timed actions after a gap per command (default 100, quick 15)
              --step-rounds N     rounds of the agent-step workload     (default 10, quick 2)
              --warmup N          untimed round trips before them       (default 200, quick 20)
              --starts N          timed create->ready per backend/mode  (default 10, quick 3)
              --sandboxes N       concurrent Docker sandboxes           (default 32, quick 4)
              --actions N         actions per concurrent sandbox        (default 20, quick 5)
              --file-mib N        size of the copy file in MiB          (default 100, quick 8)
              --copy-repeats N    copyTo/copyFrom repetitions           (default 3, quick 1)
              --rss-actions N     actions before the second RSS reading (default 1000, quick 100)
              --image NAME        base image for Docker and Testcontainers (default agent-runtime-test/debian:bookworm;
                                  never pulled)
              --out DIR           where results.md and results.json go  (default runtime-bench/target/bench)
              --list              print the scenario ids and exit
              --help              this text

            Targets of issues 14 and 5 are checked at the end (PASS / MISS / NOT_RUN with measured/target ratios); the exit code
            is 0 unless the harness itself failed: a missed target is a result, not an error.
            """;

    List<String> only = List.of();
    List<String> skip = List.of();
    boolean quick;
    Integer iterations;
    Integer warmup;
    Integer starts;
    Integer sandboxes;
    Integer actions;
    Integer fileMib;
    Integer copyRepeats;
    Integer rssActions;
    Integer gapMs;
    Integer idleIterations;
    Integer stepRounds;
    String image = "agent-runtime-test/debian:bookworm";
    Path out;
    boolean list;
    boolean help;

    /** @throws IllegalArgumentException naming the bad flag */
    public static BenchOptions parse(String... args) {
        BenchOptions o = new BenchOptions();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                value = arg.substring(eq + 1);
                arg = arg.substring(0, eq);
            }
            switch (arg) {
                case "--quick" -> o.quick = true;
                case "--list" -> o.list = true;
                case "--help", "-h" -> o.help = true;
                default -> {
                    if (value == null) {
                        if (i + 1 >= args.length) {
                            throw new IllegalArgumentException("Option " + arg + " needs a value\n\n" + USAGE);
                        }
                        value = args[++i];
                    }
                    switch (arg) {
                        case "--only" -> o.only = scenarios(value);
                        case "--skip" -> o.skip = scenarios(value);
                        case "--iterations" -> o.iterations = positive(arg, value);
                        case "--warmup" -> o.warmup = nonNegative(arg, value);
                        case "--starts" -> o.starts = positive(arg, value);
                        case "--sandboxes" -> o.sandboxes = positive(arg, value);
                        case "--actions" -> o.actions = positive(arg, value);
                        case "--file-mib" -> o.fileMib = positive(arg, value);
                        case "--copy-repeats" -> o.copyRepeats = positive(arg, value);
                        case "--rss-actions" -> o.rssActions = nonNegative(arg, value);
                        case "--gap-ms" -> o.gapMs = nonNegative(arg, value);
                        case "--idle-iterations" -> o.idleIterations = positive(arg, value);
                        case "--step-rounds" -> o.stepRounds = positive(arg, value);
                        case "--image" -> o.image = value;
                        case "--out" -> o.out = Path.of(value);
                        default -> throw new IllegalArgumentException("Unknown option " + arg + "\n\n" + USAGE);
                    }
                }
            }
        }
        return o;
    }

    private static List<String> scenarios(String value) {
        List<String> ids = new ArrayList<>();
        for (String id : value.split(",")) {
            String trimmed = id.trim().toLowerCase(Locale.ROOT);
            if (trimmed.isEmpty()) {
                continue;
            }
            if (SCENARIOS.stream().noneMatch(s -> matches(s, trimmed))) {
                throw new IllegalArgumentException("No scenario matches '" + trimmed + "'. Scenarios: " + SCENARIOS);
            }
            ids.add(trimmed);
        }
        return List.copyOf(ids);
    }

    /** {@code docker} selects {@code docker.rtt}; {@code docker.rtt} selects itself only. */
    static boolean matches(String scenario, String selector) {
        return scenario.equals(selector) || scenario.startsWith(selector + ".");
    }

    /** Whether this run performs the scenario. */
    public boolean runs(String scenario) {
        boolean selected = only.isEmpty() || only.stream().anyMatch(s -> matches(scenario, s));
        return selected && skip.stream().noneMatch(s -> matches(scenario, s));
    }

    public boolean anyRuns(String... scenarios) {
        return Arrays.stream(scenarios).anyMatch(this::runs);
    }

    int iterations() {
        return pick(iterations, 1000, 100);
    }

    int warmup() {
        return pick(warmup, 200, 20);
    }

    int starts() {
        return pick(starts, 10, 3);
    }

    int sandboxes() {
        return pick(sandboxes, 32, 4);
    }

    int actions() {
        return pick(actions, 20, 5);
    }

    int fileMib() {
        return pick(fileMib, 100, 8);
    }

    int copyRepeats() {
        return pick(copyRepeats, 3, 1);
    }

    int rssActions() {
        return pick(rssActions, 1000, 100);
    }

    long gapMillis() {
        return gapMs != null ? gapMs : 200;
    }

    int idleIterations() {
        return pick(idleIterations, 100, 15);
    }

    int stepRounds() {
        return pick(stepRounds, 10, 2);
    }

    /** Whether a scenario that needs Testcontainers runs (the harness then re-launches itself with its environment). */
    boolean needsTestcontainers() {
        return anyRuns("tc.exec", "docker.steps", "docker.create");
    }

    private int pick(Integer explicit, int full, int smoke) {
        return explicit != null ? explicit : quick ? smoke : full;
    }

    private static int positive(String flag, String value) {
        int n = nonNegative(flag, value);
        if (n < 1) {
            throw new IllegalArgumentException(flag + " must be at least 1, was " + value);
        }
        return n;
    }

    private static int nonNegative(String flag, String value) {
        try {
            int n = Integer.parseInt(value.trim());
            if (n < 0) {
                throw new IllegalArgumentException(flag + " must not be negative, was " + value);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " takes a whole number, was '" + value + "'");
        }
    }

    /** The options as one line, for the report. */
    String summary() {
        return (quick ? "quick " : "") + "iterations=" + iterations() + " warmup=" + warmup() + " starts=" + starts()
                + " sandboxes=" + sandboxes() + "x" + actions() + " file=" + fileMib() + "MiB x" + copyRepeats()
                + " rss-actions=" + rssActions() + " gap=" + gapMillis() + "ms idle-iterations=" + idleIterations()
                + " step-rounds=" + stepRounds() + (only.isEmpty() ? "" : " only=" + only)
                + (skip.isEmpty() ? "" : " skip=" + skip);
    }
}
