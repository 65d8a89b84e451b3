package dev.agentruntime.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The flood that killed the JDK-HttpServer-based server: thousands of connections without the key that send a request
 * head one byte at a time and never finish it. While the flood runs (reconnecting whatever the server closes, so the
 * pressure never drops), an authenticated client runs {@code echo} actions: every one must be answered. Prints the
 * echo latencies and the server's RSS at the end.
 *
 * <p>CI runs 1,500 connections for 12 s. {@code -Dagent.runtime.hardening.full=true} runs the figure: 5,000
 * connections held for 60 s.
 */
class SlowConnectionsIT {

    private static final boolean FULL = Boolean.getBoolean("agent.runtime.hardening.full");
    private static final int CONNECTIONS = Integer.getInteger("agent.runtime.hardening.connections", FULL ? 5000 : 1500);
    private static final Duration HOLD = Duration.ofSeconds(Long.getLong("agent.runtime.hardening.seconds",
            FULL ? 60 : 12));
    private static final String KEY = "slow-connections-key";

    @Test
    void slowConnectionsWithoutTheKeyNeitherKillTheServerNorStarveAnEcho() throws Exception {
        try (ServerProcess server = ServerProcess.start(Map.of("SESSION_API_KEY", KEY))) {
            assertThat(server.execute("echo warm").content()).isEqualTo("warm");
            Attacker attacker = new Attacker(server.port(), CONNECTIONS);
            Thread flood = new Thread(attacker, "slow-connection-flood");
            flood.setDaemon(true);
            flood.start();
            attacker.awaitConnected(Duration.ofSeconds(60));
            List<Long> latencies = new ArrayList<>();
            long end = System.nanoTime() + HOLD.toNanos();
            int i = 0;
            while (System.nanoTime() < end) {
                long start = System.nanoTime();
                ServerProcess.Obs obs = server.execute("echo under-flood-" + i);
                latencies.add(System.nanoTime() - start);
                assertThat(obs.content()).isEqualTo("under-flood-" + i);
                i++;
                Thread.sleep(50); // the agent's pause between two actions
            }
            int openAtEnd = attacker.open();
            attacker.stop();
            flood.join(10_000);
            long rssKb = rssKb(server.process().pid());
            long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
            System.out.printf("[slow connections] %d slow keyless connections held for %d s (%d open at the end, %d"
                    + " reconnects after the server closed slow heads); %d authenticated echo actions all answered:"
                    + " p50 %.2f ms, p99 %.2f ms, max %.2f ms; server RSS at the end %d MiB%n",
                    CONNECTIONS, HOLD.toSeconds(), openAtEnd, attacker.reconnects.get(), sorted.length,
                    percentile(sorted, 0.50), percentile(sorted, 0.99), sorted[sorted.length - 1] / 1e6, rssKb / 1024);
            assertThat(sorted.length).isGreaterThan(10);
            assertThat(rssKb).as("RSS stays bounded under the flood").isLessThan(256 * 1024);
            assertThat(server.get("/alive").status()).isEqualTo(200);
            assertThat(server.execute("echo after-flood").content()).isEqualTo("after-flood");
        }
    }

    @Test
    void keylessRequestsAreRefusedBeforeTheirBodyIsRead() throws Exception {
        try (ServerProcess server = ServerProcess.start(Map.of("SESSION_API_KEY", KEY))) {
            long rssBefore = rssKb(server.process().pid());
            for (int i = 0; i < 500; i++) {
                try (Socket socket = new Socket("127.0.0.1", server.port())) {
                    socket.setSoTimeout(10_000);
                    OutputStream out = socket.getOutputStream();
                    // a huge declared body that never comes: answered from the head alone
                    out.write(("POST /upload_file?destination=/tmp/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000"
                            + "\r\nContent-Type: multipart/form-data; boundary=b\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    String answer = new String(readHead(socket.getInputStream()), StandardCharsets.ISO_8859_1);
                    assertThat(answer).startsWith("HTTP/1.1 403 ");
                }
            }
            long rssAfter = rssKb(server.process().pid());
            System.out.printf("[slow connections] 500 keyless 1 GB uploads refused from their heads; RSS %d -> %d MiB%n",
                    rssBefore / 1024, rssAfter / 1024);
            assertThat(server.execute("echo fine").content()).isEqualTo("fine");
        }
    }

    @Test
    void largePartialHeadsOnManyConnectionsCannotFillTheHeap() throws Exception {
        try (ServerProcess server = ServerProcess.start(Map.of("SESSION_API_KEY", KEY))) {
            // 3,000 x 15 KB of unfinished heads would be 45 MB, most of the server's 64 MB heap
            byte[] head = ("POST /execute_action HTTP/1.1\r\nHost: x\r\nX-Fill: " + "f".repeat(15_000))
                    .getBytes(StandardCharsets.US_ASCII);
            List<SocketChannel> channels = new ArrayList<>();
            try {
                for (int i = 0; i < 3000; i++) {
                    SocketChannel ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", server.port()));
                    ch.configureBlocking(false);
                    ch.write(ByteBuffer.wrap(head));
                    channels.add(ch);
                    if (i % 500 == 499) {
                        assertThat(server.execute("echo filling-" + i).content()).isEqualTo("filling-" + i);
                    }
                }
                long rssKb = rssKb(server.process().pid());
                System.out.printf("[slow connections] 3,000 connections with 15 KB partial heads: echo answered, RSS"
                        + " %d MiB%n", rssKb / 1024);
                assertThat(server.execute("echo full").content()).isEqualTo("full");
                assertThat(rssKb).isLessThan(256 * 1024);
            } finally {
                for (SocketChannel ch : channels) {
                    ch.close();
                }
            }
        }
    }

    private static byte[] readHead(InputStream in) throws IOException {
        byte[] buffer = new byte[4096];
        int n = 0;
        while (n < buffer.length) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            buffer[n++] = (byte) b;
            if (n >= 4 && buffer[n - 1] == '\n' && buffer[n - 3] == '\n') {
                break;
            }
        }
        return Arrays.copyOf(buffer, n);
    }

    private static double percentile(long[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(sorted.length * p) - 1)] / 1e6;
    }

    private static long rssKb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    /** Keeps {@code count} connections sending a request head one byte per second; reconnects what gets closed. */
    private static final class Attacker implements Runnable {
        private static final byte[] HEAD = "POST /execute_action HTTP/1.1\r\nHost: victim\r\nX-Padding: "
                .getBytes(StandardCharsets.US_ASCII);
        private final InetSocketAddress target;
        private final int count;
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final AtomicLong reconnects = new AtomicLong();
        private final AtomicLong connected = new AtomicLong();
        private final Set<SocketChannel> channels = new HashSet<>();
        private volatile int open;

        Attacker(int port, int count) {
            this.target = new InetSocketAddress("127.0.0.1", port);
            this.count = count;
        }

        int open() {
            return open;
        }

        void stop() {
            running.set(false);
        }

        void awaitConnected(Duration timeout) {
            ServerProcess.awaitCondition(timeout, count + " slow connections", () -> connected.get() >= count);
        }

        @Override
        public void run() {
            ByteBuffer sink = ByteBuffer.allocate(4096);
            ByteBuffer oneByte = ByteBuffer.wrap(new byte[] {'x'});
            try (Selector selector = Selector.open()) {
                for (int i = 0; i < count; i++) {
                    connect(selector);
                }
                long nextTrickle = System.nanoTime();
                while (running.get()) {
                    selector.select(100);
                    for (SelectionKey key : selector.selectedKeys()) {
                        SocketChannel ch = (SocketChannel) key.channel();
                        try {
                            if (key.isConnectable() && ch.finishConnect()) {
                                connected.incrementAndGet();
                                ch.write(ByteBuffer.wrap(HEAD));
                                key.interestOps(SelectionKey.OP_READ);
                            } else if (key.isReadable()) {
                                sink.clear();
                                if (ch.read(sink) < 0) {
                                    replace(selector, key);
                                }
                            }
                        } catch (IOException e) {
                            replace(selector, key);
                        }
                    }
                    selector.selectedKeys().clear();
                    if (System.nanoTime() - nextTrickle >= 0) {
                        nextTrickle = System.nanoTime() + 1_000_000_000L;
                        for (SelectionKey key : new ArrayList<>(selector.keys())) {
                            SocketChannel ch = (SocketChannel) key.channel();
                            if (key.isValid() && ch.isConnected()) {
                                try {
                                    ch.write(oneByte.clear());
                                } catch (IOException e) {
                                    replace(selector, key);
                                }
                            }
                        }
                    }
                    open = (int) channels.stream().filter(SocketChannel::isConnected).count();
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } finally {
                for (SocketChannel ch : channels) {
                    try {
                        ch.close();
                    } catch (IOException ignored) {
                        // closing
                    }
                }
            }
        }

        private void replace(Selector selector, SelectionKey key) {
            key.cancel();
            try {
                key.channel().close();
            } catch (IOException ignored) {
                // closing
            }
            channels.remove((SocketChannel) key.channel());
            reconnects.incrementAndGet();
            if (running.get()) {
                try {
                    connect(selector);
                } catch (IOException ignored) {
                    // out of ports for a moment: the next round tries again
                }
            }
        }

        private void connect(Selector selector) throws IOException {
            SocketChannel ch = SocketChannel.open();
            ch.configureBlocking(false);
            ch.connect(target);
            ch.register(selector, SelectionKey.OP_CONNECT);
            channels.add(ch);
        }
    }
}
