package dev.agentruntime.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.remote.RemoteRuntime;
import dev.agentruntime.testkit.RequiresDocker;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Gateways as separate JVMs from the runnable jar: a sandbox survives a gateway killed with -9 and started again
 * (reattached by session id, shell state and a running process intact), two gateway processes serve the same
 * sessions, and 1 GiB streams through the proxy of a gateway with a 128 MiB heap.
 */
@RequiresDocker
class GatewayProcessIT {

    private static final String TENANT = "proc";

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void cleanUp() {
        TestGateways.removeSandboxesOf(TENANT);
    }

    private static Map<String, String> settings() {
        return Map.of("key." + TENANT + ".secret", TestGateways.keyOf(TENANT), "reap.interval", "10m",
                "backend.option.publish.app.ports", "true");
    }

    private static RuntimeConfig.Builder client(URI gateway, String sessionId) {
        return TestGateways.remote(gateway, TENANT).sessionId(sessionId).option("image", TestGateways.IMAGE);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Timed out waiting until " + what);
            }
            Thread.sleep(100); // polling a condition with a deadline
        }
    }

    private int status(String method, URI url, String body) throws Exception {
        return status(method, url, body, Duration.ofSeconds(60));
    }

    private int status(String method, URI url, String body, Duration timeout) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(url).timeout(timeout)
                .header("X-API-Key", TestGateways.keyOf(TENANT))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        return http.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void aSandboxSurvivesAGatewayKilledAndStartedAgain() throws Exception {
        int port = GatewayProcess.freePort();
        RuntimeConfig kept = client(URI.create("http://127.0.0.1:" + port), "survivor").keepAlive(true)
                .option("pause.on.close", "false").build();
        String pid;
        try (GatewayProcess first = GatewayProcess.start(dir, port, "128m", settings())) {
            try (Runtime sandbox = RuntimeFactory.connect(kept)) {
                sandbox.run("export SURVIVOR=still-here && mkdir -p /tmp/restart && cd /tmp/restart");
                sandbox.run("(while true; do date +%s%N >> /tmp/restart/ticks; sleep 0.1; done)"
                        + " >/dev/null 2>&1 & echo $! > /tmp/restart/pid");
                pid = sandbox.run("cat /tmp/restart/pid").content().strip();
            } // keep-alive, no pause: left running
            first.kill();
            assertThat(first.logText()).contains("key=" + TENANT).doesNotContain(TestGateways.keyOf(TENANT))
                    .doesNotContain(TestGateways.SECRET);
        }
        try (GatewayProcess second = GatewayProcess.start(dir, port, "128m", settings());
             Runtime again = RuntimeFactory.connect(kept.toBuilder().keepAlive(false).attachToExisting(true)
                     .build())) {
            assertThat(again.run("echo $SURVIVOR").content()).as("the same shell").isEqualTo("still-here");
            assertThat(again.run("pwd").content()).isEqualTo("/tmp/restart");
            assertThat(again.run("kill -0 " + pid + " && echo running").content()).isEqualTo("running");
            long ticks = Long.parseLong(again.run("wc -l < /tmp/restart/ticks").content().strip());
            await("the background process keeps ticking", () -> Long.parseLong(again.run(
                    "wc -l < /tmp/restart/ticks").content().strip()) > ticks);
            assertThat(second.isAlive()).isTrue();
        }
        assertThat(TestGateways.sandboxesOf(TENANT)).as("closing the reattached runtime stopped it").isZero();
    }

    @Test
    void twoGatewayProcessesServeTheSameSessions() throws Exception {
        try (GatewayProcess a = GatewayProcess.start(dir, GatewayProcess.freePort(), "128m", settings());
             GatewayProcess b = GatewayProcess.start(dir, GatewayProcess.freePort(), "128m", settings())) {
            RuntimeConfig viaA = client(a.uri(), "shared").build();
            try (Runtime first = RuntimeFactory.connect(viaA)) {
                first.run("export SHARED=from-a");
                String runtimeId = ((RemoteRuntime) first).runtimeId().orElseThrow();
                try (Runtime second = RuntimeFactory.connect(client(b.uri(), "shared").attachToExisting(true)
                        .keepAlive(true).option("pause.on.close", "false").build())) {
                    assertThat(((RemoteRuntime) second).runtimeId()).contains(runtimeId);
                    assertThat(second.run("echo $SHARED").content()).as("B proxies into A's sandbox")
                            .isEqualTo("from-a");
                    assertThat(second.webHosts()).as("the gateway publishes the app ports").isNotEmpty();
                    assertThat(second.webHosts().keySet()).allSatisfy(url -> assertThat(url)
                            .startsWith(b.uri() + "/" + runtimeId + "/work-"));
                }
                // paused through A, B's proxy answers 503 once its address cache (1 s) has expired; a request that
                // raced the pause waits in the frozen sandbox until the resume, so probes time out quickly here
                assertThat(status("POST", a.uri().resolve("/pause"), "{\"runtime_id\": \"" + runtimeId + "\"}"))
                        .isEqualTo(200);
                URI alive = URI.create(b.uri() + "/" + runtimeId + "/alive");
                await("B sees the pause", () -> {
                    try {
                        return status("GET", alive, null, Duration.ofSeconds(2)) == 503;
                    } catch (Exception e) {
                        return false;
                    }
                });
                // resumed through B, A's client goes on
                assertThat(status("POST", b.uri().resolve("/resume"), "{\"runtime_id\": \"" + runtimeId + "\"}"))
                        .isEqualTo(200);
                assertThat(first.run("echo $SHARED again").content()).isEqualTo("from-a again");
            } // not keep-alive: A stops it
            assertThat(status("GET", b.uri().resolve("/sessions/shared"), null)).as("B sees it gone").isEqualTo(404);
        }
    }

    @Test
    void oneGibibyteStreamsThroughTheProxyOfAGatewayWithA128MibHeap() throws Exception {
        Path big = dir.resolve("big.bin");
        long size = 1L << 30;
        try (RandomAccessFile file = new RandomAccessFile(big.toFile(), "rw")) {
            byte[] block = new byte[1 << 20];
            for (int i = 0; i < block.length; i++) {
                block[i] = (byte) (i * 131 + 17); // not all zeros, so nothing on the way can shortcut it
            }
            for (long written = 0; written < size; written += block.length) {
                block[0] = (byte) (written >> 20);
                file.write(block);
            }
        }
        String expected = sha256(big);
        try (GatewayProcess gateway = GatewayProcess.start(dir, GatewayProcess.freePort(), "128m", settings());
             Runtime sandbox = RuntimeFactory.connect(client(gateway.uri(), "big").build())) {
            long started = System.nanoTime();
            sandbox.copyTo(big, "/tmp/upload", false);
            long millis = (System.nanoTime() - started) / 1_000_000;
            assertThat(sandbox.run("stat -c %s /tmp/upload/big.bin").content()).isEqualTo(Long.toString(size));
            assertThat(sandbox.run(dev.agentruntime.CmdRunAction.of("sha256sum /tmp/upload/big.bin | cut -d' ' -f1")
                    .withTimeout(Duration.ofSeconds(120))).content()).isEqualTo(expected);
            sandbox.run("rm -f /tmp/upload/big.bin");
            assertThat(gateway.isAlive()).isTrue();
            assertThat(gateway.logText()).doesNotContain("OutOfMemoryError");
            System.out.printf("1 GiB upload through the gateway proxy (-Xmx128m): %d ms, %.0f MiB/s%n", millis,
                    1024.0 * 1000 / Math.max(1, millis));
        } finally {
            Files.deleteIfExists(big);
        }
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
