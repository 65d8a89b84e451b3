package dev.agentruntime.docker;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.docker.internal.JreLinker;
import dev.agentruntime.testkit.RequiresDocker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Prints the Docker backend's headline numbers (medians): first preparation of a new base image, create→ready for a
 * prepared image, one echo round trip through the published port. A measurement, not a timed assertion: run it with
 * {@code mvn verify -pl runtime-docker -am -Dit.test=DockerTimingsIT -Dagent.runtime.measure=true}.
 */
@RequiresDocker
@EnabledIfSystemProperty(named = "agent.runtime.measure", matches = "true")
class DockerTimingsIT {

    private static final int PREPARE_RUNS = 3;
    private static final int START_RUNS = 7;
    private static final int ECHO_RUNS = 50;

    @Test
    void printTheHeadlineNumbers() throws Exception {
        List<String> report = new ArrayList<>();
        try (DockerTestClient docker = new DockerTestClient()) {
            Path cold = Files.createTempDirectory("agent-runtime-jre-cold");
            long t = System.nanoTime();
            new JreLinker(cold).linkedRuntime();
            report.add(String.format("jlink of the shipped runtime (once per JDK, cached): %d ms", ms(t)));

            List<Long> prepare = new ArrayList<>();
            for (int i = 0; i < PREPARE_RUNS; i++) {
                String base = TestBaseImages.build(docker, "", null);
                try {
                    t = System.nanoTime();
                    DockerSandboxes.prepareImage(DockerRuntimeConfig.builder().image(base)
                            .pullPolicy(PullPolicy.NEVER).build());
                    prepare.add(ms(t));
                } finally {
                    TestBaseImages.remove(docker, base);
                }
            }
            report.add("first preparation of a new base image (probe + build, runtime cached): median "
                    + median(prepare) + " ms of " + prepare);

            DockerRuntimeConfig debian = DockerRuntimeConfig.builder().image(TestImages.DEBIAN)
                    .pullPolicy(PullPolicy.NEVER).build();
            DockerSandboxes.prepareImage(debian);
            List<Long> start = new ArrayList<>();
            for (int i = 0; i < START_RUNS; i++) {
                try (DockerRuntime sandbox = new DockerRuntime(RuntimeConfig.builder().type("docker")
                        .backendConfig(debian).build())) {
                    t = System.nanoTime();
                    sandbox.connect();
                    start.add(ms(t));
                }
            }
            report.add("create -> ready, prepared image: median " + median(start) + " ms of " + start);

            try (DockerRuntime sandbox = new DockerRuntime(RuntimeConfig.builder().type("docker")
                    .backendConfig(debian).build())) {
                sandbox.connect();
                for (int i = 0; i < 10; i++) {
                    sandbox.run("echo warm");
                }
                List<Long> micros = new ArrayList<>();
                for (int i = 0; i < ECHO_RUNS; i++) {
                    long s = System.nanoTime();
                    sandbox.run("echo hi");
                    micros.add((System.nanoTime() - s) / 1000);
                }
                report.add(String.format("echo round trip through the published port: median %.2f ms (p90 %.2f ms, "
                        + "%d runs)", median(micros) / 1000.0, percentile(micros, 0.9) / 1000.0, ECHO_RUNS));
            }
        }
        System.out.println("==== Docker backend timings (" + Runtime.getRuntime().availableProcessors()
                + " cores) ====");
        report.forEach(line -> System.out.println("  " + line));
    }

    private static long ms(long startNanos) {
        return Duration.ofNanos(System.nanoTime() - startNanos).toMillis();
    }

    private static long median(List<Long> values) {
        return percentile(values, 0.5);
    }

    private static long percentile(List<Long> values, double p) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get((int) Math.min(sorted.size() - 1, Math.floor(p * sorted.size())));
    }
}
