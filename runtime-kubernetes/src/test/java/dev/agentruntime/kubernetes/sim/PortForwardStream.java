package dev.agentruntime.kubernetes.sim;

import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.ThreadFactory;

/**
 * A port-forward as the API server relays it over a {@code v4.channel.k8s.io} websocket (scenario 9): for the one
 * forwarded port, data channel 0 and error channel 1 each start with the port as two little-endian bytes; bytes sent
 * on channel 0 reach the pod's port (here: a TCP connection to the pod IP) and its answers come back on channel 0.
 */
final class PortForwardStream extends WebSocketListener {

    private final String podIp;
    private final List<Integer> ports;
    private final ThreadFactory threads;
    private volatile Socket socket;

    PortForwardStream(String podIp, List<Integer> ports, ThreadFactory threads) {
        this.podIp = podIp;
        this.ports = ports;
        this.threads = threads;
    }

    @Override
    public void onOpen(WebSocket webSocket, Response response) {
        int port = ports.isEmpty() ? 0 : ports.get(0);
        byte[] header = {(byte) (port & 0xff), (byte) ((port >> 8) & 0xff)};
        send(webSocket, 0, header, header.length);
        send(webSocket, 1, header, header.length);
        // the pod IP is on this host's bridge: connecting takes microseconds, so it is done before any data frame
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(podIp, port), 2000);
        } catch (IOException e) {
            byte[] message = ("error forwarding port " + port + " to pod: " + e.getMessage())
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8);
            send(webSocket, 1, message, message.length);
            webSocket.close(1000, "");
            return;
        }
        socket = s;
        threads.newThread(() -> pump(webSocket, s, port)).start();
    }

    private void pump(WebSocket ws, Socket connected, int port) {
        try (Socket s = connected) {
            InputStream in = s.getInputStream();
            byte[] buffer = new byte[16 * 1024];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                send(ws, 0, buffer, n);
            }
        } catch (IOException e) {
            byte[] message = ("error forwarding port " + port + " to pod: " + e.getMessage())
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8);
            send(ws, 1, message, message.length);
        } finally {
            ws.close(1000, "");
        }
    }

    @Override
    public void onMessage(WebSocket webSocket, byte[] bytes) {
        if (bytes.length <= 1 || bytes[0] != 0) {
            return;
        }
        Socket s = socket;
        if (s == null) {
            return;
        }
        try {
            OutputStream out = s.getOutputStream();
            out.write(bytes, 1, bytes.length - 1);
            out.flush();
        } catch (IOException e) {
            // the pod closed the connection
        }
    }

    @Override
    public void onClosing(WebSocket webSocket, int code, String reason) {
        Socket s = socket;
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    private static void send(WebSocket ws, int channel, byte[] data, int length) {
        byte[] frame = new byte[length + 1];
        frame[0] = (byte) channel;
        System.arraycopy(data, 0, frame, 1, length);
        ws.send(frame);
    }
}
