package dev.agentruntime.bench;

import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Image;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.WarmPool;
import dev.agentruntime.docker.DockerRuntime;
import dev.agentruntime.docker.DockerRuntimeConfig;
import dev.agentruntime.docker.DockerSandboxes;
import dev.agentruntime.docker.PullPolicy;
import dev.agentruntime.docker.internal.BuildContext;
import dev.agentruntime.docker.internal.Labels;
import dev.agentruntime.internal.JreLinker;
import dev.agentruntime.spi.ActionServerRuntime;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/** The Docker backend, and docker-java's exec API in the very container our server runs in. */
final class DockerScenarios {

    private static final String BENCH_LABEL = "dev.agentruntime.bench";

    private final Bench bench;
    private final Path scratch;
    private final DockerExec docker;

    DockerScenarios(Bench bench, Path scratch, DockerExec docker) {
        this.bench = bench;
        this.scratch = scratch;
        this.docker = docker;
    }

    RuntimeConfig config() {
        return config(bench.options.image);
    }

    static RuntimeConfig config(String image) {
        DockerRuntimeConfig docker = DockerRuntimeConfig.builder().image(image).pullPolicy(PullPolicy.NEVER).build();
        return RuntimeConfig.builder().type("docker").backendConfig(docker).startupTimeout(Duration.ofMinutes(5))
                .build();
    }

    void run() {
        BenchOptions o = bench.options;
        if (o.runs("docker.prepare")) {
            bench.guard("docker.prepare", this::firstPreparation);
            bench.guard("docker.jlink", this::coldJlink);
        }
        if (o.anyRuns("docker.create", "docker.pool", "docker.rtt", "docker.concurrency", "docker.copy", "gateway.create", "gateway.rtt",
                "docker.rss", "docker.idle", "docker.steps", "docker.breakdown")) {
            bench.guard("docker image", () -> {
                long start = System.nanoTime();
                DockerSandboxes.prepareImage((DockerRuntimeConfig) config().backendConfig().orElseThrow());
                bench.log("  sandbox image for %s ready (%s ms, built now or found)", o.image,
                        Report.number(Bench.ms(System.nanoTime() - start)));
            });
        }
        if (o.runs("docker.create")) {
            bench.guard("docker.create", this::coldStarts);
        }
        if (o.anyRuns("docker.idle", "docker.breakdown", "docker.steps")) {
            bench.guard("docker.agent", this::agentWay);
        }
        if (o.runs("docker.pool")) {
            bench.guard("docker.pool", this::pooledStarts);
        }
        if (o.runs("docker.rtt")) {
            bench.guard("docker.rtt", this::roundTrips);
        }
        if (o.runs("docker.concurrency")) {
            bench.guard("docker.concurrency", this::concurrency);
        }
        if (o.runs("docker.copy")) {
            bench.guard("docker.copy", () -> {
                Path file = Workloads.randomFile(scratch, o.fileMib());
                try (Runtime sandbox = RuntimeFactory.connect(config())) {
                    Transfers.measure(bench, "docker", "Docker", sandbox, file);
                }
            });
        }
        if (o.runs("docker.rss")) {
            bench.guard("docker.rss", this::memory);
        }
    }

    /**
     * A base image the daemon has never prepared: the configured image plus one tiny file with a random nonce, so
     * its id is new and the sandbox image cache misses. Then the first connect on it is timed: probe, build of the
     * derived image (server jar, Java runtime), container start, ready.
     */
    private void firstPreparation() {
        String nonce = UUID.randomUUID().toString().substring(0, 12);
        String base = "agent-runtime-bench/base:" + nonce;
        try (BuildContext context = new BuildContext()) {
            context.text("nonce", nonce + "\n")
                    .text("Dockerfile", "FROM " + bench.options.image + "\nCOPY nonce /etc/agent-runtime-bench-nonce\n"
                            + "LABEL " + BENCH_LABEL + "=true\n");
            docker.client().buildImageCmd(context.toInputStream()).withTags(Set.of(base)).withPull(false)
                    .withRemove(true).withForcerm(true).exec(new BuildImageResultCallback())
                    .awaitImageId(5, TimeUnit.MINUTES);
        }
        boolean jreCached = jreCached();
        AtomicLong prepared = new AtomicLong();
        long start = System.nanoTime();
        RuntimeConfig config = config(base).toBuilder().statusListener(event -> {
            if (event.status() == RuntimeStatus.STARTING_RUNTIME && event.message().startsWith("Creating container")) {
                prepared.compareAndSet(0, System.nanoTime());
            }
        }).build();
        try {
            try (Runtime sandbox = RuntimeFactory.connect(config)) {
                long ready = System.nanoTime();
                if (!Workloads.run(sandbox, Workloads.ECHO)) {
                    throw new IllegalStateException("echo failed in the first sandbox of " + base);
                }
                String note = "fresh base " + base + "; jlinked JRE " + (jreCached ? "cached" : "linked now");
                bench.add("docker.prepare.image", "first preparation of a new base image", "ms",
                        Stats.single(Bench.ms(prepared.get() - start)), note + "; probe + build, until 'Creating container'");
                bench.add("docker.prepare.first_connect", "first connect on a new base image", "ms",
                        Stats.single(Bench.ms(ready - start)), "preparation + create + start + ready");
            }
        } finally {
            removeImages(base);
        }
    }

    /**
     * A cold {@code jlink} of the runtime shipped into images without Java, into a fresh cache directory (it runs once
     * per JDK in real use, and is cached afterwards).
     */
    private void coldJlink() {
        Path cache;
        try {
            cache = java.nio.file.Files.createTempDirectory("agent-runtime-bench-jre");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        try {
            long start = System.nanoTime();
            new dev.agentruntime.internal.JreLinker(cache).linkedRuntime();
            bench.add("docker.prepare.jlink", "jlink of the shipped Java runtime, cold", "ms",
                    Stats.single(Bench.ms(System.nanoTime() - start)), "once per JDK; cached afterwards");
        } finally {
            dev.agentruntime.internal.FileTrees.deleteQuietly(cache);
        }
    }

    private static boolean jreCached() {
        Path root = Path.of(System.getProperty("java.io.tmpdir"), "agent-runtime-" + System.getProperty("user.name"),
                "jre");
        try (var dirs = Files.list(root)) {
            return dirs.anyMatch(dir -> Files.isRegularFile(dir.resolve("bin/java")));
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** Removes the bench's base image and the sandbox images made from it. */
    private void removeImages(String base) {
        List<Image> derived = docker.client().listImagesCmd()
                .withLabelFilter(Map.of(Labels.BASE_IMAGE, base)).exec();
        for (Image image : derived) {
            remove(image.getId());
        }
        remove(base);
    }

    private void remove(String image) {
        try {
            docker.client().removeImageCmd(image).withForce(true).exec();
        } catch (NotFoundException ignored) {
            // gone already
        } catch (RuntimeException e) {
            bench.log("  (could not remove image %s: %s)", image, e.getMessage());
        }
    }

    /**
     * Docker create->ready, interleaved with Testcontainers' {@code GenericContainer} start of the same image
     * ({@code sleep infinity}), one of each per round, so both see the same daemon and machine.
     */
    private void coldStarts() {
        int starts = bench.options.starts();
        bench.log("  1 untimed start of each, then %d timed, interleaved with GenericContainer starts", starts);
        RuntimeFactory.connect(config()).close();
        genericContainerStart();
        List<Double> samples = new ArrayList<>();
        List<Double> tc = new ArrayList<>();
        for (int i = 0; i < starts; i++) {
            for (int k = 0; k < 2; k++) {
                if ((i + k) % 2 == 0) {
                    long start = System.nanoTime();
                    Runtime sandbox = RuntimeFactory.connect(config());
                    samples.add(Bench.ms(System.nanoTime() - start));
                    sandbox.close();
                } else {
                    tc.add(genericContainerStart());
                }
            }
        }
        Stats ours = Stats.of(samples);
        Stats theirs = Stats.of(tc);
        bench.add("docker.create.cold", "create->ready, cold, Docker (prepared image)", "ms", ours,
                "container create + start + JVM + bash + ready line + /alive");
        bench.add("tc.start", "Testcontainers GenericContainer start, same image, sleep infinity", "ms", theirs,
                "start() returns (running); interleaved with the above");
        bench.add("docker.create.cold.vs_tc", "Docker create->ready p50 / GenericContainer start p50", "x",
                Stats.single(ours.p50() / theirs.p50()), "same run, interleaved");
    }

    /** One timed {@code GenericContainer.start()} (ms); the container is stopped afterwards, untimed. */
    private double genericContainerStart() {
        try (GenericContainer<?> container = genericContainer()) {
            long start = System.nanoTime();
            container.start();
            return Bench.ms(System.nanoTime() - start);
        }
    }

    GenericContainer<?> genericContainer() {
        return new GenericContainer<>(DockerImageName.parse(bench.options.image))
                .withImagePullPolicy(image -> false)
                .withCommand("sleep", "infinity")
                .withLabel(BENCH_LABEL, "true");
    }

    /** Issue 14 on one Docker sandbox: the idle-gap commands and the breakdown (raw pipe into it), the agent steps. */
    private void agentWay() {
        BenchOptions o = bench.options;
        AgentScenarios agent = new AgentScenarios(bench);
        agent.warmClient("docker", config());
        try (Runtime sandbox = RuntimeFactory.connect(config())) {
            String container = ((DockerRuntime) sandbox).containerId().orElseThrow();
            if (o.anyRuns("docker.idle", "docker.breakdown")) {
                try (RawShell raw = RawShell.docker(container)) {
                    if (o.runs("docker.idle")) {
                        agent.idle("docker", "Docker", sandbox, raw);
                    }
                    if (o.runs("docker.breakdown")) {
                        agent.breakdown("docker", "Docker", (ActionServerRuntime) sandbox, raw);
                        agent.breakdown("docker", "Docker", (ActionServerRuntime) sandbox, raw, true);
                        Integer init = docker.client().inspectContainerCmd(container).exec().getState().getPid();
                        if (init != null && init > 0) {
                            agent.switches("docker", "Docker", sandbox, AgentScenarios.javaDescendant(init));
                        }
                    }
                }
            }
            if (o.runs("docker.steps")) {
                try (GenericContainer<?> tc = genericContainer()) {
                    tc.start();
                    agent.steps(sandbox, tc);
                }
            }
        }
    }

    private void pooledStarts() {
        RuntimeConfig config = config();
        int starts = bench.options.starts();
        List<Double> samples = new ArrayList<>();
        try (WarmPool pool = WarmPool.builder().targetPerConfig(2).build()) {
            pool.prewarm(config);
            for (int i = 0; i < starts; i++) {
                // a full, settled pool: what a pool is for (an acquire while it refills competes for the CPU)
                if (!pool.awaitIdle(config, 2, Duration.ofMinutes(3))) {
                    throw new IllegalStateException("the warm pool was not refilled (2 idle Docker sandboxes) after 3 minutes");
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
        bench.add("docker.create.pool", "create->ready from a WarmPool, Docker", "ms", Stats.of(samples),
                "WarmPool.acquire incl. its health check (`true`), pool of 2 full and settled");
    }

    private void roundTrips() {
        try (Runtime sandbox = RuntimeFactory.connect(config())) {
            String container = ((DockerRuntime) sandbox).containerId().orElseThrow();
            for (String command : List.of(Workloads.ECHO, Workloads.LS)) {
                Bench.Loop loop = bench.loop("docker " + command, bench.options.warmup(), bench.options.iterations(),
                        () -> Workloads.run(sandbox, command));
                bench.add("docker.rtt." + key(command), "`" + command + "` round trip, Docker backend", "ms",
                        loop.stats(), loop.note("run() to the published port"));
            }
            int iterations = Math.max(1, bench.options.iterations() / 5);
            int warmup = Math.max(1, bench.options.warmup() / 5);
            for (String command : List.of(Workloads.ECHO, Workloads.LS)) {
                Bench.Loop loop = bench.loop("docker-java exec " + command, warmup, iterations, () -> {
                    DockerExec.Result result = docker.exec(container, "bash", "-c", command);
                    return result.exitCode() == 0 && Workloads.expected(command, result.output());
                });
                bench.add("dockerjava.exec." + key(command), "`" + command + "` via docker-java exec API", "ms",
                        loop.stats(), loop.note("same container; create + start + inspect"));
            }
        }
    }

    static String key(String command) {
        return command.equals(Workloads.ECHO) ? "echo" : "ls";
    }

    /**
     * N sandboxes started at once, each runs M actions as soon as all are ready, then all close. Failures are
     * sandboxes that did not start and actions that threw or answered wrongly.
     */
    private void concurrency() {
        int n = bench.options.sandboxes();
        int m = bench.options.actions();
        RuntimeConfig config = config();
        ExecutorService threads = Executors.newFixedThreadPool(n, r -> {
            Thread t = new Thread(r, "agent-runtime-bench-sandbox");
            t.setDaemon(true);
            return t;
        });
        CountDownLatch settled = new CountDownLatch(n);
        CountDownLatch go = new CountDownLatch(1);
        AtomicInteger failures = new AtomicInteger();
        AtomicReference<String> firstFailure = new AtomicReference<>("");
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        AtomicLong lastActionDone = new AtomicLong();
        long start = System.nanoTime();
        bench.log("  %d sandboxes x %d actions", n, m);
        List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            futures.add(threads.submit(() -> {
                Runtime sandbox = null;
                try {
                    try {
                        sandbox = RuntimeFactory.connect(config.toBuilder().sessionId(null).build()); // own session id
                    } finally {
                        settled.countDown();
                    }
                    go.await();
                    for (int a = 0; a < m; a++) {
                        String command = a % 2 == 0 ? Workloads.ECHO : Workloads.LS;
                        long t0 = System.nanoTime();
                        try {
                            if (Workloads.run(sandbox, command)) {
                                latencies.add(Bench.ms(System.nanoTime() - t0));
                            } else {
                                fail(failures, firstFailure, "wrong output of " + command);
                            }
                        } catch (RuntimeException e) {
                            fail(failures, firstFailure, e.toString());
                        }
                    }
                    lastActionDone.accumulateAndGet(System.nanoTime(), Math::max);
                } catch (RuntimeException e) {
                    fail(failures, firstFailure, "start: " + e);
                    failures.addAndGet(m - 1); // its actions never ran
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    if (sandbox != null) {
                        sandbox.close();
                    }
                }
            }));
        }
        try {
            if (!settled.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException("the sandboxes did not all start or fail within 10 minutes");
            }
            long allReady = System.nanoTime();
            go.countDown();
            for (var future : futures) {
                future.get(10, TimeUnit.MINUTES);
            }
            long end = System.nanoTime();
            long actionsEnd = lastActionDone.get() == 0 ? end : lastActionDone.get();
            double actionSeconds = (actionsEnd - allReady) / 1e9;
            String shape = n + " sandboxes x " + m + " actions";
            bench.add("docker.concurrency.failures", shape + ": failures", "count", Stats.single(failures.get()),
                    firstFailure.get().isEmpty() ? "sandbox starts + actions" : "first: " + firstFailure.get());
            bench.add("docker.concurrency.ready_wall", shape + ": all started", "ms",
                    Stats.single(Bench.ms(allReady - start)), n + " connects at once on " 
                            + java.lang.Runtime.getRuntime().availableProcessors() + " cores");
            bench.add("docker.concurrency.actions_wall", shape + ": action phase", "ms",
                    Stats.single(actionSeconds * 1000), "from all ready to the last action answered");
            bench.add("docker.concurrency.actions_per_s", shape + ": throughput", "actions/s",
                    Stats.single(latencies.size() / actionSeconds), "successful actions / action phase");
            if (!latencies.isEmpty()) {
                bench.add("docker.concurrency.latency", shape + ": action latency", "ms", Stats.of(latencies),
                        "echo and ls, alternating");
            }
            bench.add("docker.concurrency.wall", shape + ": wall, start to all closed", "ms",
                    Stats.single(Bench.ms(end - start)), "");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("concurrent sandboxes: " + e, e);
        } finally {
            threads.shutdownNow();
        }
    }

    private static void fail(AtomicInteger failures, AtomicReference<String> first, String why) {
        failures.incrementAndGet();
        first.compareAndSet("", why);
    }

    private void memory() {
        try (Runtime sandbox = RuntimeFactory.connect(config())) {
            String container = ((DockerRuntime) sandbox).containerId().orElseThrow();
            Bench.sleep(2000);
            ProcStatus idle = docker.javaStatus(container);
            int actions = bench.options.rssActions();
            int failures = 0;
            for (int i = 0; i < actions; i++) {
                if (!Workloads.mixed(sandbox, i)) {
                    failures++;
                }
            }
            Bench.sleep(1000);
            ProcStatus after = docker.javaStatus(container);
            bench.add("docker.rss.idle", "server RSS in a Docker sandbox, idle", "MiB", Stats.single(idle.rssMib()),
                    idle.breakdown());
            bench.add("docker.rss.after_actions", "server RSS in a Docker sandbox after " + actions + " actions", "MiB",
                    Stats.single(after.rssMib()), after.breakdown() + (failures > 0 ? "; " + failures + " failed" : ""));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
