package dev.agentruntime.bench;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.WarmPool;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
        if (o.runs("local.rtt")) {
            guard("local.rtt", this::roundTrips);
        }
        if (o.runs("local.create")) {
            guard("local.create", this::coldStarts);
        }
        if (o.runs("local.pool")) {
            guard("local.pool", this::pooledStarts);
        }
        if (o.runs("local.copy")) {
            guard("local.copy", () -> {
                Path file = Workloads.randomFile(scratch, o.fileMib());
                try (Runtime sandbox = RuntimeFactory.connect(config())) {
                    Transfers.measure(bench, "local", "local", sandbox, file);
                }
            });
        }
        if (o.runs("local.rss")) {
            guard("local.rss", this::memory);
        }
    }

    private void guard(String scenario, Runnable body) {
        bench.log("[%s]", scenario);
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            bench.problem(scenario, e);
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

    private void coldStarts() {
        int starts = bench.options.starts();
        bench.log("  1 untimed start (server jar extraction, class-data archive), then %d timed", starts);
        RuntimeFactory.connect(config()).close();
        List<Double> samples = new ArrayList<>();
        for (int i = 0; i < starts; i++) {
            long start = System.nanoTime();
            Runtime sandbox = RuntimeFactory.connect(config());
            samples.add(Bench.ms(System.nanoTime() - start));
            sandbox.close();
        }
        bench.add("local.create.cold", "create->ready, cold, local", "ms", Stats.of(samples),
                "RuntimeFactory.connect: JVM start, bash with ~/.bashrc, ready line");
    }

    private void pooledStarts() {
        RuntimeConfig config = config();
        int starts = bench.options.starts();
        List<Double> samples = new ArrayList<>();
        try (WarmPool pool = WarmPool.builder().targetPerConfig(2).build()) {
            pool.prewarm(config);
            for (int i = 0; i < starts; i++) {
                if (!pool.awaitIdle(config, 1, Duration.ofMinutes(2))) {
                    throw new IllegalStateException("the warm pool had no idle local sandbox after 2 minutes");
                }
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
                "WarmPool.acquire incl. its health check (`true`)");
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

    private static Set<Long> children() {
        return ProcessHandle.current().children()
                .filter(p -> p.info().command().map(c -> c.endsWith("java")).orElse(false))
                .map(ProcessHandle::pid).collect(Collectors.toSet());
    }
}
