package dev.agentruntime.spi;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/** Finds blocks of consecutive ports that are currently free, below the Linux ephemeral range. */
final class TestPorts {

    private static final int LOW = 15000;
    private static final int HIGH = 32000; // Linux ephemeral ports start at 32768 by default

    private TestPorts() {
    }

    /** A range of {@code size} consecutive ports that can all be bound on the wildcard address right now. */
    static PortRange freeRange(int size) {
        for (int attempt = 0; attempt < 500; attempt++) {
            int first = LOW + ThreadLocalRandom.current().nextInt(HIGH - LOW - size);
            if (allFree(first, size)) {
                return new PortRange(first, first + size - 1);
            }
        }
        throw new IllegalStateException("no block of " + size + " free ports found in " + LOW + ".." + HIGH);
    }

    private static boolean allFree(int first, int size) {
        for (int port = first; port < first + size; port++) {
            try (ServerSocket socket = new ServerSocket()) {
                socket.setReuseAddress(true);
                socket.bind(new InetSocketAddress(port), 1);
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }
}
