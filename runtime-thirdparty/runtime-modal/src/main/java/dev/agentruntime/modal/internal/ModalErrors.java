package dev.agentruntime.modal.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.BackendConflictException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.modal.internal.proto.RPCStatus;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.EnumSet;
import java.util.Set;

/**
 * gRPC status codes (and the {@code modal.client.RPCStatus} Modal puts into {@code grpc-status-details-bin}) mapped
 * onto the library's errors, as Modal's own SDKs map them:
 * <ul>
 *   <li>{@code UNAUTHENTICATED}, {@code PERMISSION_DENIED} → {@link BackendAuthenticationException};</li>
 *   <li>{@code NOT_FOUND} → {@link RuntimeNotFoundException};</li>
 *   <li>{@code ALREADY_EXISTS}, {@code FAILED_PRECONDITION}, {@code ABORTED} → {@link BackendConflictException};</li>
 *   <li>{@code RESOURCE_EXHAUSTED} (quota, rate limit) and the retryable {@code UNAVAILABLE}, {@code UNKNOWN},
 *       {@code CANCELLED}, {@code DEADLINE_EXCEEDED}, {@code INTERNAL} → a transient {@link BackendException};</li>
 *   <li>anything else ({@code INVALID_ARGUMENT}, {@code OUT_OF_RANGE} ...) → a non-transient
 *       {@link BackendException} ("refused").</li>
 * </ul>
 */
public final class ModalErrors {

    /** Codes libmodal retries with back-off. */
    public static final Set<Status.Code> RETRYABLE = EnumSet.of(Status.Code.DEADLINE_EXCEEDED,
            Status.Code.UNAVAILABLE, Status.Code.CANCELLED, Status.Code.INTERNAL, Status.Code.UNKNOWN);

    static final Metadata.Key<byte[]> STATUS_DETAILS = Metadata.Key.of("grpc-status-details-bin",
            Metadata.BINARY_BYTE_MARSHALLER);

    private ModalErrors() {
    }

    /**
     * @param call    the RPC, e.g. {@code SandboxCreate}
     * @param sandbox the sandbox concerned, or null
     */
    public static AgentRuntimeException map(String call, String sandbox, StatusRuntimeException e) {
        Status status = e.getStatus();
        String detail = detail(status, e.getTrailers());
        String where = "Modal " + call + (sandbox == null ? "" : " for sandbox " + sandbox);
        String said = "(" + status.getCode() + (detail.isEmpty() ? "" : ": " + detail) + ")";
        return switch (status.getCode()) {
            case UNAUTHENTICATED, PERMISSION_DENIED -> new BackendAuthenticationException(where + " was refused " + said
                    + ". Check MODAL_TOKEN_ID and MODAL_TOKEN_SECRET (or the active profile in ~/.modal.toml) and"
                    + " MODAL_ENVIRONMENT.", e);
            case NOT_FOUND -> new RuntimeNotFoundException(where + ": not found " + said
                    + (sandbox == null ? "." : ". The sandbox may have ended (timeout, idle timeout) or been"
                    + " terminated."), e);
            case ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED -> new BackendConflictException(where
                    + " conflicts with the current state " + said, e);
            case RESOURCE_EXHAUSTED -> BackendException.transientFailure(where + " is over a quota or rate limit "
                    + said + "; retry later or raise the workspace's limits.", null, e);
            case DEADLINE_EXCEEDED, UNAVAILABLE, CANCELLED, INTERNAL, UNKNOWN -> BackendException.transientFailure(
                    where + " is temporarily unavailable " + said + ".", null, e);
            default -> new BackendException(where + " refused the request " + said + ".", e);
        };
    }

    /** The status's description, or the message of the {@code RPCStatus} in the trailers when there is one. */
    static String detail(Status status, Metadata trailers) {
        String description = status.getDescription() == null ? "" : status.getDescription();
        if (trailers != null) {
            byte[] raw = trailers.get(STATUS_DETAILS);
            if (raw != null) {
                try {
                    RPCStatus rpc = RPCStatus.parseFrom(raw);
                    if (!rpc.getMessage().isEmpty() && !rpc.getMessage().equals(description)) {
                        return description.isEmpty() ? rpc.getMessage() : description + " - " + rpc.getMessage();
                    }
                } catch (InvalidProtocolBufferException ignored) {
                    // not Modal's details: the description says enough
                }
            }
        }
        return description;
    }
}
