package dev.agentruntime.fake.http;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A fake's HTTP server: Jetty 12 on a real ephemeral loopback port, HTTP/1.1 and h2c (prior knowledge and
 * {@code Upgrade: h2c}), with the fake's {@link Faults} in front of its handler.
 *
 * <pre>{@code
 * try (FakeHttpServer server = FakeHttpServer.builder("e2b").handler(new Handler.Sequence(proxy, routes)).start()) {
 *     URI api = server.uri();
 *     server.faults().on("POST", "/v2/sandboxes").respond(429, Map.of("code", 429, "message", "slow down"));
 * }
 * }</pre>
 */
public final class FakeHttpServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(FakeHttpServer.class);

    private final String name;
    private final Server server;
    private final ServerConnector connector;
    private final Faults faults;

    private FakeHttpServer(Builder b) {
        this.name = b.name;
        this.faults = b.faults;
        QueuedThreadPool threads = new QueuedThreadPool(b.maxThreads, 2);
        threads.setName("fake-" + b.name + "-http");
        threads.setDaemon(true);
        this.server = new Server(threads);
        HttpConfiguration config = new HttpConfiguration();
        config.setSendServerVersion(false);
        config.setSendXPoweredBy(false);
        config.setRequestHeaderSize(32 * 1024);
        this.connector = new ServerConnector(server, new HttpConnectionFactory(config),
                new HTTP2CServerConnectionFactory(config));
        connector.setHost(b.host);
        connector.setPort(b.port);
        connector.setIdleTimeout(b.idleTimeout.toMillis());
        server.addConnector(connector);
        server.setHandler(faults.handler(Objects.requireNonNull(b.handler, "a handler is required")));
        server.setStopTimeout(0); // a fake stops at once: open exchanges are cut
    }

    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** The port the server listens on. */
    public int port() {
        return connector.getLocalPort();
    }

    /** {@code http://127.0.0.1:<port>}. */
    public URI uri() {
        return URI.create("http://" + (connector.getHost().contains(":") ? "[" + connector.getHost() + "]"
                : connector.getHost()) + ":" + port());
    }

    public Faults faults() {
        return faults;
    }

    /** Stops the server (open exchanges are cut). Idempotent. */
    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            log.warn("stopping fake {} HTTP server: {}", name, e.toString());
        }
    }

    @Override
    public String toString() {
        return "FakeHttpServer[" + name + ", " + (server.isStarted() ? uri() : "stopped") + "]";
    }

    public static final class Builder {
        private final String name;
        private Handler handler;
        private Faults faults = new Faults();
        private String host = "127.0.0.1";
        private int port;
        private int maxThreads = 64;
        private Duration idleTimeout = Duration.ofMinutes(2);

        private Builder(String name) {
            this.name = Objects.requireNonNull(name);
        }

        public Builder handler(Handler handler) {
            this.handler = handler;
            return this;
        }

        /** Shares a fault list (e.g. with the fake's second server). */
        public Builder faults(Faults faults) {
            this.faults = Objects.requireNonNull(faults);
            return this;
        }

        /** Bind address; default loopback. */
        public Builder host(String host) {
            this.host = host;
            return this;
        }

        /** Port; default 0 = ephemeral. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        public Builder maxThreads(int maxThreads) {
            this.maxThreads = maxThreads;
            return this;
        }

        public Builder idleTimeout(Duration idleTimeout) {
            this.idleTimeout = idleTimeout;
            return this;
        }

        /** Starts listening. */
        public FakeHttpServer start() {
            FakeHttpServer fake = new FakeHttpServer(this);
            try {
                fake.server.start();
            } catch (Exception e) {
                fake.close();
                throw new IllegalStateException("Cannot start the fake " + name + " HTTP server on " + host + ":"
                        + port + ": " + e.getMessage(), e);
            }
            log.info("fake {} listening on {}", name, fake.uri());
            return fake;
        }
    }
}
