package dev.agentruntime.fake.internal;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;

/**
 * Where the Docker engine listens, for the few calls docker-java cannot make for us: an exec's attached stream must be
 * half-closed to deliver end-of-input to the process, which docker-java's hijacking transport never does. Plain
 * {@code unix://} and {@code tcp://} hosts are supported; TLS engines are not (the fakes run against a local engine).
 */
public record DockerEndpoint(URI uri) {

    public DockerEndpoint {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme();
        if (!scheme.equals("unix") && !scheme.equals("tcp") && !scheme.equals("http")) {
            throw new IllegalArgumentException("Docker host " + uri + " is not supported by the fake sandboxes' exec "
                    + "transport: use a unix:// socket or a plain tcp:// engine (no TLS)");
        }
    }

    /** A new blocking connection to the engine. */
    public SocketChannel connect() throws IOException {
        if (uri.getScheme().equals("unix")) {
            SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                channel.connect(UnixDomainSocketAddress.of(uri.getPath()));
            } catch (IOException e) {
                channel.close();
                throw e;
            }
            return channel;
        }
        int port = uri.getPort() == -1 ? 2375 : uri.getPort();
        SocketChannel channel = SocketChannel.open();
        try {
            channel.connect(new InetSocketAddress(uri.getHost(), port));
            channel.socket().setTcpNoDelay(true);
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        return channel;
    }
}
