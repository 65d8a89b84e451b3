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
}
