package dev.agentruntime.spi;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.Socket;
import java.net.URI;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedDeque;
import okhttp3.Headers;
import okhttp3.HttpUrl;

/**
 * The action path's HTTP/1.1 client: one small JSON POST and its answer on a kept-alive plain-TCP connection, written
 * and read on the calling thread. Measured against OkHttp on the same server (runtime-bench, breakdown), OkHttp's
 * machinery per call — interceptor chain, call and write timeouts that arm its watchdog thread, connection-pool
 * bookkeeping — cost as much as the server's own HTTP handling; here the only timeout is the socket's, which the
 * kernel keeps.
 *
 * <p>Used for plain {@code http://} endpoints that no proxy applies to; everything else (TLS, proxies, streams,
 * transfers) stays on OkHttp. Same rules as the OkHttp client it stands beside: a connection idle longer than
 * {@link ActionServerClient#POOL_KEEP_ALIVE} is not reused (servers close idle connections after 5 s), a request is
 * never re-sent once it may have reached the server, and the overall deadline bounds the wait for the answer.
 */
final class LeanHttp implements AutoCloseable {

    /** An answer: status, headers, the body as text. */
    record Answer(int code, Headers headers, String body) {
        String header(String name) {
            return headers.get(name);
        }
    }

    private static final int MAX_IDLE = 4;
    private static final int CONNECT_TIMEOUT_MILLIS = 5_000;
    private static final int MAX_HEAD_BYTES = 64 * 1024;

    private final String host;
    private final int port;
    private final String hostHeader;
    private final byte[] fixedHeaders;
    private final long keepAliveNanos;
    private final ConcurrentLinkedDeque<Connection> idle = new ConcurrentLinkedDeque<>();
    private volatile boolean closed;

    /**
     * @param headers headers sent with every request (the session key, the endpoint's own); never logged
     */
    LeanHttp(HttpUrl base, List<String[]> headers, long keepAliveNanos) {
        this.host = base.host();
        this.port = base.port();
        String hostValue = (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        StringBuilder block = new StringBuilder();
        for (String[] header : headers) {
            if (header[0].equalsIgnoreCase("Host")) {
                hostValue = header[1]; // the endpoint names the virtual host (a tunnel), as OkHttp lets it
                continue;
            }
            block.append(header[0]).append(": ").append(header[1]).append("\r\n");
        }
        this.hostHeader = hostValue;
        this.fixedHeaders = block.toString().getBytes(StandardCharsets.UTF_8);
        this.keepAliveNanos = keepAliveNanos;
    }

    /** Whether requests to {@code base} may go this way: plain HTTP, and the JVM's proxy settings say direct. */
    static boolean usable(HttpUrl base) {
        if (!base.scheme().equals("http")) {
            return false;
        }
        try {
            ProxySelector selector = ProxySelector.getDefault();
            if (selector == null) {
                return true;
            }
            List<Proxy> proxies = selector.select(URI.create("http://" + base.host() + ":" + base.port() + "/"));
            return proxies.isEmpty() || proxies.stream().allMatch(p -> p.type() == Proxy.Type.DIRECT);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * POSTs {@code json} to {@code encodedPath} and reads the answer, by {@code deadlineNanos} (a
     * {@link System#nanoTime()} value) at the latest.
     *
     * @throws java.net.ConnectException   nothing reached the server (safe to try again)
     * @throws java.net.SocketTimeoutException the deadline passed waiting for the answer
     * @throws IOException                 the connection broke: the request may or may not have been handled
     */
    Answer post(String encodedPath, byte[] json, long deadlineNanos) throws IOException {
        if (closed) {
            throw new IOException("client closed");
        }
        Connection c = take();
        boolean reusable = false;
        try {
            c.write(request(encodedPath, json));
            Answer answer = c.read(deadlineNanos);
            reusable = c.keepAlive;
            return answer;
        } finally {
            if (reusable && !closed) {
                c.idleSince = System.nanoTime();
                idle.offerFirst(c);
                while (idle.size() > MAX_IDLE) {
                    Connection extra = idle.pollLast();
                    if (extra != null) {
                        extra.close();
                    }
                }
            } else {
                c.close();
            }
        }
    }

    private byte[] request(String encodedPath, byte[] json) {
        byte[] start = ("POST " + encodedPath + " HTTP/1.1\r\nHost: " + hostHeader
                + "\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: " + json.length + "\r\n")
                .getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[start.length + fixedHeaders.length + 2 + json.length];
        System.arraycopy(start, 0, all, 0, start.length);
        System.arraycopy(fixedHeaders, 0, all, start.length, fixedHeaders.length);
        all[start.length + fixedHeaders.length] = '\r';
        all[start.length + fixedHeaders.length + 1] = '\n';
        System.arraycopy(json, 0, all, start.length + fixedHeaders.length + 2, json.length);
        return all;
    }

    /** The most recently used idle connection still young enough, else a new one. */
    private Connection take() throws IOException {
        long now = System.nanoTime();
        Connection c;
        while ((c = idle.pollFirst()) != null) {
            if (now - c.idleSince < keepAliveNanos && c.stillOpen()) {
                return c;
            }
            c.close();
        }
        SocketChannel channel = SocketChannel.open();
        try {
            channel.socket().setTcpNoDelay(true);
            channel.socket().connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MILLIS);
            return new Connection(channel);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    @Override
    public void close() {
        closed = true;
        Connection c;
        while ((c = idle.pollFirst()) != null) {
            c.close();
        }
    }

    /** One kept-alive connection; used by one call at a time. */
    private static final class Connection {
        final SocketChannel channel;
        final Socket socket;
        final InputStream in;
        final OutputStream out;
        long idleSince;
        boolean keepAlive;

        Connection(SocketChannel channel) throws IOException {
            this.channel = channel;
            this.socket = channel.socket();
            this.in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
            this.out = socket.getOutputStream();
        }

        /**
         * Whether the server has not closed this idle connection (nor sent anything unasked): one non-blocking read,
         * a few microseconds. OkHttp trusts a connection idle for less than 10 s; a server that closed it sooner
         * would make the next POST fail as a broken connection after it may have been sent. Here it is not sent.
         */
        boolean stillOpen() {
            try {
                channel.configureBlocking(false);
                try {
                    return channel.read(java.nio.ByteBuffer.allocate(1)) == 0;
                } finally {
                    channel.configureBlocking(true);
                }
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }

        void write(byte[] request) throws IOException {
            out.write(request);
            out.flush();
        }

        Answer read(long deadlineNanos) throws IOException {
            long left = (deadlineNanos - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new java.net.SocketTimeoutException("deadline passed before the answer");
            }
            socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, left));
            int[] headBudget = {MAX_HEAD_BYTES};
            String status = line(headBudget);
            if (!status.startsWith("HTTP/1.")) {
                throw new IOException("not an HTTP/1.x answer: " + abbreviate(status));
            }
            int space = status.indexOf(' ');
            int code;
            try {
                code = Integer.parseInt(status.substring(space + 1, Math.min(status.length(), space + 4)));
            } catch (RuntimeException e) {
                throw new IOException("bad HTTP status line: " + abbreviate(status));
            }
            boolean http10 = status.startsWith("HTTP/1.0");
            Headers.Builder headers = new Headers.Builder();
            long length = -1;
            boolean chunked = false;
            boolean close = http10;
            String line;
            while (!(line = line(headBudget)).isEmpty()) {
                int colon = line.indexOf(':');
                if (colon <= 0) {
                    throw new IOException("bad HTTP header line: " + abbreviate(line));
                }
                String name = line.substring(0, colon).trim();
                String value = line.substring(colon + 1).trim();
                headers.addUnsafeNonAscii(name, value);
                String lower = name.toLowerCase(Locale.ROOT);
                if (lower.equals("content-length")) {
                    try {
                        length = Long.parseLong(value);
                    } catch (NumberFormatException e) {
                        throw new IOException("bad Content-Length: " + abbreviate(value));
                    }
                } else if (lower.equals("transfer-encoding")) {
                    chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                } else if (lower.equals("connection")) {
                    String v = value.toLowerCase(Locale.ROOT);
                    close = v.contains("close") || (http10 && !v.contains("keep-alive"));
                }
            }
            if (code / 100 == 1) {
                throw new IOException("unexpected interim answer HTTP " + code);
            }
            byte[] body;
            if (code == 204 || code == 304) {
                body = new byte[0];
            } else if (chunked) {
                body = chunked();
            } else if (length >= 0) {
                if (length > Integer.MAX_VALUE - 16) {
                    throw new IOException("answer too large: " + length + " bytes");
                }
                body = in.readNBytes((int) length);
                if (body.length < length) {
                    throw new EOFException("connection closed after " + body.length + " of " + length + " bytes");
                }
            } else {
                body = in.readAllBytes(); // delimited by the end of the connection
                close = true;
            }
            keepAlive = !close;
            return new Answer(code, headers.build(), new String(body, StandardCharsets.UTF_8));
        }

        private byte[] chunked() throws IOException {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            int[] budget = {MAX_HEAD_BYTES};
            while (true) {
                String size = line(budget);
                int semi = size.indexOf(';');
                long n;
                try {
                    n = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                } catch (NumberFormatException e) {
                    throw new IOException("bad chunk size: " + abbreviate(size));
                }
                if (n == 0) {
                    while (!line(budget).isEmpty()) {
                        // trailers: ignored
                    }
                    return body.toByteArray();
                }
                byte[] chunk = in.readNBytes((int) n);
                if (chunk.length < n) {
                    throw new EOFException("connection closed inside a chunk");
                }
                body.writeBytes(chunk);
                line(budget); // the CRLF after the chunk
                budget[0] = MAX_HEAD_BYTES;
            }
        }

        private String line(int[] budget) throws IOException {
            StringBuilder line = new StringBuilder(64);
            int b;
            while ((b = in.read()) >= 0) {
                if (--budget[0] < 0) {
                    throw new IOException("answer head larger than " + MAX_HEAD_BYTES + " bytes");
                }
                if (b == '\n') {
                    int end = line.length();
                    return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
                }
                line.append((char) b); // ISO-8859-1, as HTTP heads are
            }
            throw new EOFException("connection closed before the answer was complete");
        }

        void close() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing
            }
        }

        private static String abbreviate(String text) {
            return text.length() > 200 ? text.substring(0, 200) + "..." : text;
        }
    }
}
