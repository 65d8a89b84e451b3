package dev.agentruntime.modal.internal;

import com.google.protobuf.ByteString;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.modal.internal.proto.TaskCommandRouterGrpc;
import dev.agentruntime.modal.internal.proto.TaskExecStartRequest;
import dev.agentruntime.modal.internal.proto.TaskExecStderrConfig;
import dev.agentruntime.modal.internal.proto.TaskExecStdinWriteRequest;
import dev.agentruntime.modal.internal.proto.TaskExecStdioFileDescriptor;
import dev.agentruntime.modal.internal.proto.TaskExecStdioReadRequest;
import dev.agentruntime.modal.internal.proto.TaskExecStdioReadResponse;
import dev.agentruntime.modal.internal.proto.TaskExecStdoutConfig;
import dev.agentruntime.modal.internal.proto.TaskExecWaitRequest;
import dev.agentruntime.modal.internal.proto.TaskExecWaitResponse;
import dev.agentruntime.modal.internal.proto.TaskGetCommandRouterAccessResponse;
import dev.agentruntime.spi.Retry;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.thirdparty.SandboxCommands;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exec and upload in a Modal sandbox through its worker's Task Command Router, as Modal's current SDKs do: the URL
 * and a JWT from {@code TaskGetCommandRouterAccess}, a second gRPC channel with {@code authorization: Bearer <jwt>}
 * (fetched again near its expiry or when refused), {@code TaskExecStart} with an exec id chosen here (so a retried
 * start starts one process), stdin by {@code TaskExecStdinWrite} at explicit offsets, output by
 * {@code TaskExecStdioRead} streams that are reopened at the byte offset already received when they break, and the
 * exit by {@code TaskExecWait}. Files go up as {@code cat > path} with the file as stdin.
 */
public final class CommandRouter implements SandboxCommands, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CommandRouter.class);
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization",
            Metadata.ASCII_STRING_MARSHALLER);
    private static final CallOptions.Key<String> JWT_OPTION = CallOptions.Key.create("modal-router-jwt");
    /** Stdin chunk per TaskExecStdinWrite (well under the 4 MiB a gRPC server takes by default). */
    static final int STDIN_CHUNK = 1024 * 1024;
    /** Output kept per stream; the rest is read and dropped. */
    static final int OUTPUT_LIMIT = 8 * 1024 * 1024;
    /** libmodal's TaskExecWait slice: one call waits at most this long, then it is asked again. */
    private static final Duration WAIT_SLICE = Duration.ofSeconds(60);
    private static final int STREAM_RESUMES = 10;

    private final ModalApi api;
    private final String sandboxId;
    private final String taskId;
    private final ManagedChannel channel;
    private final TaskCommandRouterGrpc.TaskCommandRouterBlockingStub stub;
    private final TokenCache jwt;
    private final AtomicLong resumes = new AtomicLong();

    public CommandRouter(ModalApi api, String sandboxId, String taskId, Instant deadline) {
        this.api = api;
        this.sandboxId = sandboxId;
        this.taskId = taskId;
        TaskGetCommandRouterAccessResponse access = api.commandRouterAccess(taskId, sandboxId, deadline);
        URI url = URI.create(access.getUrl());
        if (!"https".equalsIgnoreCase(url.getScheme()) && !api.config().plaintext()) {
            throw new dev.agentruntime.BackendException("Modal gave the command router of sandbox " + sandboxId
                    + " a non-https URL (" + url + "); refusing to send the JWT over it.");
        }
        String first = access.getJwt();
        boolean[] used = {false};
        this.jwt = new TokenCache("Modal command router of " + sandboxId, () -> {
            if (!used[0]) {
                used[0] = true;
                return first;
            }
            return api.commandRouterAccess(taskId, sandboxId, Instant.now().plus(api.config().callTimeout()))
                    .getJwt();
        }, Clock.systemUTC());
        this.channel = Channels.open(url, api.config().trustedCertificates());
        this.stub = TaskCommandRouterGrpc.newBlockingStub(ClientInterceptors.intercept(channel, new Bearer()));
    }

    /** How often an output stream was reopened at an offset (for tests and logs). */
    public long streamResumes() {
        return resumes.get();
    }

    @Override
    public Result run(String command, Duration timeout) {
        return exec(List.of("bash", "-c", command), null, timeout);
    }

    @Override
    public void upload(Path hostFile, String sandboxPath) {
        String parent = sandboxPath.substring(0, Math.max(1, sandboxPath.lastIndexOf('/')));
        String command = "mkdir -p " + ServerLaunch.shellQuote(parent) + " && cat > "
                + ServerLaunch.shellQuote(sandboxPath);
        try (InputStream in = Files.newInputStream(hostFile)) {
            Result result = exec(List.of("bash", "-c", command), in, Duration.ofMinutes(10));
            if (!result.ok()) {
                throw new dev.agentruntime.BackendException("Modal sandbox " + sandboxId + ": writing " + sandboxPath
                        + " failed (exit code " + result.exitCode() + "): " + result.output());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + hostFile + " to upload it to Modal sandbox " + sandboxId, e);
        }
    }

    /**
     * Runs {@code argv} to its end: stdin from {@code stdin} (null: none, closed at once), stdout and stderr
     * collected.
     */
    public Result exec(List<String> argv, InputStream stdin, Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        String execId = UUID.randomUUID().toString();
        TaskExecStartRequest start = TaskExecStartRequest.newBuilder().setTaskId(taskId).setExecId(execId)
                .addAllCommandArgs(argv)
                .setStdoutConfig(TaskExecStdoutConfig.TASK_EXEC_STDOUT_CONFIG_PIPE)
                .setStderrConfig(TaskExecStderrConfig.TASK_EXEC_STDERR_CONFIG_PIPE)
                .setTimeoutSecs((int) Math.max(1, (timeout.toMillis() + 999) / 1000)).build();
        call("TaskExecStart", deadline, s -> s.taskExecStart(start)); // idempotent by exec id: retried safely
        writeStdin(execId, stdin, deadline);
        byte[] out = read(execId, TaskExecStdioFileDescriptor.TASK_EXEC_STDIO_FILE_DESCRIPTOR_STDOUT, deadline);
        byte[] err = read(execId, TaskExecStdioFileDescriptor.TASK_EXEC_STDIO_FILE_DESCRIPTOR_STDERR, deadline);
        int code = waitFor(execId, deadline, argv);
        return new Result(code, new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    private void writeStdin(String execId, InputStream stdin, Instant deadline) {
        long offset = 0;
        if (stdin != null) {
            byte[] buffer = new byte[STDIN_CHUNK];
            try {
                int n;
                while ((n = stdin.readNBytes(buffer, 0, buffer.length)) > 0) {
                    long at = offset;
                    ByteString data = ByteString.copyFrom(buffer, 0, n);
                    // idempotent by offset: a retried chunk the router already has is not written twice
                    call("TaskExecStdinWrite", deadline, s -> s.taskExecStdinWrite(TaskExecStdinWriteRequest
                            .newBuilder().setTaskId(taskId).setExecId(execId).setOffset(at).setData(data).build()));
                    offset += n;
                }
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read the input for an exec in Modal sandbox " + sandboxId, e);
            }
        }
        long end = offset;
        call("TaskExecStdinWrite", deadline, s -> s.taskExecStdinWrite(TaskExecStdinWriteRequest.newBuilder()
                .setTaskId(taskId).setExecId(execId).setOffset(end).setEof(true).build()));
    }

    /** One output stream to its end, reopened at the offset received so far when it breaks. */
    byte[] read(String execId, TaskExecStdioFileDescriptor fd, Instant deadline) {
        ByteArrayOutputStream kept = new ByteArrayOutputStream();
        long offset = 0;
        int failures = 0;
        while (true) {
            String token = jwt.get();
            try {
                Iterator<TaskExecStdioReadResponse> stream = withJwt(token, deadline, true).taskExecStdioRead(
                        TaskExecStdioReadRequest.newBuilder().setTaskId(taskId).setExecId(execId).setOffset(offset)
                                .setFileDescriptor(fd).build());
                while (stream.hasNext()) {
                    ByteString data = stream.next().getData();
                    if (kept.size() < OUTPUT_LIMIT) {
                        int room = OUTPUT_LIMIT - kept.size();
                        data.substring(0, Math.min(room, data.size())).writeTo(kept);
                    }
                    offset += data.size();
                }
                return kept.toByteArray();
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Status.Code.UNAUTHENTICATED) {
                    jwt.invalidate(token);
                }
                AgentRuntimeException mapped = ModalErrors.map("TaskExecStdioRead", sandboxId, e);
                boolean again = mapped.isTransient() || e.getStatus().getCode() == Status.Code.UNAUTHENTICATED;
                if (e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED && Instant.now().isAfter(deadline)) {
                    throw new RuntimeTimeoutException("Modal sandbox " + sandboxId + ": the command did not end"
                            + " within its timeout", e);
                }
                if (!again || ++failures > STREAM_RESUMES || Instant.now().isAfter(deadline)) {
                    throw mapped;
                }
                resumes.incrementAndGet();
                log.debug("Modal sandbox {}: the {} stream of exec {} broke at offset {} ({}); resuming", sandboxId,
                        fd, execId, offset, e.getStatus().getCode());
                backOff(failures);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // writing to a ByteArrayOutputStream
            }
        }
    }

    private int waitFor(String execId, Instant deadline, List<String> argv) {
        while (true) {
            Instant slice = earliest(deadline, Instant.now().plus(WAIT_SLICE));
            try {
                TaskExecWaitResponse done = withJwt(jwt.get(), slice, true).taskExecWait(TaskExecWaitRequest
                        .newBuilder().setTaskId(taskId).setExecId(execId).build());
                return switch (done.getExitStatusCase()) {
                    case CODE -> done.getCode();
                    case SIGNAL -> 128 + done.getSignal();
                    default -> throw new dev.agentruntime.BackendException("Modal TaskExecWait for sandbox "
                            + sandboxId + " answered no exit status");
                };
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
                    if (Instant.now().isAfter(deadline)) {
                        throw new RuntimeTimeoutException("Modal sandbox " + sandboxId + ": " + argv.get(0)
                                + " did not end within its timeout", e);
                    }
                    continue; // libmodal asks again until the overall deadline
                }
                AgentRuntimeException mapped = ModalErrors.map("TaskExecWait", sandboxId, e);
                if (!mapped.isTransient() || Instant.now().isAfter(deadline)) {
                    throw mapped;
                }
                backOff(1);
            }
        }
    }

    private <T> T call(String rpc, Instant deadline,
                       Function<TaskCommandRouterGrpc.TaskCommandRouterBlockingStub, T> body) {
        return Retry.of("Modal " + rpc, deadline).attempts(4).backoff(Duration.ofMillis(100), Duration.ofSeconds(1))
                .call(() -> {
                    String token = jwt.get();
                    try {
                        return body.apply(withJwt(token, deadline, false));
                    } catch (StatusRuntimeException e) {
                        if (e.getStatus().getCode() != Status.Code.UNAUTHENTICATED) {
                            throw ModalErrors.map(rpc, sandboxId, e);
                        }
                        jwt.invalidate(token);
                        try {
                            return body.apply(withJwt(jwt.get(), deadline, false));
                        } catch (StatusRuntimeException again) {
                            throw ModalErrors.map(rpc, sandboxId, again);
                        }
                    }
                });
    }

    private TaskCommandRouterGrpc.TaskCommandRouterBlockingStub withJwt(String token, Instant deadline,
                                                                         boolean whole) {
        long left = Math.max(1000, Duration.between(Instant.now(), deadline).toMillis());
        long millis = whole ? left : Math.min(left, api.config().callTimeout().toMillis());
        return stub.withOption(JWT_OPTION, token).withDeadlineAfter(millis, TimeUnit.MILLISECONDS);
    }

    private static Instant earliest(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    private static void backOff(int failures) {
        try {
            Thread.sleep(Math.min(1000, 50L * failures)); // back-off between two attempts of a broken stream
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new dev.agentruntime.RuntimeUnavailableException("Interrupted while reading a Modal exec", e);
        }
    }

    @Override
    public void close() {
        Channels.close(channel);
    }

    private static final class Bearer implements ClientInterceptor {
        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options,
                                                     Channel next) {
            return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                @Override
                public void start(Listener<R> listener, Metadata headers) {
                    String token = options.getOption(JWT_OPTION);
                    if (token != null) {
                        headers.put(AUTHORIZATION, "Bearer " + token);
                    }
                    super.start(listener, headers);
                }
            };
        }
    }
}
