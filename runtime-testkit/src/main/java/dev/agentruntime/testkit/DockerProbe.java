package dev.agentruntime.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Asks a Docker engine, over plain HTTP on its socket, whether it answers and has the given images. Used by
 * {@link RequiresDocker}; has no Docker client dependency.
 */
public final class DockerProbe {

    /** Debian bookworm minbase with bash and procps; no Java, no Python. */
    public static final String DEBIAN_IMAGE = System.getProperty("agent.runtime.test.image",
            "agent-runtime-test/debian:bookworm");
    /** Only a static busybox: no bash. */
    public static final String NO_BASH_IMAGE = System.getProperty("agent.runtime.test.nobashImage",
            "agent-runtime-test/nobash:latest");

    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final URI host;

    public DockerProbe(URI host) {
        this.host = host;
    }

    /** The engine {@code DOCKER_HOST} names, or the local socket. */
    public static DockerProbe fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    static DockerProbe fromEnvironment(Map<String, String> env) {
        String value = env.get("DOCKER_HOST");
        return new DockerProbe(URI.create(value == null || value.isBlank() ? "unix:///var/run/docker.sock" : value));
    }

    public static List<String> standardImages() {
        return List.of(DEBIAN_IMAGE, NO_BASH_IMAGE);
    }

    public URI host() {
        return host;
    }

    /** What stops Docker tests from running, or "" when nothing does. */
    public String problem(List<String> images) {
        String scheme = host.getScheme() == null ? "" : host.getScheme();
        if (!scheme.equals("unix") && !scheme.equals("tcp") && !scheme.equals("http")) {
            return "DOCKER_HOST " + host + " is not a unix:// or tcp:// engine this probe can reach";
        }
        try {
            int ping = get("/_ping");
            if (ping != 200) {
                return "the Docker engine at " + host + " answers /_ping with HTTP " + ping;
            }
        } catch (IOException e) {
            return "no Docker engine answers at " + host + " (" + e.getMessage() + "); start dockerd or set "
                    + "DOCKER_HOST";
        }
        for (String image : images) {
            try {
                int status = get("/images/" + URLEncoder.encode(image, StandardCharsets.UTF_8)
                        .replace("%2F", "/").replace("%3A", ":") + "/json");
                if (status == 404) {
                    return "test image " + image + " is missing; build it with .ci/docker-setup.sh";
                }
                if (status != 200) {
                    return "the Docker engine at " + host + " answers HTTP " + status + " for image " + image;
                }
            } catch (IOException e) {
                return "the Docker engine at " + host + " failed while checking image " + image + " ("
                        + e.getMessage() + ")";
            }
        }
        return "";
    }

    /** The HTTP status of a GET, within {@link #TIMEOUT}. */
    int get(String path) throws IOException {
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "agent-runtime-docker-probe");
            thread.setDaemon(true);
            return thread;
        });
        try (SocketChannel channel = host.getScheme().equals("unix")
                ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open()) {
            ScheduledFuture<?> timeout = watchdog.schedule(() -> {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // closing is the point
                }
            }, TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            try {
                channel.connect(host.getScheme().equals("unix") ? UnixDomainSocketAddress.of(host.getPath())
                        : new InetSocketAddress(host.getHost(), host.getPort() == -1 ? 2375 : host.getPort()));
                String request = "GET " + path + " HTTP/1.0\r\nHost: docker\r\n\r\n";
                ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII));
                while (out.hasRemaining()) {
                    channel.write(out);
                }
                ByteArrayOutputStream head = new ByteArrayOutputStream();
                ByteBuffer in = ByteBuffer.allocate(512);
                while (head.toString(StandardCharsets.US_ASCII).indexOf("\r\n") < 0) {
                    in.clear();
                    int n = channel.read(in);
                    if (n < 0) {
                        throw new IOException("the engine closed the connection without an answer");
                    }
                    head.write(in.array(), 0, n);
                }
                String status = head.toString(StandardCharsets.US_ASCII);
                String[] parts = status.substring(0, status.indexOf("\r\n")).split(" ");
                if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
                    throw new IOException("not an HTTP answer: " + parts[0]);
                }
                return Integer.parseInt(parts[1]);
            } catch (IOException e) {
                if (timeout.isDone()) {
                    throw new IOException("no answer within " + TIMEOUT.toSeconds() + " s", e);
                }
                throw e;
            } finally {
                timeout.cancel(false);
            }
        } finally {
            watchdog.shutdownNow();
        }
    }
}
