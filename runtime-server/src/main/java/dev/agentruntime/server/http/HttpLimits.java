package dev.agentruntime.server.http;

import java.time.Duration;

/**
 * The connection-level limits of {@link Http11Server}. Every field bounds what a peer without the session key can
 * make the server hold: sockets, bytes of request head, time.
 *
 * @param maxConnections   open connections at most; at the cap the oldest connection that has not proven the
 *                         session key (or, failing that, the longest-idle one) is closed to make room, so a client
 *                         with the key always gets in
 * @param maxHeadBytes     request line and headers together; more is {@code 431}
 * @param headTimeout      a request head must arrive completely within this long of its first byte (or of the
 *                         connection's accept): slow heads are closed, however slowly they trickle
 * @param idleTimeout      how long a connection that proved the key may sit idle between requests
 * @param bodyReadTimeout  the longest pause while reading a request body; longer is a closed connection
 * @param writeTimeout     the longest pause while writing a response to a client that does not read
 * @param workerThreads    requests handled at once (more wait in a queue, in order); {@code /alive} and every
 *                         refusal are answered on the selector thread and never wait for a worker
 */
public record HttpLimits(int maxConnections, int maxHeadBytes, Duration headTimeout, Duration idleTimeout,
                         Duration bodyReadTimeout, Duration writeTimeout, int workerThreads) {

    public static final HttpLimits DEFAULTS = new HttpLimits(4096, 16 * 1024, Duration.ofSeconds(10),
            Duration.ofSeconds(600), Duration.ofSeconds(30), Duration.ofSeconds(60), 32);

    public HttpLimits {
        if (maxConnections < 2 || maxHeadBytes < 256 || workerThreads < 1) {
            throw new IllegalArgumentException("maxConnections >= 2, maxHeadBytes >= 256 and workerThreads >= 1");
        }
        for (Duration d : new Duration[] {headTimeout, idleTimeout, bodyReadTimeout, writeTimeout}) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("timeouts must be positive");
            }
        }
    }

    public HttpLimits withMaxConnections(int value) {
        return new HttpLimits(value, maxHeadBytes, headTimeout, idleTimeout, bodyReadTimeout, writeTimeout,
                workerThreads);
    }

    public HttpLimits withHeadTimeout(Duration value) {
        return new HttpLimits(maxConnections, maxHeadBytes, value, idleTimeout, bodyReadTimeout, writeTimeout,
                workerThreads);
    }

    public HttpLimits withWorkerThreads(int value) {
        return new HttpLimits(maxConnections, maxHeadBytes, headTimeout, idleTimeout, bodyReadTimeout, writeTimeout,
                value);
    }
}
