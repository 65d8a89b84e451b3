package dev.agentruntime.gateway.internal;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * The gateway's metrics in the Prometheus text format (0.0.4), without a metrics library: counters by label set, one
 * histogram (start latency) and the sessions gauge, which is read from the sandboxes at scrape time (so every replica
 * reports the same sessions).
 */
public final class Metrics {

    private static final double[] START_BUCKETS = {0.5, 1, 2, 5, 10, 30, 60, 120, 300};

    private final Map<String, LongAdder> startsTotal = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> proxiedTotal = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> apiTotal = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> reapedTotal = new ConcurrentHashMap<>();
    private final LongAdder[] startBuckets = new LongAdder[START_BUCKETS.length + 1];
    private final DoubleAdder startSum = new DoubleAdder();
    private final DoubleAdder proxiedSeconds = new DoubleAdder();

    public Metrics() {
        for (int i = 0; i < startBuckets.length; i++) {
            startBuckets[i] = new LongAdder();
        }
    }

    public void started(String tenant, String result, double seconds) {
        count(startsTotal, "tenant=\"" + tenant + "\",result=\"" + result + "\"");
        if (result.equals("ok")) {
            startSum.add(seconds);
            for (int i = 0; i < START_BUCKETS.length; i++) {
                if (seconds <= START_BUCKETS[i]) {
                    startBuckets[i].increment();
                    return;
                }
            }
            startBuckets[START_BUCKETS.length].increment();
        }
    }

    public void proxied(String tenant, String kind, int status, double seconds) {
        count(proxiedTotal, "tenant=\"" + tenant + "\",target=\"" + kind + "\",code=\"" + (status < 0 ? "aborted"
                : Integer.toString(status)) + "\"");
        proxiedSeconds.add(seconds);
    }

    public void api(String call, int status) {
        count(apiTotal, "call=\"" + call + "\",code=\"" + status + "\"");
    }

    public void reaped(String tenant, String reason) {
        count(reapedTotal, "tenant=\"" + tenant + "\",reason=\"" + reason + "\"");
    }

    private static void count(Map<String, LongAdder> counters, String labels) {
        counters.computeIfAbsent(labels, k -> new LongAdder()).increment();
    }

    /**
     * The text exposition.
     *
     * @param sessions sessions by {@code tenant="..",state=".."} label set, read now
     */
    public String scrape(Supplier<Map<String, Long>> sessions) {
        StringBuilder out = new StringBuilder();
        out.append("# HELP agent_runtime_gateway_sessions Sessions on the backend by tenant and state.\n")
                .append("# TYPE agent_runtime_gateway_sessions gauge\n");
        try {
            new TreeMap<>(sessions.get()).forEach((labels, n) -> out.append("agent_runtime_gateway_sessions{")
                    .append(labels).append("} ").append(n).append('\n'));
            out.append("agent_runtime_gateway_backend_up 1\n");
        } catch (RuntimeException e) {
            out.append("agent_runtime_gateway_backend_up 0\n");
        }
        counter(out, "agent_runtime_gateway_starts_total", "Sandbox starts by tenant and result.", startsTotal);
        out.append("# HELP agent_runtime_gateway_start_seconds Time from POST /start to a ready sandbox.\n")
                .append("# TYPE agent_runtime_gateway_start_seconds histogram\n");
        long cumulative = 0;
        for (int i = 0; i < START_BUCKETS.length; i++) {
            cumulative += startBuckets[i].sum();
            out.append("agent_runtime_gateway_start_seconds_bucket{le=\"").append(START_BUCKETS[i]).append("\"} ")
                    .append(cumulative).append('\n');
        }
        cumulative += startBuckets[START_BUCKETS.length].sum();
        out.append("agent_runtime_gateway_start_seconds_bucket{le=\"+Inf\"} ").append(cumulative).append('\n')
                .append("agent_runtime_gateway_start_seconds_sum ").append(startSum.sum()).append('\n')
                .append("agent_runtime_gateway_start_seconds_count ").append(cumulative).append('\n');
        counter(out, "agent_runtime_gateway_proxied_requests_total",
                "Requests proxied to sandboxes by tenant, target (action server or work host) and status.",
                proxiedTotal);
        out.append("# HELP agent_runtime_gateway_proxied_seconds_total Time spent in proxied exchanges.\n")
                .append("# TYPE agent_runtime_gateway_proxied_seconds_total counter\n")
                .append("agent_runtime_gateway_proxied_seconds_total ").append(proxiedSeconds.sum()).append('\n');
        counter(out, "agent_runtime_gateway_api_requests_total", "Remote Runtime API requests by call and status.",
                apiTotal);
        counter(out, "agent_runtime_gateway_reaped_total", "Sessions reaped by tenant and reason.", reapedTotal);
        return out.toString();
    }

    private static void counter(StringBuilder out, String name, String help, Map<String, LongAdder> counters) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(" counter\n");
        new TreeMap<>(counters).forEach((labels, n) -> out.append(name).append('{').append(labels).append("} ")
                .append(n.sum()).append('\n'));
    }
}
