package dev.agentruntime.bench;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import dev.agentruntime.internal.ServerClassData;
import dev.agentruntime.internal.ServerJar;
import dev.agentruntime.spi.ServerLaunch;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The server jar on its own, without a backend around it: from {@code java} starting to the ready line on stdout,
 * and its RSS once ready, for several JVM flag sets. Shows what the lean flags and class-data sharing buy.
 */
final class ServerStartup {

    /** One way of starting the server. */
    record Variant(String id, String label, List<String> jvmOptions, Map<String, String> env) {
    }

    private final Bench bench;
    private final Path scratch;

    ServerStartup(Bench bench, Path scratch) {
        this.bench = bench;
        this.scratch = scratch;
    }

    void run() {
        bench.log("[server.startup]");
        Path jar = ServerJar.locate();
        List<Variant> variants = new ArrayList<>();
        variants.add(new Variant("jvm_defaults", "JVM defaults", List.of(), Map.of()));
        variants.add(new Variant("lean", "ServerLaunch.JVM_FLAGS", ServerLaunch.JVM_FLAGS, Map.of()));
        variants.add(new Variant("lean_no_bashrc", "LEAN_JVM_OPTIONS, no ~/.bashrc",
                ServerLaunch.JVM_FLAGS, Map.of("AGENT_RUNTIME_SOURCE_BASHRC", "false")));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ServerClassData cds = ServerClassData.of(java, jar, ServerLaunch.JVM_FLAGS);
        cds.jvmOptions(); // starts the training when there is no archive yet
        try {
            if (cds.awaitArchive(Duration.ofMinutes(3))) {
                List<String> withArchive = new ArrayList<>(ServerLaunch.JVM_FLAGS);
                withArchive.addAll(cds.jvmOptions());
                variants.add(new Variant("lean_cds", "LEAN_JVM_OPTIONS + class-data archive", withArchive, Map.of()));
                variants.add(new Variant("lean_cds_no_bashrc", "LEAN_JVM_OPTIONS + class-data archive, no ~/.bashrc",
                        withArchive, Map.of("AGENT_RUNTIME_SOURCE_BASHRC", "false")));
            } else {
                bench.log("  no class-data archive after 3 minutes: CDS variants skipped");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Variant variant : variants) {
            try {
                measure(jar, variant);
            } catch (RuntimeException e) {
                bench.problem("server.startup." + variant.id(), e);
            }
        }
    }

    private void measure(Path jar, Variant variant) {
        int starts = bench.options.starts();
        bench.log("  %s: %d starts", variant.label(), starts);
        List<Double> times = new ArrayList<>();
        List<Double> rss = new ArrayList<>();
        start(jar, variant); // untimed: file caches
        for (int i = 0; i < starts; i++) {
            double[] result = start(jar, variant);
            times.add(result[0]);
            rss.add(result[1]);
        }
        bench.add("server.startup." + variant.id(), "server jar: JVM start -> ready line, " + variant.label(), "ms",
                Stats.of(times), "process start to the ready line on stdout");
        bench.add("server.rss." + variant.id(), "server jar: RSS at ready, " + variant.label(), "MiB", Stats.of(rss),
                "host process, /proc/<pid>/status VmRSS");
    }

    /** Starts the server once: {milliseconds to the ready line, RSS in MiB at that moment}. */
    private double[] start(Path jar, Variant variant) {
        ServerLaunch launch = ServerLaunch.builder().java(Path.of(System.getProperty("java.home"), "bin", "java")
                        .toString()).jar(jar.toString()).port(0).workingDir(scratch.toString()).bindAddress("127.0.0.1")
                .sessionId("bench-startup").sessionApiKey(Secret.of(RuntimeConfig.randomKey()))
                .jvmOptions(variant.jvmOptions()).build();
        List<String> command = launch.command();
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        builder.environment().putAll(launch.environment());
        builder.environment().putAll(variant.env());
        long start = System.nanoTime();
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                if (ServerLaunch.readyPort(line).isPresent()) {
                    double millis = Bench.ms(System.nanoTime() - start);
                    double rss = ProcStatus.ofPid(process.pid()).rssMib();
                    return new double[] {millis, rss};
                }
            }
            throw new IllegalStateException("the server exited with " + process.waitFor() + " before it was ready");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
