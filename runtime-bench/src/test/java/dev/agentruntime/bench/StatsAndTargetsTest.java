package dev.agentruntime.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The arithmetic the report rests on: nearest-rank percentiles and target verdicts. No timing here. */
class StatsAndTargetsTest {

    @Test
    void percentilesUseNearestRankOnUnsortedSamples() {
        double[] samples = new double[100];
        for (int i = 0; i < 100; i++) {
            samples[i] = 100 - i; // 100 .. 1, reversed on purpose
        }
        Stats stats = Stats.of(samples);

        assertThat(stats.count()).isEqualTo(100);
        assertThat(stats.min()).isEqualTo(1);
        assertThat(stats.p50()).isEqualTo(50);
        assertThat(stats.p90()).isEqualTo(90);
        assertThat(stats.p99()).isEqualTo(99);
        assertThat(stats.max()).isEqualTo(100);
        assertThat(stats.mean()).isEqualTo(50.5);
        assertThat(samples[0]).as("input left unsorted").isEqualTo(100);
    }

    @Test
    void smallSamplesGiveObservedValuesNeverInterpolations() {
        Stats stats = Stats.of(3, 1, 4, 2);

        assertThat(stats.p50()).as("lower middle of an even count").isEqualTo(2);
        assertThat(stats.p90()).isEqualTo(4);
        assertThat(stats.p99()).as("p99 of 4 samples is the max").isEqualTo(4);
        assertThat(Stats.single(7).p99()).isEqualTo(7);
        assertThatThrownBy(Stats::of).isInstanceOf(IllegalArgumentException.class).hasMessage("no samples");
        assertThatThrownBy(() -> Stats.percentile(new double[] {1}, 0)).hasMessageContaining("(0, 100]");
    }

    @Test
    void targetsCompareTheMedianAndReportTheRatio() {
        Map<String, Metric> metrics = Map.of(
                "lat", new Metric("lat", "latency", "ms", Stats.of(0.5, 0.6, 5.0), ""),
                "tput", new Metric("tput", "throughput", "MiB/s", Stats.single(150), ""),
                "fail", new Metric("fail", "failures", "count", Stats.single(0), ""));

        Target.Check latency = Target.atMost("lat", 1.0, "p50 <= 1 ms").check(metrics);
        assertThat(latency.verdict()).as("the median counts, not the 5 ms outlier").isEqualTo(Target.Verdict.PASS);
        assertThat(latency.measured()).isEqualTo(0.6);
        assertThat(latency.ratio()).isEqualTo(0.6);

        Target.Check throughput = Target.atLeast("tput", 200, ">= 200 MiB/s").check(metrics);
        assertThat(throughput.verdict()).isEqualTo(Target.Verdict.MISS);
        assertThat(throughput.ratio()).isEqualTo(0.75);
        assertThat(throughput.ratioText()).isEqualTo("0.750x");

        Target.Check zero = Target.atMost("fail", 0, "zero failures").check(metrics);
        assertThat(zero.verdict()).isEqualTo(Target.Verdict.PASS);
        assertThat(zero.ratioText()).as("no ratio against a zero limit").isEqualTo("-");

        assertThat(Target.atMost("absent", 1, "not measured").check(metrics).verdict())
                .isEqualTo(Target.Verdict.NOT_RUN);
    }

    @Test
    void subsetsSelectScenariosByIdOrPrefix() {
        BenchOptions docker = BenchOptions.parse("--quick", "--only", "docker", "--skip=docker.concurrency");
        assertThat(docker.runs("docker.rtt")).isTrue();
        assertThat(docker.runs("docker.concurrency")).isFalse();
        assertThat(docker.runs("local.rtt")).isFalse();
        assertThat(docker.iterations()).as("quick").isEqualTo(100);
        assertThat(BenchOptions.parse("--iterations", "7", "--quick").iterations()).as("explicit wins").isEqualTo(7);
        assertThatThrownBy(() -> BenchOptions.parse("--only", "nope")).hasMessageContaining("No scenario matches");
    }

    @Test
    void issue14TargetsComeFirstAndSupersedeIssue5sLocalStartBound() {
        assertThat(Target.CHECKED.subList(0, Target.ISSUE_14.size())).isEqualTo(Target.ISSUE_14);
        assertThat(Target.CHECKED.stream().filter(t -> t.metricId().equals("local.create.cold")))
                .singleElement().satisfies(t -> assertThat(t.limit()).isEqualTo(250));
        assertThat(Target.CHECKED).extracting(Target::metricId)
                .contains("docker.idle.echo.vs_raw", "docker.steps.speedup_vs_tc", "docker.create.cold.vs_tc",
                        "docker.concurrency.ready_wall", "docker.rss.idle")
                .doesNotHaveDuplicates();
    }

    @Test
    void agentOptionsHaveDefaultsAndQuickValues() {
        BenchOptions full = BenchOptions.parse();
        assertThat(full.gapMillis()).isEqualTo(200);
        assertThat(full.idleIterations()).isEqualTo(100);
        assertThat(BenchOptions.parse("--quick").idleIterations()).isEqualTo(15);
        assertThat(BenchOptions.parse("--gap-ms", "50").gapMillis()).isEqualTo(50);
        assertThat(BenchOptions.parse("--only", "docker.steps").needsTestcontainers()).isTrue();
        assertThat(BenchOptions.parse("--only", "local").needsTestcontainers()).isFalse();
    }

    @Test
    void theRawShellReturnsACommandsOutputUpToItsSentinel() {
        try (RawShell shell = RawShell.host()) {
            assertThat(shell.run("echo x")).isEqualTo("x\n");
            assertThat(shell.run("printf 'no newline'")).isEqualTo("no newline");
            assertThat(shell.run("cd /tmp && X=1")).isEmpty();
            assertThat(shell.run("echo \"$PWD $X\"")).as("a persistent shell").isEqualTo("/tmp 1\n");
            assertThat(shell.run("ls /no-such-dir-bench")).contains("No such file");
        }
    }

    @Test
    void agentStepsCheckExitCodeAndOutput() {
        Workloads.Step fail = Workloads.AGENT_STEPS.get(Workloads.AGENT_STEPS.size() - 1);
        assertThat(fail.ok(2, "ls: cannot access '/no-such-dir-bench': No such file or directory")).isTrue();
        assertThat(fail.ok(0, "No such file")).as("the exit code matters").isFalse();
        try (RawShell shell = RawShell.host()) {
            for (Workloads.Step step : Workloads.AGENT_STEPS) {
                if (step.name().equals("cat") || step.name().equals("grep")) {
                    continue; // need /etc/os-release and a root line in /etc/passwd: fine on Linux, skip to be safe
                }
                String out = shell.run("bash -c " + RawShellQuote.quote(step.stateless()) + "; echo \"rc=$?\"");
                int rc = Integer.parseInt(out.substring(out.lastIndexOf("rc=") + 3).strip());
                assertThat(step.ok(rc, out)).as(step.name() + ": " + out).isTrue();
            }
        }
    }

    /** Single-quoting for bash. */
    private static final class RawShellQuote {
        static String quote(String s) {
            return "'" + s.replace("'", "'\\''") + "'";
        }
    }
}
