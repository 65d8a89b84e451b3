package dev.agentruntime.bench;

import dev.agentruntime.internal.FileTrees;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmark harness of issue 5: one command measures, in one run, what an agent pays for running commands in a
 * sandbox through our server — local and Docker — beside the usual alternatives on the same image, and checks the
 * issue's targets.
 *
 * <pre>
 * mvn -q -o install -DskipTests &amp;&amp; java -jar runtime-bench/target/agent-runtime-bench.jar
 * java -jar runtime-bench/target/agent-runtime-bench.jar --quick --only fork,local,docker.rtt   # smoke run
 * </pre>
 *
 * It prints a table, writes {@code results.md} and {@code results.json} (default {@code runtime-bench/target/bench}),
 * and ends with PASS / MISS per target and the measured/target ratio. A missed target does not fail the run.
 *
 * <h2>Why a plain harness, not JMH</h2>
 * JMH is built for nanosecond-to-microsecond code paths in one JVM, where dead-code elimination, constant folding
 * and on-stack replacement distort naive loops. What we measure here is milliseconds of work across process and
 * container boundaries — a fork/exec, an HTTP round trip to another JVM, a container start, a 100 MiB transfer — where
 * those JIT effects are noise. What matters instead is orchestration JMH does not offer: starting and tearing down
 * real sandboxes and containers, warm pools, 32 concurrent sandboxes, reading the memory of a process inside a
 * container, and checking targets. So: a plain loop with an untimed warm-up (JIT, connection pools, file caches), many
 * timed iterations with {@link System#nanoTime()}, failures counted instead of timed, and nearest-rank percentiles
 * ({@link Stats}); tail percentiles matter to an agent issuing thousands of actions, so p90/p99/max are reported
 * beside the median. Targets are checked against medians, the figure least disturbed by a busy machine.
 */
public final class BenchMain {

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        BenchOptions options;
        try {
            options = BenchOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        if (options.help) {
            System.out.print(BenchOptions.USAGE);
            return;
        }
        if (options.list) {
            BenchOptions.SCENARIOS.forEach(System.out::println);
            return;
        }
        if (options.needsTestcontainers() && !testcontainersEnvironmentSet()) {
            System.exit(relaunchWithTestcontainersEnvironment(args));
            return;
        }
        System.exit(run(options, System.out, System.err));
    }

    static int run(BenchOptions options, PrintStream out, PrintStream progress) throws IOException {
        Bench bench = new Bench(options, progress);
        Map<String, String> machine = machine(options);
        Path scratch = Files.createTempDirectory("agent-runtime-bench-");
        bench.log("agent-runtime bench: %s", options.summary());
        bench.log("load average at start: %s", machine.get("load average at start"));
        try {
            BaselineScenarios baselines = new BaselineScenarios(bench);
            if (options.runs("fork")) {
                baselines.forkExec();
            }
            new LocalScenarios(bench, scratch).run();
            if (options.runs("server.startup")) {
                try {
                    new ServerStartup(bench, scratch).run();
                } catch (RuntimeException e) {
                    bench.problem("server.startup", e);
                }
            }
            if (options.anyRuns("docker.prepare", "docker.create", "docker.pool", "docker.rtt", "docker.concurrency",
                    "docker.idle", "docker.steps", "docker.breakdown",
                    "docker.copy", "docker.rss", "gateway.create", "gateway.rtt")) {
                try (DockerExec docker = DockerExec.open()) {
                    machine.put("docker", dockerVersion(docker));
                    new DockerScenarios(bench, scratch, docker).run();
                    if (options.anyRuns("gateway.create", "gateway.rtt")) {
                        new GatewayScenarios(bench).run();
                    }
                } catch (RuntimeException e) {
                    bench.problem("docker", e);
                }
            }
            if (options.runs("tc.exec")) {
                baselines.testcontainers();
            }
        } finally {
            FileTrees.deleteQuietly(scratch);
        }
        derive(bench);
        machine.put("load average at end", loadAverage());
        machine.put("finished", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        if (!bench.problems().isEmpty()) {
            machine.put("problems", String.join(" | ", bench.problems()));
        }
        Report report = new Report(machine, bench.metrics(), Target.CHECKED);
        out.println();
        out.print(report.toText());
        Path dir = options.out != null ? options.out : defaultOut();
        report.write(dir);
        out.println();
        out.println("wrote " + dir.resolve("results.md") + " and " + dir.resolve("results.json"));
        long missed = report.checks().stream().filter(c -> c.verdict() == Target.Verdict.MISS).count();
        long passed = report.checks().stream().filter(c -> c.verdict() == Target.Verdict.PASS).count();
        out.println("targets: " + passed + " PASS, " + missed + " MISS, "
                + (report.checks().size() - passed - missed) + " NOT_RUN" + (options.quick
                ? " (quick run: indicative only)" : ""));
        return 0;
    }

    /** Ratios between metrics of the same run, e.g. how much faster our Docker round trip is than execInContainer. */
    static void derive(Bench bench) {
        ratio(bench, "docker.rtt.echo.speedup_vs_tc", "tc.exec.echo", "docker.rtt.echo",
                "`echo` speed-up: execInContainer p50 / Docker backend p50");
        ratio(bench, "docker.rtt.echo.speedup_vs_dockerjava", "dockerjava.exec.echo", "docker.rtt.echo",
                "`echo` speed-up: docker-java exec p50 / Docker backend p50");
        ratio(bench, "docker.rtt.ls.speedup_vs_tc", "tc.exec.ls", "docker.rtt.ls",
                "`ls /` speed-up: execInContainer p50 / Docker backend p50");
    }

    private static void ratio(Bench bench, String id, String slowId, String fastId, String label) {
        var slow = bench.metric(slowId);
        var fast = bench.metric(fastId);
        if (slow.isPresent() && fast.isPresent()) {
            bench.add(id, label, "x", Stats.single(slow.get().headline() / fast.get().headline()), "same run");
        }
    }

    private static Map<String, String> machine(BenchOptions options) {
        Map<String, String> machine = new LinkedHashMap<>();
        machine.put("started", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        machine.put("cores", Integer.toString(java.lang.Runtime.getRuntime().availableProcessors()));
        machine.put("memory", memTotal());
        machine.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        machine.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        machine.put("load average at start", loadAverage());
        machine.put("commit", command("git", "rev-parse", "--short", "HEAD"));
        machine.put("options", options.summary());
        machine.put("image", options.image);
        return machine;
    }

    static String loadAverage() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return parts[0] + " " + parts[1] + " " + parts[2] + " (1/5/15 min)";
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static String memTotal() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return Report.number(kb / 1024.0 / 1024.0) + " GiB";
                }
            }
        } catch (IOException | RuntimeException e) {
            // below
        }
        return "unknown";
    }

    private static String dockerVersion(DockerExec docker) {
        try {
            var version = docker.client().versionCmd().exec();
            return "Docker " + version.getVersion() + ", API " + version.getApiVersion();
        } catch (RuntimeException e) {
            return "unavailable: " + e.getMessage();
        }
    }

    private static String command(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor() == 0 ? out : "unknown";
        } catch (IOException e) {
            return "unknown";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    /** {@code runtime-bench/target/bench} next to the jar, else {@code ./bench-results}. */
    private static Path defaultOut() {
        try {
            Path location = Path.of(BenchMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path target = Files.isRegularFile(location) ? location.getParent() : location.getParent();
            if (target != null && target.getFileName() != null && target.getFileName().toString().equals("target")) {
                return target.resolve("bench");
            }
        } catch (URISyntaxException | RuntimeException e) {
            // below
        }
        return Path.of("bench-results");
    }

    private static boolean testcontainersEnvironmentSet() {
        return BaselineScenarios.TESTCONTAINERS_ENV.entrySet().stream()
                .allMatch(e -> e.getValue().equals(System.getenv(e.getKey())));
    }

    /**
     * Testcontainers reads Ryuk and the host override from environment variables only, and a JVM cannot set its own:
     * run the harness again in a child JVM that has them, with the same class path and arguments.
     */
    private static int relaunchWithTestcontainersEnvironment(String[] args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-agentlib") && !a.startsWith("-javaagent"))
                .forEach(command::add);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(BenchMain.class.getName());
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
        builder.environment().putAll(BaselineScenarios.TESTCONTAINERS_ENV);
        return builder.start().waitFor();
    }
}
