package dev.agentruntime.bench;

import dev.agentruntime.spi.ServerEndpoint;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * HTTP/1.1 to our server over one kept-alive socket, written and read by hand on the calling thread: no OkHttp, no
 * Jackson, no interceptors, no call timeout watchdog. Used to take a round trip apart (client side vs server side).
 */
final class RawHttp implements AutoCloseable {

    /** One answer: status and body. */
    record Answer(int status, String body) {
    }

    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;
    private final String host;
    private final String headers;
    private final String prefix;

    RawHttp(ServerEndpoint endpoint) {
        var url = endpoint.baseUrl();
        this.host = url.getHost() + ":" + url.getPort();
        String path = url.getPath() == null ? "" : url.getPath();
        this.prefix = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        StringBuilder h = new StringBuilder();
        endpoint.sessionApiKey().ifPresent(key ->
                h.append(ServerEndpoint.SESSION_KEY_HEADER).append(": ").append(key.reveal()).append("\r\n"));
        for (ServerEndpoint.Header header : endpoint.headers()) {
            h.append(header.name()).append(": ").append(header.value().reveal()).append("\r\n");
        }
        this.headers = h.toString();
        try {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(url.getHost(), url.getPort()), 5000);
            socket.setSoTimeout(60_000);
            out = socket.getOutputStream();
            in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot connect to " + url, e);
        }
    }

    Answer get(String path) {
        return exchange("GET " + prefix + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + headers + "\r\n", null);
    }

    Answer post(String path, byte[] json) {
        return exchange("POST " + prefix + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + headers
                + "Content-Type: application/json\r\nContent-Length: " + json.length + "\r\n\r\n", json);
    }

    private Answer exchange(String head, byte[] body) {
        try {
            byte[] headBytes = head.getBytes(StandardCharsets.UTF_8);
            if (body == null) {
                out.write(headBytes);
            } else {
                byte[] all = new byte[headBytes.length + body.length];
                System.arraycopy(headBytes, 0, all, 0, headBytes.length);
                System.arraycopy(body, 0, all, headBytes.length, body.length);
                out.write(all);
            }
            out.flush();
            String status = line();
            int code = Integer.parseInt(status.split(" ")[1]);
            int length = -1;
            String line;
            while (!(line = line()).isEmpty()) {
                String lower = line.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) {
                    length = Integer.parseInt(line.substring(15).trim());
                } else if (lower.startsWith("transfer-encoding:")) {
                    throw new IllegalStateException("RawHttp reads Content-Length bodies only, got " + line);
                }
            }
            if (length < 0) {
                throw new IllegalStateException("no Content-Length in the answer to " + head.lines().findFirst()
                        .orElse(""));
            }
            byte[] bytes = in.readNBytes(length);
            return new Answer(code, new String(bytes, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("raw HTTP: " + e.getMessage(), e);
        }
    }

    private String line() throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                int end = line.length();
                return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
            }
            line.append((char) c);
        }
        throw new IOException("connection closed");
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
