package dev.agentruntime.fake.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.ExecCreateCmd;
import com.github.dockerjava.api.command.InspectExecResponse;
import com.github.dockerjava.api.exception.DockerException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/** Docker execs: created through docker-java, started and attached through {@link ExecConnection}. */
public final class Execs {

    private final DockerClient docker;
    private final DockerEndpoint endpoint;

    public Execs(DockerClient docker, DockerEndpoint endpoint) {
        this.docker = docker;
        this.endpoint = endpoint;
    }

    /** A started exec. */
    public record Started(String execId, ExecConnection connection) {
    }

    /** The finished run of a short helper command. */
    public record Result(int code, byte[] stdout, String stderr) {
        public String stdoutText() {
            return new String(stdout, StandardCharsets.UTF_8);
        }
    }

    /** Reading the stdin content given to {@link #run} failed (the client's upload broke, not the engine). */
    public static final class InputFailedException extends IOException {
        InputFailedException(IOException cause) {
            super("reading the input failed: " + cause.getMessage(), cause);
        }
    }

    /** Creates and starts an exec. */
    public Started start(String containerId, List<String> argv, Map<String, String> env, Optional<String> user,
            Optional<String> workdir, boolean stdin, boolean tty) throws IOException {
        List<String> envList = new ArrayList<>();
        env.forEach((k, v) -> envList.add(k + "=" + v));
        ExecCreateCmd create = docker.execCreateCmd(containerId).withCmd(argv.toArray(String[]::new))
                .withEnv(envList).withAttachStdout(true).withAttachStderr(true).withAttachStdin(stdin).withTty(tty);
        user.ifPresent(create::withUser);
        workdir.ifPresent(create::withWorkingDir);
        String execId = create.exec().getId();
        return new Started(execId, ExecConnection.start(endpoint, execId, tty));
    }

    /**
     * The exit code once the engine has recorded it (right after the attached stream ended), or empty when the exec or
     * its container is gone.
     */
    public OptionalInt exitCode(String execId, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        long pause = 1;
        while (true) {
            InspectExecResponse inspect;
            try {
                inspect = docker.inspectExecCmd(execId).exec();
            } catch (DockerException e) {
                return OptionalInt.empty();
            }
            if (!Boolean.TRUE.equals(inspect.isRunning()) && inspect.getExitCodeLong() != null) {
                return OptionalInt.of(inspect.getExitCodeLong().intValue());
            }
            if (System.nanoTime() > deadline) {
                return OptionalInt.empty();
            }
            try {
                Thread.sleep(pause); // polling the engine's record of the exit, with a deadline
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return OptionalInt.empty();
            }
            pause = Math.min(20, pause * 2);
        }
    }

    /**
     * Runs a helper command to its end on the calling thread: feeds {@code stdin} (then end-of-input), streams stdout
     * into {@code stdout} (or captures it when null, up to {@code limit}), captures stderr up to 16 KiB.
     */
    public Result run(String containerId, Optional<String> user, List<String> argv, InputStream stdin,
            OutputStream stdout, int limit) throws IOException {
        Started started = start(containerId, argv, Map.of("LC_ALL", "C"), user, Optional.empty(), stdin != null,
                false);
        ByteArrayOutputStream captured = stdout == null ? new ByteArrayOutputStream() : null;
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        IOException inputFailure = null;
        try (ExecConnection connection = started.connection()) {
            if (stdin != null) {
                byte[] buffer = new byte[64 * 1024];
                try {
                    int n;
                    while ((n = stdin.read(buffer)) > 0) {
                        try {
                            connection.write(buffer, 0, n);
                        } catch (IOException e) {
                            break; // the command stopped reading (it failed): its stderr says why
                        }
                    }
                } catch (IOException e) {
                    inputFailure = new InputFailedException(e);
                }
                try {
                    connection.closeStdin();
                } catch (IOException e) {
                    // the command already ended
                }
            }
            ExecConnection.Chunk chunk;
            while ((chunk = connection.next()) != null) {
                if (chunk.stream() == ExecConnection.STDERR) {
                    if (errors.size() < 16 * 1024) {
                        errors.write(chunk.bytes(), chunk.offset(), chunk.length());
                    }
                } else if (captured != null) {
                    if (captured.size() + chunk.length() > limit) {
                        throw new IOException("helper output exceeds " + limit + " bytes");
                    }
                    captured.write(chunk.bytes(), chunk.offset(), chunk.length());
                } else {
                    stdout.write(chunk.bytes(), chunk.offset(), chunk.length());
                }
            }
        }
        if (inputFailure != null) {
            throw inputFailure;
        }
        int code = exitCode(started.execId(), Duration.ofSeconds(10)).orElse(-1);
        return new Result(code, captured == null ? new byte[0] : captured.toByteArray(),
                errors.toString(StandardCharsets.UTF_8));
    }
}
