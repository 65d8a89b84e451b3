package dev.agentruntime.modal.internal;

import dev.agentruntime.InvalidConfigException;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Opens the gRPC channels to Modal's API and to a worker's command router, with libmodal's settings. */
final class Channels {

    /** libmodal's limits: 100 MiB messages, keepalive ping every 30 s answered within 10 s. */
    static final int MAX_MESSAGE_BYTES = 100 * 1024 * 1024;

    private Channels() {
    }

    /**
     * @param url     {@code https://host[:port]} (TLS, the JDK's trust store or {@code trusted}), or
     *                {@code http://host:port} for a local Modal
     * @param trusted a PEM file of certificates to trust instead of the JDK's
     */
    static ManagedChannel open(URI url, Optional<Path> trusted) {
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        boolean tls = scheme.equals("https");
        if (!tls && !scheme.equals("http") || url.getHost() == null) {
            throw new InvalidConfigException("A Modal endpoint must be https://host[:port], was " + url);
        }
        int port = url.getPort() > 0 ? url.getPort() : tls ? 443 : 80;
        ChannelCredentials credentials;
        if (!tls) {
            credentials = InsecureChannelCredentials.create();
        } else if (trusted.isPresent()) {
            try {
                credentials = TlsChannelCredentials.newBuilder().trustManager(trusted.get().toFile()).build();
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read the trusted certificates " + trusted.get(), e);
            }
        } else {
            credentials = TlsChannelCredentials.create();
        }
        return Grpc.newChannelBuilderForAddress(url.getHost(), port, credentials)
                .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .userAgent("agent-runtime-modal")
                .build();
    }

    static void close(ManagedChannel channel) {
        channel.shutdown();
        try {
            if (!channel.awaitTermination(2, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        } catch (InterruptedException e) {
            channel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
