package dev.agentruntime.docker.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.transport.DockerHttpClient;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.docker.DockerRuntimeConfig;
import java.net.URI;
import java.time.Duration;

/**
 * Opens docker-java clients: docker-java's default configuration ({@code DOCKER_HOST}, {@code DOCKER_CONTEXT} and
 * the current context in {@code ~/.docker/config.json}, {@code DOCKER_TLS_VERIFY}, {@code DOCKER_CERT_PATH}),
 * overridden by an explicit endpoint or certificate directory, over the zerodep transport.
 */
public final class DockerClients {

    private DockerClients() {
    }

    /** A client and whether we own it (and so must close it). */
    public record Handle(DockerClient client, boolean owned, URI dockerHost) implements AutoCloseable {
        @Override
        public void close() {
            if (owned) {
                try {
                    client.close();
                } catch (java.io.IOException | RuntimeException ignored) {
                    // closing a connection pool
                }
            }
        }
    }

    /** The configured client, or a new one from docker-java's defaults plus the explicit settings. */
    public static Handle open(DockerRuntimeConfig config) {
        if (config.dockerClient().isPresent()) {
            DockerClient client = config.dockerClient().get();
            return new Handle(client, false, config.dockerHost().orElse(URI.create("unix:///var/run/docker.sock")));
        }
        DefaultDockerClientConfig.Builder builder = DefaultDockerClientConfig.createDefaultConfigBuilder();
        config.dockerHost().ifPresent(host -> builder.withDockerHost(host.toString()));
        config.tlsCertPath().ifPresent(path -> builder.withDockerTlsVerify(true).withDockerCertPath(path.toString()));
        DockerClientConfig clientConfig;
        try {
            clientConfig = builder.build();
        } catch (RuntimeException e) {
            throw new RuntimeUnavailableException("Cannot configure the Docker connection (DOCKER_HOST, "
                    + "DOCKER_CONTEXT, ~/.docker/config.json): " + e.getMessage(), e);
        }
        DockerHttpClient http = new ZerodepDockerHttpClient.Builder()
                .dockerHost(clientConfig.getDockerHost())
                .sslConfig(clientConfig.getSSLConfig())
                .maxConnections(64)
                .connectionTimeout(Duration.ofSeconds(10))
                .build();
        return new Handle(DockerClientImpl.getInstance(clientConfig, http), true, clientConfig.getDockerHost());
    }
}
