package dev.agentruntime.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.server.ServerProcess.Obs;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Measures, without asserting any timing: {@code echo} actions in a row against one server over one kept-alive
 * connection, next to {@code GET /alive} (HTTP alone) and the server's own time inside the shell (its debug log).
 * Prints the numbers for the performance notes; the benchmark proper belongs in runtime-bench.
 */
class EchoRoundTripIT {

    private static final int WARM_UP = 10;
    private static final int MEASURED = 30;
    private static final Pattern SHELL_TIME = Pattern.compile("run (\\d+) µs: echo round-trip-(\\d+)");

    @Test
    void echoActionsInARowOverOneConnection() {
        try (ServerProcess server = ServerProcess.start(Map.of("AGENT_RUNTIME_SERVER_DEBUG", "1"))) {
            for (int i = 0; i < WARM_UP; i++) {
                assertThat(server.execute("echo warm-up-" + i).content()).isEqualTo("warm-up-" + i);
                assertThat(server.get("/alive").status()).isEqualTo(200);
            }
            long[] echo = new long[MEASURED];
            long[] alive = new long[MEASURED];
            for (int i = 0; i < MEASURED; i++) {
                long start = System.nanoTime();
                Obs obs = server.execute("echo round-trip-" + i);
                echo[i] = System.nanoTime() - start;
                assertThat(obs.content()).isEqualTo("round-trip-" + i);
                assertThat(obs.exitCode()).isZero();

                start = System.nanoTime();
                assertThat(server.get("/alive").status()).isEqualTo(200);
                alive[i] = System.nanoTime() - start;
            }
            List<Long> shell = new ArrayList<>();
            Matcher m = SHELL_TIME.matcher(server.recentOutput());
            while (m.find()) {
                shell.add(Long.parseLong(m.group(1)) * 1000);
            }
            System.out.printf("%n[echo round trip] %d echo actions after %d warm-up, one keep-alive HttpClient:%n",
                    MEASURED, WARM_UP);
            System.out.println("[echo round trip]   POST /execute_action echo : " + stats(echo));
            System.out.println("[echo round trip]   GET  /alive (HTTP only)   : " + stats(alive));
            if (!shell.isEmpty()) {
                System.out.println("[echo round trip]   inside BashSession.execute: "
                        + stats(shell.stream().mapToLong(Long::longValue).toArray()));
            }
        }
    }

    private static String stats(long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2.0;
        return String.format("n=%d min %.3f ms, median %.3f ms, p90 %.3f ms, max %.3f ms", sorted.length,
                sorted[0] / 1e6, median / 1e6, sorted[(int) Math.ceil(sorted.length * 0.9) - 1] / 1e6,
                sorted[sorted.length - 1] / 1e6);
    }
}
