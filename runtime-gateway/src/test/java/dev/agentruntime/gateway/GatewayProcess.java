package dev.agentruntime.gateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A gateway in its own JVM, from the runnable jar ({@code target/runtime-gateway.jar}, built in the package phase
 * before the integration tests), with a properties file of the test settings and its output in a log file.
 */
final class GatewayProcess implements AutoCloseable {

    private final Process process;
    private final Path log;
    private final URI uri;

    private GatewayProcess(Process process, Path log, URI uri) {
        this.process = process;
        this.log = log;
        this.uri = uri;
    }

    /** A free loopback port (free once the probe socket closes). */
    static int freePort() {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts {@code java -Xmx<heap> -jar runtime-gateway.jar --config <dir>/gateway-<port>.properties} and waits until
     * its {@code /health} answers.
     */
    static GatewayProcess start(Path dir, int port, String heap, Map<String, String> settings) throws IOException {
        String jar = System.getProperty("agent.runtime.gateway.jar", "target/runtime-gateway.jar");
        if (!Files.isRegularFile(Path.of(jar))) {
            throw new IllegalStateException("The gateway jar " + jar + " is missing: run the integration tests with"
                    + " mvn verify (the package phase builds it)");
        }
        StringBuilder properties = new StringBuilder();
        properties.append("listen.host=127.0.0.1\nlisten.port=").append(port).append('\n')
                .append("secret=").append(TestGateways.SECRET).append('\n')
                .append("backend.type=docker\nbackend.option.pull.policy=never\n")
                .append("sandbox.image=").append(TestGateways.IMAGE).append('\n');
        settings.forEach((k, v) -> properties.append(k).append('=').append(v).append('\n'));
        Path config = Files.writeString(dir.resolve("gateway-" + port + ".properties"), properties);
        Path log = dir.resolve("gateway-" + port + "-" + System.nanoTime() + ".log");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx" + heap, "-Dorg.slf4j.simpleLogger.log.org.eclipse.jetty=warn",
                "-Dorg.slf4j.simpleLogger.showDateTime=true", "-jar", jar, "--config", config.toString()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        GatewayProcess gateway = new GatewayProcess(process, log, URI.create("http://127.0.0.1:" + port));
        try {
            gateway.awaitHealthy(Duration.ofSeconds(60));
        } catch (RuntimeException e) {
            gateway.close();
            throw e;
        }
        return gateway;
    }

    private void awaitHealthy(Duration timeout) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                HttpResponse<String> health = http.send(HttpRequest.newBuilder(uri.resolve("/health"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (health.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("The gateway process on " + uri + " did not become healthy"
                        + (process.isAlive() ? "" : " (it exited with " + process.exitValue() + ")") + ":\n"
                        + logText());
            }
            try {
                Thread.sleep(100); // polling a condition with a deadline
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    URI uri() {
        return uri;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** kill -9: no shutdown hook, nothing flushed. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(Duration.ofSeconds(10).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
