package dev.agentruntime.bench;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;

/** What our server is compared with: a host fork/exec (the floor) and Testcontainers' execInContainer. */
final class BaselineScenarios {

    /** Environment Testcontainers needs here: no Ryuk (its image is not on the daemon), ports on localhost. */
    static final java.util.Map<String, String> TESTCONTAINERS_ENV = java.util.Map.of(
            "TESTCONTAINERS_RYUK_DISABLED", "true", "TESTCONTAINERS_HOST_OVERRIDE", "localhost");

    private final Bench bench;

    BaselineScenarios(Bench bench) {
        this.bench = bench;
    }

    /** {@code bash -c '<command>'} forked from this JVM: what any way of running a command costs at least. */
    void forkExec() {
        bench.log("[fork]");
        for (String command : List.of(Workloads.ECHO, Workloads.LS)) {
            Bench.Loop loop = bench.loop("fork/exec " + command, bench.options.warmup(), bench.options.iterations(),
                    () -> {
                        Process process = new ProcessBuilder("bash", "-c", command).redirectErrorStream(true).start();
                        String out;
                        try (InputStream in = process.getInputStream()) {
                            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                        }
                        return process.waitFor() == 0 && Workloads.expected(command, out);
                    });
            bench.add("floor.fork." + DockerScenarios.key(command), "`bash -c '" + command + "'` host fork/exec",
                    "ms", loop.stats(), loop.note("ProcessBuilder on the host: the floor"));
        }
    }

    /**
     * {@code execInContainer} on a {@code sleep infinity} container of the same image, never pulled. Testcontainers
     * reads its settings from the environment only, so {@link BenchMain} re-launches the harness with
     * {@link #TESTCONTAINERS_ENV} when they are missing.
     */
    void testcontainers() {
        bench.log("[tc.exec]");
        try (GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse(bench.options.image))
                .withImagePullPolicy(image -> false)
                .withCommand("sleep", "infinity")
                .withLabel("dev.agentruntime.bench", "true")) {
            container.start();
            int iterations = Math.max(1, bench.options.iterations() / 5);
            int warmup = Math.max(1, bench.options.warmup() / 5);
            for (String command : List.of(Workloads.ECHO, Workloads.LS)) {
                Bench.Loop loop = bench.loop("execInContainer " + command, warmup, iterations, () -> {
                    ExecResult result = container.execInContainer("bash", "-c", command);
                    return result.getExitCode() == 0 && Workloads.expected(command, result.getStdout());
                });
                bench.add("tc.exec." + DockerScenarios.key(command), "`" + command
                        + "` via Testcontainers execInContainer", "ms", loop.stats(),
                        loop.note("GenericContainer, same image, sleep infinity"));
            }
        } catch (RuntimeException e) {
            bench.problem("tc.exec", e);
        }
    }
}
