package dev.agentruntime.gateway;

import dev.agentruntime.gateway.internal.AccessLog;
import dev.agentruntime.gateway.internal.Api;
import dev.agentruntime.gateway.internal.Metrics;
import dev.agentruntime.gateway.internal.ProxyRoutes;
import dev.agentruntime.gateway.internal.Reaper;
import dev.agentruntime.gateway.internal.Sessions;
import dev.agentruntime.gateway.internal.Signer;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runtime gateway: OpenHands' Remote Runtime API on Jetty, in front of the backend the config names, with the
 * sandboxes' action-server traffic proxied in path mode. Run it with {@code java -jar runtime-gateway.jar --config
 * gateway.properties} ({@link GatewayMain}), or embed it:
 *
 * <pre>{@code
 * try (Gateway gateway = Gateway.start(GatewayConfig.builder().port(0).secret(secret)
 *         .key("alice", aliceKey, 10, Duration.ofMinutes(30)).build())) {
 *     URI api = gateway.uri();   // point the remote backend (api.url) or OpenHands (SANDBOX_REMOTE_RUNTIME_API_URL) at it
 * }
 * }</pre>
 *
 * It keeps no session state: see {@link dev.agentruntime.gateway.internal.Sessions}.
 */
public final class Gateway implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Gateway.class);

    private final GatewayConfig config;
    private final Server server;
    private final ServerConnector connector;
    private final Sessions sessions;
    private final Reaper reaper;

    private Gateway(GatewayConfig config) {
        this.config = config;
        Metrics metrics = new Metrics();
        this.sessions = new Sessions(config, new Signer(config));
        ProxyRoutes routes = new ProxyRoutes(sessions, metrics);
        this.reaper = new Reaper(config, sessions, routes, metrics);

        QueuedThreadPool pool = new QueuedThreadPool(256, 8);
        pool.setName("agent-runtime-gateway");
        pool.setDaemon(true);
        server = new Server(pool);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendDateHeader(false);
        connector = new ServerConnector(server, new HttpConnectionFactory(http));
        connector.setHost(config.host());
        connector.setPort(config.port());
        // a proxied action is silent until it ends: the client connection must outlive the longest action
        connector.setIdleTimeout(config.proxyIdleTimeout().toMillis());
        server.addConnector(connector);
        server.setRequestLog(new AccessLog());
        server.setStopTimeout(5_000);
        Handler metricsHandler = new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                if (!Request.getPathInContext(request).equals("/metrics") || !request.getMethod().equals("GET")) {
                    return false;
                }
                byte[] text = metrics.scrape(() -> sessionCounts()).getBytes(StandardCharsets.UTF_8);
                response.setStatus(200);
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                response.write(true, ByteBuffer.wrap(text), callback);
                return true;
            }
        };
        server.setHandler(new Handler.Sequence(metricsHandler, routes.proxy(config.proxyIdleTimeout()),
                new Api(config, sessions, metrics)));
    }

    private Map<String, Long> sessionCounts() {
        Map<String, Long> counts = new LinkedHashMap<>();
        for (GatewayConfig.ApiKey key : config.keys()) {
            for (String state : Set.of("running", "paused", "stopped", "starting")) {
                counts.put("tenant=\"" + key.name() + "\",state=\"" + state + "\"", 0L);
            }
        }
        for (Sessions.Session session : sessions.all()) {
            counts.merge("tenant=\"" + session.tenant() + "\",state=\"" + session.status() + "\"", 1L, Long::sum);
        }
        return counts;
    }

    /** Starts a gateway; {@link #close()} stops it (its sessions stay on the backend). */
    public static Gateway start(GatewayConfig config) {
        Gateway gateway = new Gateway(config);
        try {
            gateway.server.start();
        } catch (Exception e) {
            gateway.close();
            throw new IllegalStateException("The gateway could not listen on " + config.host() + ":" + config.port()
                    + ": " + e.getMessage(), e);
        }
        gateway.reaper.start();
        log.info("runtime gateway listening on {} (backend {}, {} API keys)", gateway.uri(), config.backendType(),
                config.keys().size());
        return gateway;
    }

    /** The port it listens on (the picked one when configured with 0). */
    public int port() {
        return connector.getLocalPort();
    }

    /** The configured public URL, else {@code http://<listen host or 127.0.0.1>:<port>}. */
    public URI uri() {
        return config.publicUrl().orElseGet(() -> URI.create("http://"
                + (config.host().equals("0.0.0.0") || config.host().isEmpty() ? "127.0.0.1" : config.host())
                + ":" + port()));
    }

    /** Runs one reaping round now (the timer does it every {@code reap.interval}); for tests and operators. */
    public Set<String> reapNow() {
        return reaper.reap();
    }

    public void join() throws InterruptedException {
        server.join();
    }

    @Override
    public void close() {
        reaper.close();
        try {
            server.stop();
        } catch (Exception e) {
            log.warn("stopping the gateway's server failed: {}", e.toString());
        }
        sessions.close();
    }
}
