package dev.agentruntime.bench;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.ExecCreateCmdResponse;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * docker-java's exec API used directly, the way a Java program without a sandbox server runs a command in a
 * container: create the exec, start it attached, collect the frames, inspect the exit code. The same steps as
 * Testcontainers' {@code execInContainer}, minus its wrapper.
 */
final class DockerExec implements AutoCloseable {

    /** The result of one exec. */
    record Result(long exitCode, String output) {
    }

    private final DockerClient client;

    private DockerExec(DockerClient client) {
        this.client = client;
    }

    /** A client of docker-java's default configuration on the zerodep transport, as the Docker backend uses. */
    static DockerExec open() {
        DockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder().build();
        ZerodepDockerHttpClient http = new ZerodepDockerHttpClient.Builder()
                .dockerHost(config.getDockerHost())
                .sslConfig(config.getSSLConfig())
                .maxConnections(64)
                .connectionTimeout(Duration.ofSeconds(10))
                .build();
        return new DockerExec(DockerClientImpl.getInstance(config, http));
    }

    DockerClient client() {
        return client;
    }

    Result exec(String containerId, String... command) throws InterruptedException {
        ExecCreateCmdResponse created = client.execCreateCmd(containerId).withCmd(command)
                .withAttachStdout(true).withAttachStderr(true).exec();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean done = client.execStartCmd(created.getId()).exec(new ResultCallback.Adapter<Frame>() {
            @Override
            public void onNext(Frame frame) {
                synchronized (out) {
                    out.writeBytes(frame.getPayload());
                }
            }
        }).awaitCompletion(60, TimeUnit.SECONDS);
        if (!done) {
            throw new IllegalStateException("docker exec " + String.join(" ", command) + " did not finish in 60 s");
        }
        Long code = client.inspectExecCmd(created.getId()).exec().getExitCodeLong();
        synchronized (out) {
            return new Result(code == null ? -1 : code, out.toString(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    /**
     * The memory of the java processes in a container, read with an exec (so the server under test does no work):
     * {@code pid N} lines followed by that process's memory lines from {@code /proc/N/status}.
     */
    ProcStatus javaStatus(String containerId) throws InterruptedException {
        String script = "for d in /proc/[0-9]*; do if [ \"$(cat $d/comm 2>/dev/null)\" = java ]; then "
                + "grep -E '^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem):' $d/status; fi; done";
        Result result = exec(containerId, "sh", "-c", script);
        ProcStatus status = ProcStatus.parse(result.output());
        if (result.exitCode() != 0 || Double.isNaN(status.rssMib())) {
            throw new IllegalStateException("no java process found in container " + containerId + ": "
                    + result.output());
        }
        if (result.output().split("VmRSS").length > 2) {
            throw new IllegalStateException("more than one java process in container " + containerId);
        }
        return status;
    }

    @Override
    public void close() {
        try {
            client.close();
        } catch (java.io.IOException e) {
            // closing a connection pool
        }
    }
}
