package dev.agentruntime.modal.fake;

import com.google.protobuf.ByteString;
import dev.agentruntime.fake.ExecSpec;
import dev.agentruntime.fake.ExitStatus;
import dev.agentruntime.fake.FakeSandbox;
import dev.agentruntime.fake.OutputLog;
import dev.agentruntime.fake.SandboxProcess;
import dev.agentruntime.modal.internal.proto.TaskCommandRouterGrpc;
import dev.agentruntime.modal.internal.proto.TaskExecPollRequest;
import dev.agentruntime.modal.internal.proto.TaskExecPollResponse;
import dev.agentruntime.modal.internal.proto.TaskExecStartRequest;
import dev.agentruntime.modal.internal.proto.TaskExecStartResponse;
import dev.agentruntime.modal.internal.proto.TaskExecStderrConfig;
import dev.agentruntime.modal.internal.proto.TaskExecStdinWriteRequest;
import dev.agentruntime.modal.internal.proto.TaskExecStdinWriteResponse;
import dev.agentruntime.modal.internal.proto.TaskExecStdioFileDescriptor;
import dev.agentruntime.modal.internal.proto.TaskExecStdioReadRequest;
import dev.agentruntime.modal.internal.proto.TaskExecStdioReadResponse;
import dev.agentruntime.modal.internal.proto.TaskExecStdoutConfig;
import dev.agentruntime.modal.internal.proto.TaskExecWaitRequest;
import dev.agentruntime.modal.internal.proto.TaskExecWaitResponse;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The fake's Task Command Router: exec in a sandbox's container with the client's exec id (idempotent), stdin at
 * offsets, output streams readable from any offset (reconnects resume), exit by wait or poll.
 */
final class FakeCommandRouter extends TaskCommandRouterGrpc.TaskCommandRouterImplBase {

    private static final int READ_CHUNK = 64 * 1024;

    private final FakeModal modal;

    FakeCommandRouter(FakeModal modal) {
        this.modal = modal;
    }

    /** The sandbox of the request's task, when the bearer JWT was issued for that task and it runs. */
    private <T> FakeModalApi.ModalSandbox task(String taskId, StreamObserver<T> out) {
        if (!taskId.equals(FakeModal.ROUTER_TASK.get())) {
            FakeModal.fail(out, Status.Code.PERMISSION_DENIED, "The command router token is not for task " + taskId);
            return null;
        }
        FakeModalApi.ModalSandbox sandbox = modal.apiService.tasks.get(taskId);
        if (sandbox == null) {
            FakeModal.fail(out, Status.Code.NOT_FOUND, "Task " + taskId + " not found");
            return null;
        }
        sandbox.touch();
        return sandbox;
    }

    private <T> SandboxProcess exec(FakeModalApi.ModalSandbox sandbox, String execId, StreamObserver<T> out) {
        SandboxProcess process = sandbox.execs.get(execId);
        if (process == null) {
            FakeModal.fail(out, Status.Code.NOT_FOUND, "Exec " + execId + " not found");
        }
        return process;
    }

    @Override
    public void taskExecStart(TaskExecStartRequest request, StreamObserver<TaskExecStartResponse> out) {
        FakeModalApi.ModalSandbox sandbox = task(request.getTaskId(), out);
        if (sandbox == null) {
            return;
        }
        if (request.getExecId().isEmpty() || request.getCommandArgsCount() == 0) {
            FakeModal.fail(out, Status.Code.INVALID_ARGUMENT, "exec_id and command_args are required");
            return;
        }
        if (sandbox.end.isDone()) {
            FakeModal.fail(out, Status.Code.FAILED_PRECONDITION, "Task " + request.getTaskId() + " has finished");
            return;
        }
        synchronized (sandbox.execs) {
            if (!sandbox.execs.containsKey(request.getExecId())) { // a retried start starts nothing new
                List<String> argv = new ArrayList<>(request.getCommandArgsList());
                if (request.getStderrConfig() == TaskExecStderrConfig.TASK_EXEC_STDERR_CONFIG_STDOUT) {
                    argv.addAll(0, List.of("/bin/sh", "-c", "exec \"$@\" 2>&1", "sh"));
                }
                ExecSpec.Builder spec = ExecSpec.argv(argv).env(request.getEnvMap()).stdin(true)
                        .tag(request.getExecId());
                if (request.hasWorkdir()) {
                    spec.cwd(request.getWorkdir());
                }
                if (request.hasTimeoutSecs() && request.getTimeoutSecs() > 0) {
                    spec.timeout(Duration.ofSeconds(request.getTimeoutSecs()));
                }
                FakeSandbox box = sandbox.box;
                try {
                    sandbox.execs.put(request.getExecId(), box.exec(spec.build()));
                    sandbox.stdinWritten.put(request.getExecId(), 0L);
                } catch (RuntimeException e) {
                    FakeModal.fail(out, Status.Code.FAILED_PRECONDITION, "Cannot exec in task " + request.getTaskId()
                            + ": " + e.getMessage());
                    return;
                }
            }
        }
        FakeModalApi.reply(out, TaskExecStartResponse.getDefaultInstance());
    }

    @Override
    public void taskExecStdinWrite(TaskExecStdinWriteRequest request, StreamObserver<TaskExecStdinWriteResponse> out) {
        FakeModalApi.ModalSandbox sandbox = task(request.getTaskId(), out);
        SandboxProcess process = sandbox == null ? null : exec(sandbox, request.getExecId(), out);
        if (process == null) {
            return;
        }
        synchronized (process) {
            long written = sandbox.stdinWritten.getOrDefault(request.getExecId(), 0L);
            if (written < 0) {
                if (!request.getEof() || request.getData().size() > 0) {
                    FakeModal.fail(out, Status.Code.FAILED_PRECONDITION, "stdin of exec " + request.getExecId()
                            + " is closed");
                    return;
                }
                FakeModalApi.reply(out, TaskExecStdinWriteResponse.getDefaultInstance());
                return;
            }
            long offset = request.getOffset();
            if (offset > written) {
                FakeModal.fail(out, Status.Code.INVALID_ARGUMENT, "stdin offset " + offset + " is past the "
                        + written + " bytes written");
                return;
            }
            ByteString data = request.getData();
            long skip = written - offset; // bytes of a retried chunk already written
            if (skip < data.size()) {
                try {
                    process.writeStdin(data.substring((int) skip).toByteArray());
                } catch (IllegalStateException e) {
                    FakeModal.fail(out, Status.Code.FAILED_PRECONDITION, e.getMessage());
                    return;
                }
                written = offset + data.size();
            }
            if (request.getEof()) {
                process.closeStdin();
                written = -1;
            }
            sandbox.stdinWritten.put(request.getExecId(), written);
        }
        FakeModalApi.reply(out, TaskExecStdinWriteResponse.getDefaultInstance());
    }

    @Override
    public void taskExecStdioRead(TaskExecStdioReadRequest request, StreamObserver<TaskExecStdioReadResponse> out) {
        FakeModalApi.ModalSandbox sandbox = task(request.getTaskId(), out);
        SandboxProcess process = sandbox == null ? null : exec(sandbox, request.getExecId(), out);
        if (process == null) {
            return;
        }
        OutputLog log = request.getFileDescriptor() == TaskExecStdioFileDescriptor.TASK_EXEC_STDIO_FILE_DESCRIPTOR_STDERR
                ? process.stderr() : process.stdout();
        modal.stdioReadOffsets.add(request.getOffset());
        int dropAfter = modal.faults.stdioDropAfter();
        long offset = request.getOffset();
        long sent = 0;
        Context context = Context.current();
        try {
            while (!context.isCancelled()) {
                OutputLog.Chunk chunk = log.await(offset, READ_CHUNK, Duration.ofMillis(500));
                byte[] bytes = chunk.bytes();
                if (dropAfter >= 0 && sent + bytes.length > dropAfter) {
                    int part = (int) Math.max(0, dropAfter - sent);
                    if (part > 0) {
                        out.onNext(TaskExecStdioReadResponse.newBuilder().setData(ByteString.copyFrom(bytes, 0, part))
                                .build());
                    }
                    FakeModal.fail(out, Status.Code.UNAVAILABLE, "connection reset (fault injected after "
                            + dropAfter + " bytes)");
                    return;
                }
                if (bytes.length > 0) {
                    out.onNext(TaskExecStdioReadResponse.newBuilder().setData(ByteString.copyFrom(bytes)).build());
                    sent += bytes.length;
                    sandbox.touch();
                }
                offset = chunk.nextOffset();
                if (chunk.endOfStream() && bytes.length == 0) {
                    out.onCompleted();
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            FakeModal.fail(out, Status.Code.CANCELLED, "interrupted");
        }
    }

    @Override
    public void taskExecWait(TaskExecWaitRequest request, StreamObserver<TaskExecWaitResponse> out) {
        FakeModalApi.ModalSandbox sandbox = task(request.getTaskId(), out);
        SandboxProcess process = sandbox == null ? null : exec(sandbox, request.getExecId(), out);
        if (process == null) {
            return;
        }
        Context context = Context.current();
        while (!context.isCancelled()) {
            try {
                ExitStatus status = process.onExit().get(500, TimeUnit.MILLISECONDS);
                TaskExecWaitResponse.Builder response = TaskExecWaitResponse.newBuilder();
                Optional<Integer> signal = status.signal().map(s -> status.code() - 128);
                if (signal.isPresent() && status.code() > 128) {
                    response.setSignal(signal.get());
                } else {
                    response.setCode(status.code());
                }
                FakeModalApi.reply(out, response.build());
                return;
            } catch (TimeoutException stillRunning) {
                sandbox.touch();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (java.util.concurrent.ExecutionException e) {
                FakeModal.fail(out, Status.Code.INTERNAL, e.getCause().toString());
                return;
            }
        }
    }

    @Override
    public void taskExecPoll(TaskExecPollRequest request, StreamObserver<TaskExecPollResponse> out) {
        FakeModalApi.ModalSandbox sandbox = task(request.getTaskId(), out);
        SandboxProcess process = sandbox == null ? null : exec(sandbox, request.getExecId(), out);
        if (process == null) {
            return;
        }
        TaskExecPollResponse.Builder response = TaskExecPollResponse.newBuilder();
        process.exitStatus().ifPresent(status -> response.setCode(status.code()));
        FakeModalApi.reply(out, response.build());
    }
}
