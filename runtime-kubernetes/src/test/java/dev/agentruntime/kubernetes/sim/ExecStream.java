package dev.agentruntime.kubernetes.sim;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ThreadFactory;

/**
 * One {@code exec} as the kubelet streams it over {@code v4.channel.k8s.io} (scenario 9): binary frames whose first
 * byte is the channel (0 stdin, 1 stdout, 2 stderr, 3 status), an empty stdout frame first, then the output, then
 * the status ({@code Success}, or {@code NonZeroExitCode} with the exit code as the cause), then close 1000. The
 * command runs as a Docker exec in the container.
 */
final class ExecStream extends WebSocketListener {

    private final SimDocker docker;
    private final String containerId;
    private final List<String> command;
    private final boolean stdin;
    private final boolean stdout;
    private final boolean stderr;
    private final ThreadFactory threads;
    private PipedOutputStream input;

    ExecStream(SimDocker docker, String containerId, List<String> command, ApiPath request, ThreadFactory threads) {
        this.docker = docker;
        this.containerId = containerId;
        this.command = command;
        this.stdin = request.flag("stdin");
        this.stdout = request.param("stdout").map(v -> !v.equals("false") && !v.equals("0")).orElse(true);
        this.stderr = request.param("stderr").map(v -> !v.equals("false") && !v.equals("0")).orElse(true);
        this.threads = threads;
    }

    @Override
    public void onOpen(WebSocket webSocket, Response response) {
        PipedInputStream in = null;
        if (stdin) {
            try {
                input = new PipedOutputStream();
                in = new PipedInputStream(input, 64 * 1024);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        PipedInputStream stdinStream = in;
        threads.newThread(() -> run(webSocket, stdinStream)).start();
    }

    @Override
    public void onMessage(WebSocket webSocket, byte[] bytes) {
        if (input != null && bytes.length > 0 && bytes[0] == 0) {
            try {
                input.write(bytes, 1, bytes.length - 1);
                input.flush();
            } catch (IOException e) {
                // the command has exited
            }
        }
    }

    @Override
    public void onClosing(WebSocket webSocket, int code, String reason) {
        closeInput();
    }

    private void run(WebSocket ws, PipedInputStream in) {
        send(ws, 1, new byte[0]);
        try {
            String execId = docker.client().execCreateCmd(containerId).withCmd(command.toArray(String[]::new))
                    .withAttachStdout(stdout).withAttachStderr(stderr).withAttachStdin(in != null).exec().getId();
            var start = docker.client().execStartCmd(execId);
            if (in != null) {
                start.withStdIn(in);
            }
            start.exec(new ResultCallback.Adapter<Frame>() {
                @Override
                public void onNext(Frame frame) {
                    send(ws, frame.getStreamType() == StreamType.STDERR ? 2 : 1, frame.getPayload());
                }
            }).awaitCompletion();
            Long exit = docker.client().inspectExecCmd(execId).exec().getExitCodeLong();
            ObjectNode status = Serialization.jsonMapper().createObjectNode();
            status.putObject("metadata");
            if (exit == null || exit == 0) {
                status.put("status", "Success");
            } else {
                status.put("status", "Failure");
                status.put("message", "command terminated with non-zero exit code: error executing command "
                        + "[" + String.join(" ", command) + "], exit code " + exit);
                status.put("reason", "NonZeroExitCode");
                status.putObject("details").putArray("causes").addObject().put("reason", "ExitCode")
                        .put("message", String.valueOf(exit));
            }
            send(ws, 3, status.toString().getBytes(StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            ObjectNode status = Serialization.jsonMapper().createObjectNode();
            status.putObject("metadata");
            status.put("status", "Failure");
            status.put("message", "Internal error occurred: error executing command in container: " + e.getMessage());
            status.put("reason", "InternalError");
            status.putObject("details").putArray("causes").addObject()
                    .put("message", "error executing command in container: " + e.getMessage());
            status.put("code", 500);
            send(ws, 3, status.toString().getBytes(StandardCharsets.UTF_8));
        } finally {
            closeInput();
            ws.close(1000, "");
        }
    }

    private static void send(WebSocket ws, int channel, byte[] data) {
        byte[] frame = new byte[data.length + 1];
        frame[0] = (byte) channel;
        System.arraycopy(data, 0, frame, 1, data.length);
        ws.send(frame);
    }

    private void closeInput() {
        if (input != null) {
            try {
                input.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }
}
