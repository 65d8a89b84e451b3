package dev.agentruntime.bench;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.gateway.Gateway;
import dev.agentruntime.gateway.GatewayConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The runtime gateway against the Docker backend it fronts, measured in one run on the same image: start→ready
 * through the gateway ({@code remote} backend → {@code POST /start} → Docker → ready, plus the client's
 * {@code /runtime} poll and {@code /alive} through the proxy) alternating with direct Docker starts, and the
 * {@code echo} round trip through the gateway's path-mode proxy beside the same action straight to the published
 * port. The gateway runs in this JVM, on the same cores as the client and the sandboxes.
 */
final class GatewayScenarios {

    private static final String TENANT = "bench";
    private static final String KEY = "bench-gateway-key-" + Long.toHexString(System.nanoTime());

    private final Bench bench;

    GatewayScenarios(Bench bench) {
        this.bench = bench;
    }

    void run() {
        GatewayConfig config = GatewayConfig.builder().host("127.0.0.1").port(0)
                .secret(RuntimeConfig.randomKey() + RuntimeConfig.randomKey())
                .backendType("docker").backendOption("pull.policy", "never").defaultImage(bench.options.image)
                .key(TENANT, KEY, 64, Duration.ofMinutes(30)).reapInterval(Duration.ofMinutes(30)).build();
        try (Gateway gateway = Gateway.start(config)) {
            RuntimeConfig remote = RuntimeConfig.builder().type("remote").startupTimeout(Duration.ofMinutes(5))
                    .option("api.url", gateway.uri().toString()).option("api.key", KEY)
                    .option("image", bench.options.image).build();
            RuntimeConfig direct = DockerScenarios.config(bench.options.image);
            if (bench.options.runs("gateway.create")) {
                bench.guard("gateway.create", () -> starts(remote, direct));
            }
            if (bench.options.runs("gateway.rtt")) {
                bench.guard("gateway.rtt", () -> roundTrips(remote, direct));
            }
        }
    }

    private void starts(RuntimeConfig remote, RuntimeConfig direct) {
        int starts = bench.options.starts();
        bench.log("  1 untimed start each, then %d timed each, alternating gateway / direct", starts);
        RuntimeFactory.connect(remote.toBuilder().sessionId(null).build()).close();
        RuntimeFactory.connect(direct.toBuilder().sessionId(null).build()).close();
        List<Double> viaGateway = new ArrayList<>();
        List<Double> straight = new ArrayList<>();
        for (int i = 0; i < starts; i++) {
            viaGateway.add(timedStart(remote));
            straight.add(timedStart(direct));
        }
        bench.add("gateway.create.remote", "create->ready through the gateway (remote -> gateway -> Docker)", "ms",
                Stats.of(viaGateway), "POST /start (sync) + GET /runtime + /alive through the proxy; in-process gateway");
        bench.add("gateway.create.direct", "create->ready, Docker backend directly (same run)", "ms",
                Stats.of(straight), "alternating with the gateway starts");
    }

    private static double timedStart(RuntimeConfig config) {
        long start = System.nanoTime();
        Runtime sandbox = RuntimeFactory.connect(config.toBuilder().sessionId(null).build());
        double ms = Bench.ms(System.nanoTime() - start);
        sandbox.close();
        return ms;
    }

    private void roundTrips(RuntimeConfig remote, RuntimeConfig direct) {
        try (Runtime viaGateway = RuntimeFactory.connect(remote.toBuilder().sessionId(null).build());
             Runtime straight = RuntimeFactory.connect(direct.toBuilder().sessionId(null).build())) {
            int warmup = bench.options.warmup();
            int iterations = bench.options.iterations();
            Bench.Loop proxied = bench.loop("gateway echo", warmup, iterations,
                    () -> Workloads.run(viaGateway, Workloads.ECHO));
            Bench.Loop plain = bench.loop("direct echo", warmup, iterations,
                    () -> Workloads.run(straight, Workloads.ECHO));
            bench.add("gateway.rtt.echo", "`echo` round trip through the gateway's proxy", "ms", proxied.stats(),
                    proxied.note("client -> Jetty proxy -> published port; session key checked, address cached"));
            bench.add("gateway.rtt.direct", "`echo` round trip, Docker backend directly (same run)", "ms",
                    plain.stats(), plain.note("client -> published port"));
        }
    }
}
