package dev.agentruntime.bench;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.WarmPool;
import dev.agentruntime.internal.ServerClassData;
import dev.agentruntime.internal.ServerJar;
import dev.agentruntime.local.LocalRuntimeConfig;
import dev.agentruntime.spi.ActionServerRuntime;
import dev.agentruntime.spi.ServerLaunch;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/** The local backend: the server as a child process of this JVM. */
final class LocalScenarios {

    private final Bench bench;
    private final Path scratch;

    LocalScenarios(Bench bench, Path scratch) {
        this.bench = bench;
        this.scratch = scratch;
    }

    static RuntimeConfig config() {
        return RuntimeConfig.builder().type("local").startupTimeout(Duration.ofMinutes(2)).build();
    }

    void run() {
        BenchOptions o = bench.options;
        if (o.anyRuns("local.idle", "local.breakdown")) {
            bench.guard("local.idle", () -> {
                new AgentScenarios(bench).warmClient("local", config());
                try (Runtime sandbox = RuntimeFactory.connect(config()); RawShell raw = RawShell.host()) {
                    AgentScenarios agent = new AgentScenarios(bench);
                    if (o.runs("local.idle")) {
                        agent.idle("local", "local", sandbox, raw);
                        agent.wakeFloor();
                    }
                    if (o.runs("local.breakdown")) {
                        agent.breakdown("local", "local", (ActionServerRuntime) sandbox, raw);
                        agent.breakdown("local", "local", (ActionServerRuntime) sandbox, raw, true);
                        agent.switches("local", "local", sandbox, serverPid(sandbox));
                    }
                }
            });
        }
        if (o.runs("local.rtt")) {
            bench.guard("local.rtt", this::roundTrips);
        }
        if (o.runs("local.create")) {
            bench.guard("local.create", () -> {
                try {
                    coldStarts();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            });
        }
        if (o.runs("local.pool")) {
            bench.guard("local.pool", this::pooledStarts);
        }
        if (o.runs("local.copy")) {
            bench.guard("local.copy", () -> {
                Path file = Workloads.randomFile(scratch, o.fileMib());
                try (Runtime sandbox = RuntimeFactory.connect(config())) {
                    Transfers.measure(bench, "local", "local", sandbox, file);
                }
            });
        }
        if (o.runs("local.rss")) {
            bench.guard("local.rss", this::memory);
        }
    }

    private void roundTrips() {
        try (Runtime sandbox = RuntimeFactory.connect(config())) {
            for (String command : List.of(Workloads.ECHO, Workloads.LS)) {
                Bench.Loop loop = bench.loop("local " + command, bench.options.warmup(), bench.options.iterations(),
                        () -> Workloads.run(sandbox, command));
                bench.add("local.rtt." + (command.equals(Workloads.ECHO) ? "echo" : "ls"),
                        "`" + command + "` round trip, local backend", "ms", loop.stats(),
                        loop.note("run() over loopback HTTP"));
            }
        }
    }

    /** The defaults, then without sourcing ~/.bashrc, then without class-data sharing; interleaved. */
    private void coldStarts() throws InterruptedException {
        int starts = bench.options.starts();
        bench.log("  1 untimed start (server jar extraction), the class-data archive, then %d timed per variant",
                starts);
        RuntimeFactory.connect(config()).close();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ServerClassData cds = ServerClassData.of(java, ServerJar.locate(), ServerLaunch.JVM_FLAGS);
        boolean archived = cds.awaitArchive(Duration.ofMinutes(3));
        LocalRuntimeConfig defaults = LocalRuntimeConfig.defaults();
        Map<String, RuntimeConfig> variants = new LinkedHashMap<>();
        variants.put("cold", config());
        variants.put("cold_no_bashrc", config().toBuilder().backendConfig(defaults.withSourceBashrc(false)).build());
        variants.put("cold_no_cds", config().toBuilder().backendConfig(defaults.withClassDataSharing(false)).build());
        Map<String, List<Double>> samples = new LinkedHashMap<>();
        for (int i = 0; i < starts; i++) {
            for (Map.Entry<String, RuntimeConfig> variant : variants.entrySet()) {
                long start = System.nanoTime();
                Runtime sandbox = RuntimeFactory.connect(variant.getValue());
                samples.computeIfAbsent(variant.getKey(), k -> new ArrayList<>())
                        .add(Bench.ms(System.nanoTime() - start));
                sandbox.close();
            }
            long start = System.nanoTime();
            RawShell bare = RawShell.host(); // answers its first command: started
            samples.computeIfAbsent("bare_bash", k -> new ArrayList<>()).add(Bench.ms(System.nanoTime() - start));
            bare.close();
            start = System.nanoTime();
            RawShell rc = RawShell.hostInteractive();
            samples.computeIfAbsent("bash_rc", k -> new ArrayList<>()).add(Bench.ms(System.nanoTime() - start));
            rc.close();
        }
        String cdsNote = archived ? "class-data archive" : "NO class-data archive (training did not finish)";
        bench.add("local.create.cold", "create->ready, cold, local", "ms", Stats.of(samples.get("cold")),
                "defaults: " + cdsNote + ", ~/.bashrc sourced");
        bench.add("local.create.cold_no_bashrc", "create->ready, cold, local, source-bashrc=false", "ms",
                Stats.of(samples.get("cold_no_bashrc")), cdsNote + ", ~/.bashrc not sourced");
        bench.add("floor.bash.start", "bare bash start: process start to its first answer (host)", "ms",
                Stats.of(samples.get("bare_bash")), "bash --norc over a pipe, `echo ready`; interleaved with the above");
        bench.add("floor.bash.start_rc", "interactive bash start sourcing ~/.bashrc (host)", "ms",
                Stats.of(samples.get("bash_rc")), "bash -i over a pipe, `echo ready`: what this machine's ~/.bashrc costs;"
                        + " interleaved");
        bench.add("local.create.cold.vs_bash", "local create->ready p50 / bare bash start p50", "x",
                Stats.single(Stats.of(samples.get("cold")).p50() / Stats.of(samples.get("bare_bash")).p50()),
                "same run");
        bench.add("local.create.cold_no_cds", "create->ready, cold, local, class-data-sharing=false", "ms",
                Stats.of(samples.get("cold_no_cds")), "no archive, ~/.bashrc sourced");
    }

    private void pooledStarts() {
        RuntimeConfig config = config();
        int starts = bench.options.starts();
        List<Double> samples = new ArrayList<>();
        try (WarmPool pool = WarmPool.builder().targetPerConfig(2).build()) {
            pool.prewarm(config);
            for (int i = 0; i < starts; i++) {
                // a full, settled pool: what a pool is for (an acquire while it refills competes for the CPU)
                if (!pool.awaitIdle(config, 2, Duration.ofMinutes(2))) {
                    throw new IllegalStateException("the warm pool was not refilled (2 idle local sandboxes) after 2 minutes");
                }
                Bench.sleep(1000);
                long start = System.nanoTime();
                Runtime sandbox = pool.acquire(config);
                samples.add(Bench.ms(System.nanoTime() - start));
                sandbox.close();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        bench.add("local.create.pool", "create->ready from a WarmPool, local", "ms", Stats.of(samples),
                "WarmPool.acquire incl. its health check (`true`), pool of 2 full and settled");
    }

    private void memory() {
        Set<Long> before = children();
        try (Runtime sandbox = RuntimeFactory.connect(config())) {
            Set<Long> fresh = children();
            fresh.removeAll(before);
            if (fresh.size() != 1) {
                throw new IllegalStateException("cannot tell the new server process among " + fresh);
            }
            long pid = fresh.iterator().next();
            Bench.sleep(2000);
            ProcStatus idle = ProcStatus.ofPid(pid);
            int actions = bench.options.rssActions();
            int failures = 0;
            for (int i = 0; i < actions; i++) {
                if (!Workloads.mixed(sandbox, i)) {
                    failures++;
                }
            }
            Bench.sleep(1000);
            ProcStatus after = ProcStatus.ofPid(pid);
            bench.add("local.rss.idle", "server RSS, idle, local", "MiB", Stats.single(idle.rssMib()), idle.breakdown());
            bench.add("local.rss.after_actions", "server RSS after " + actions + " actions, local", "MiB",
                    Stats.single(after.rssMib()), after.breakdown() + (failures > 0 ? "; " + failures + " failed" : ""));
        }
    }

    /** The server process of a local sandbox: the child whose command line names its session. */
    static long serverPid(Runtime sandbox) {
        String marker = "-D" + ServerLaunch.SESSION_PROPERTY + "=" + sandbox.id();
        return ProcessHandle.current().descendants()
                .filter(p -> p.info().arguments().map(a -> java.util.Arrays.asList(a).contains(marker)).orElse(false))
                .map(ProcessHandle::pid).findFirst()
                .orElseThrow(() -> new IllegalStateException("no server process with " + marker));
    }

    private static Set<Long> children() {
        return ProcessHandle.current().children()
                .filter(p -> p.info().command().map(c -> c.endsWith("java")).orElse(false))
                .map(ProcessHandle::pid).collect(Collectors.toSet());
    }
}
