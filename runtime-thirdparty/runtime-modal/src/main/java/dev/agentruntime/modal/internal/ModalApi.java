package dev.agentruntime.modal.internal;

import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.modal.ModalConfig;
import dev.agentruntime.modal.internal.proto.AppGetOrCreateRequest;
import dev.agentruntime.modal.internal.proto.AuthTokenGetRequest;
import dev.agentruntime.modal.internal.proto.GenericResult;
import dev.agentruntime.modal.internal.proto.Image;
import dev.agentruntime.modal.internal.proto.ImageGetOrCreateRequest;
import dev.agentruntime.modal.internal.proto.ImageGetOrCreateResponse;
import dev.agentruntime.modal.internal.proto.ImageJoinStreamingRequest;
import dev.agentruntime.modal.internal.proto.ImageJoinStreamingResponse;
import dev.agentruntime.modal.internal.proto.ModalClientGrpc;
import dev.agentruntime.modal.internal.proto.ObjectCreationType;
import dev.agentruntime.modal.internal.proto.Sandbox;
import dev.agentruntime.modal.internal.proto.SandboxCreateRequest;
import dev.agentruntime.modal.internal.proto.SandboxGetTaskIdRequest;
import dev.agentruntime.modal.internal.proto.SandboxGetTaskIdResponse;
import dev.agentruntime.modal.internal.proto.SandboxGetTunnelsRequest;
import dev.agentruntime.modal.internal.proto.SandboxInfo;
import dev.agentruntime.modal.internal.proto.SandboxListRequest;
import dev.agentruntime.modal.internal.proto.SandboxListResponse;
import dev.agentruntime.modal.internal.proto.SandboxTag;
import dev.agentruntime.modal.internal.proto.SandboxTerminateRequest;
import dev.agentruntime.modal.internal.proto.SandboxWaitRequest;
import dev.agentruntime.modal.internal.proto.SandboxWaitResponse;
import dev.agentruntime.modal.internal.proto.SecretGetOrCreateRequest;
import dev.agentruntime.modal.internal.proto.TaskGetCommandRouterAccessRequest;
import dev.agentruntime.modal.internal.proto.TaskGetCommandRouterAccessResponse;
import dev.agentruntime.modal.internal.proto.TaskLogs;
import dev.agentruntime.modal.internal.proto.TunnelData;
import dev.agentruntime.spi.Retry;
import dev.agentruntime.spi.SessionLabels;
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
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Modal's control plane ({@code /modal.client.ModalClient/*}) over one gRPC channel: the metadata headers on every
 * call, the {@code x-modal-auth-token} JWT from {@code AuthTokenGet} (fetched again before it expires, and once more
 * when a call is refused as unauthenticated), a deadline per call, retries with back-off on the retryable codes and
 * {@code RESOURCE_EXHAUSTED}, and errors mapped by {@link ModalErrors}.
 */
public final class ModalApi implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ModalApi.class);

    static final Metadata.Key<String> CLIENT_TYPE = key("x-modal-client-type");
    static final Metadata.Key<String> CLIENT_VERSION = key("x-modal-client-version");
    static final Metadata.Key<String> LIBMODAL_VERSION = key("x-modal-libmodal-version");
    static final Metadata.Key<String> TOKEN_ID = key("x-modal-token-id");
    static final Metadata.Key<String> TOKEN_SECRET = key("x-modal-token-secret");
    static final Metadata.Key<String> AUTH_TOKEN = key("x-modal-auth-token");
    /**
     * Modal knows no Java client type: we speak libmodal's wire contract and say so with its Go SDK's type (9) and the
     * version libmodal claims ("behaves like Python 1.0.0"); {@code x-modal-libmodal-version} names us.
     */
    static final String CLIENT_TYPE_VALUE = "9";
    static final String CLIENT_VERSION_VALUE = "1.0.0";
    static final String LIBMODAL_VERSION_VALUE = "agent-runtime-java/" + SessionLabels.currentLibraryVersion();

    private static final CallOptions.Key<String> TOKEN_OPTION = CallOptions.Key.create("modal-auth-token");
    private static final float WAIT_SLICE_SECONDS = 10f;
    private static final float JOIN_SLICE_SECONDS = 55f;

    private final ModalConfig config;
    private final ManagedChannel channel;
    private final ModalClientGrpc.ModalClientBlockingStub stub;
    private final TokenCache tokens;

    public ModalApi(ModalConfig config) {
        this(config, Clock.systemUTC());
    }

    ModalApi(ModalConfig config, Clock clock) {
        this.config = config;
        this.channel = Channels.open(config.serverUrl(), config.trustedCertificates());
        Channel intercepted = ClientInterceptors.intercept(channel, new Headers());
        this.stub = ModalClientGrpc.newBlockingStub(intercepted);
        this.tokens = new TokenCache("Modal auth token", this::fetchToken, clock);
    }

    public ModalConfig config() {
        return config;
    }

    /** How many auth tokens this client fetched (for tests). */
    public int tokenFetches() {
        return tokens.fetches();
    }

    private String fetchToken() {
        try {
            String token = stub.withDeadlineAfter(config.callTimeout().toMillis(), TimeUnit.MILLISECONDS)
                    .authTokenGet(AuthTokenGetRequest.getDefaultInstance()).getToken();
            if (token.isEmpty()) {
                throw new BackendException("Modal AuthTokenGet answered no token");
            }
            return token;
        } catch (StatusRuntimeException e) {
            throw ModalErrors.map("AuthTokenGet", null, e);
        }
    }

    // ------------------------------------------------------------------------------------------ the calls ---

    /** {@code AppGetOrCreate} of the configured app (created if missing). */
    public String appGetOrCreate(Instant deadline) {
        return call("AppGetOrCreate", null, deadline, s -> s.appGetOrCreate(AppGetOrCreateRequest.newBuilder()
                .setAppName(config.appName()).setEnvironmentName(config.environment().orElse(""))
                .setObjectCreationType(ObjectCreationType.OBJECT_CREATION_TYPE_CREATE_IF_MISSING).build()))
                .getAppId();
    }

    /** The configured app's id when it exists ({@code AppGetOrCreate} as a lookup: creation type unspecified). */
    public Optional<String> appLookup(Instant deadline) {
        try {
            return Optional.of(call("AppGetOrCreate", null, deadline, s -> s.appGetOrCreate(AppGetOrCreateRequest
                    .newBuilder().setAppName(config.appName()).setEnvironmentName(config.environment().orElse(""))
                    .setObjectCreationType(ObjectCreationType.OBJECT_CREATION_TYPE_UNSPECIFIED).build())).getAppId());
        } catch (dev.agentruntime.RuntimeNotFoundException e) {
            return Optional.empty();
        }
    }

    /**
     * The image of the configured recipe: {@code ImageGetOrCreate}, then, unless it was built before,
     * {@code ImageJoinStreaming} until the build ends, its log lines to {@code progress}.
     *
     * @throws dev.agentruntime.RuntimeStartupException when the build fails
     */
    public String image(String appId, Consumer<String> progress, Instant deadline) {
        Image.Builder image = Image.newBuilder().addAllDockerfileCommands(config.imageRecipe());
        ImageGetOrCreateResponse created = call("ImageGetOrCreate", null, deadline, s -> s.imageGetOrCreate(
                ImageGetOrCreateRequest.newBuilder().setImage(image).setAppId(appId)
                        .setBuilderVersion(config.builderVersion()).build()));
        String imageId = created.getImageId();
        GenericResult result = created.hasResult() ? created.getResult() : GenericResult.getDefaultInstance();
        String lastEntry = "";
        while (result.getStatus() == GenericResult.GenericStatus.GENERIC_STATUS_UNSPECIFIED) {
            requireBefore(deadline, "building Modal image " + imageId);
            String from = lastEntry;
            try {
                Iterator<ImageJoinStreamingResponse> stream = authed(deadline).imageJoinStreaming(
                        ImageJoinStreamingRequest.newBuilder().setImageId(imageId).setTimeout(JOIN_SLICE_SECONDS)
                                .setLastEntryId(from).build());
                while (stream.hasNext()) {
                    ImageJoinStreamingResponse next = stream.next();
                    for (TaskLogs logs : next.getTaskLogsList()) {
                        logs.getData().lines().filter(l -> !l.isBlank()).forEach(progress);
                    }
                    if (!next.getEntryId().isEmpty()) {
                        lastEntry = next.getEntryId();
                    }
                    if (next.hasResult() && next.getResult().getStatus()
                            != GenericResult.GenericStatus.GENERIC_STATUS_UNSPECIFIED) {
                        result = next.getResult();
                        break;
                    }
                    if (next.getEof()) {
                        break;
                    }
                }
            } catch (StatusRuntimeException e) {
                AgentRuntimeException mapped = ModalErrors.map("ImageJoinStreaming", null, e);
                if (!mapped.isTransient()) {
                    throw mapped;
                }
                log.debug("Modal image {}: the build log stream broke ({}); joining again from entry '{}'", imageId,
                        e.getStatus().getCode(), lastEntry);
            }
        }
        if (result.getStatus() != GenericResult.GenericStatus.GENERIC_STATUS_SUCCESS) {
            throw new dev.agentruntime.RuntimeStartupException("Modal could not build the image " + imageId + " from "
                    + config.imageRecipe() + ": " + SandboxEnd.describe(result) + ". Check the image reference or"
                    + " the Dockerfile recipe.");
        }
        return imageId;
    }

    /** An ephemeral secret holding {@code env} ({@code SecretGetOrCreate} with {@code OBJECT_CREATION_TYPE_EPHEMERAL}). */
    public String ephemeralSecret(Map<String, String> env, Instant deadline) {
        return call("SecretGetOrCreate", null, deadline, s -> s.secretGetOrCreate(SecretGetOrCreateRequest
                .newBuilder().putAllEnvDict(env).setEnvironmentName(config.environment().orElse(""))
                .setObjectCreationType(ObjectCreationType.OBJECT_CREATION_TYPE_EPHEMERAL).build())).getSecretId();
    }

    /** {@code SandboxCreate}; returns the sandbox id. Not retried after a server error (it could create two). */
    public String createSandbox(String appId, Sandbox definition, Map<String, String> tags, Instant deadline) {
        SandboxCreateRequest request = SandboxCreateRequest.newBuilder().setAppId(appId).setDefinition(definition)
                .addAllTags(tags(tags)).build();
        return call("SandboxCreate", null, deadline, s -> s.sandboxCreate(request), e -> e.getCause()
                instanceof StatusRuntimeException sre && (sre.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED
                || sre.getStatus().getCode() == Status.Code.UNAVAILABLE)).getSandboxId();
    }

    /**
     * Waits for the sandbox's task ({@code SandboxGetTaskId}, polled as libmodal does).
     *
     * @throws SandboxEndedException when the sandbox ended before its task started
     */
    public String taskId(String sandboxId, Instant deadline) {
        while (true) {
            SandboxGetTaskIdResponse response = call("SandboxGetTaskId", sandboxId, deadline,
                    s -> s.sandboxGetTaskId(SandboxGetTaskIdRequest.newBuilder().setSandboxId(sandboxId)
                            .setTimeout(WAIT_SLICE_SECONDS).setWaitUntilReady(true).build()));
            if (response.hasTaskResult() && response.getTaskResult().getStatus()
                    != GenericResult.GenericStatus.GENERIC_STATUS_UNSPECIFIED) {
                throw new SandboxEndedException(sandboxId, SandboxEnd.of(response.getTaskResult()));
            }
            if (response.hasTaskId() && !response.getTaskId().isEmpty()) {
                return response.getTaskId();
            }
            requireBefore(deadline, "waiting for the task of Modal sandbox " + sandboxId);
            pause(Duration.ofMillis(500)); // libmodal's poll interval for SandboxGetTaskId
        }
    }

    /** {@code SandboxWait} with {@code timeout}: the sandbox's end, or empty while it runs. */
    public Optional<SandboxEnd> poll(String sandboxId, Duration timeout) {
        SandboxWaitResponse response = call("SandboxWait", sandboxId, Instant.now().plus(config.callTimeout()),
                s -> s.sandboxWait(SandboxWaitRequest.newBuilder().setSandboxId(sandboxId)
                        .setTimeout(timeout.toMillis() / 1000f).build()));
        return response.hasResult() && response.getResult().getStatus()
                != GenericResult.GenericStatus.GENERIC_STATUS_UNSPECIFIED
                ? Optional.of(SandboxEnd.of(response.getResult())) : Optional.empty();
    }

    /** The sandbox's tunnels ({@code SandboxGetTunnels}), container port → tunnel. */
    public List<TunnelData> tunnels(String sandboxId, Instant deadline) {
        var response = call("SandboxGetTunnels", sandboxId, deadline, s -> s.sandboxGetTunnels(
                SandboxGetTunnelsRequest.newBuilder().setSandboxId(sandboxId).setTimeout(WAIT_SLICE_SECONDS).build()));
        if (response.hasResult() && response.getResult().getStatus()
                != GenericResult.GenericStatus.GENERIC_STATUS_SUCCESS
                && response.getResult().getStatus() != GenericResult.GenericStatus.GENERIC_STATUS_UNSPECIFIED) {
            throw new SandboxEndedException(sandboxId, SandboxEnd.of(response.getResult()));
        }
        return response.getTunnelsList();
    }

    /** Running sandboxes of the app carrying all of {@code tags} ({@code SandboxList}, paged by creation time). */
    public List<SandboxInfo> list(String appId, Map<String, String> tags) {
        List<SandboxInfo> all = new ArrayList<>();
        double before = 0;
        Instant deadline = Instant.now().plus(config.callTimeout());
        while (true) {
            double page = before;
            SandboxListResponse response = call("SandboxList", null, deadline, s -> s.sandboxList(SandboxListRequest
                    .newBuilder().setAppId(appId).setEnvironmentName(config.environment().orElse(""))
                    .setBeforeTimestamp(page).setIncludeFinished(false).addAllTags(tags(tags)).build()));
            if (response.getSandboxesCount() == 0) {
                return all;
            }
            all.addAll(response.getSandboxesList());
            double oldest = response.getSandboxesList().stream().mapToDouble(SandboxInfo::getCreatedAt).min()
                    .orElse(0);
            if (oldest <= 0 || before != 0 && oldest >= before) {
                return all;
            }
            before = oldest;
        }
    }

    /** {@code SandboxTerminate}: ends the sandbox (idempotent on Modal's side). */
    public void terminate(String sandboxId) {
        call("SandboxTerminate", sandboxId, Instant.now().plus(config.callTimeout()),
                s -> s.sandboxTerminate(SandboxTerminateRequest.newBuilder().setSandboxId(sandboxId).build()));
    }

    /** {@code TaskGetCommandRouterAccess}: the worker's command router URL and a JWT for it. */
    public TaskGetCommandRouterAccessResponse commandRouterAccess(String taskId, String sandboxId, Instant deadline) {
        return call("TaskGetCommandRouterAccess", sandboxId, deadline, s -> s.taskGetCommandRouterAccess(
                TaskGetCommandRouterAccessRequest.newBuilder().setTaskId(taskId).build()));
    }

    static List<SandboxTag> tags(Map<String, String> tags) {
        return tags.entrySet().stream().map(e -> SandboxTag.newBuilder().setTagName(e.getKey())
                .setTagValue(e.getValue()).build()).toList();
    }

    // ----------------------------------------------------------------------------------------- plumbing ---

    private <T> T call(String rpc, String sandbox, Instant deadline,
                       Function<ModalClientGrpc.ModalClientBlockingStub, T> body) {
        return call(rpc, sandbox, deadline, body, e -> true);
    }

    private <T> T call(String rpc, String sandbox, Instant deadline,
                       Function<ModalClientGrpc.ModalClientBlockingStub, T> body,
                       java.util.function.Predicate<AgentRuntimeException> retryWhen) {
        return Retry.of("Modal " + rpc, deadline).attempts(4).backoff(Duration.ofMillis(100), Duration.ofSeconds(1))
                .onlyWhen(retryWhen).call(() -> once(rpc, sandbox, deadline, body));
    }

    private <T> T once(String rpc, String sandbox, Instant deadline,
                       Function<ModalClientGrpc.ModalClientBlockingStub, T> body) {
        String token = tokens.get();
        try {
            return body.apply(withToken(token, deadline));
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.UNAUTHENTICATED) {
                throw ModalErrors.map(rpc, sandbox, e);
            }
            // the token may have expired or been revoked early: one more try with a fresh one
            tokens.invalidate(token);
            log.debug("Modal {}: the auth token was refused ({}); fetching a new one", rpc, e.getStatus());
            try {
                return body.apply(withToken(tokens.get(), deadline));
            } catch (StatusRuntimeException again) {
                throw ModalErrors.map(rpc, sandbox, again);
            }
        }
    }

    private ModalClientGrpc.ModalClientBlockingStub authed(Instant deadline) {
        return withToken(tokens.get(), deadline);
    }

    private ModalClientGrpc.ModalClientBlockingStub withToken(String token, Instant deadline) {
        long millis = Math.min(config.callTimeout().toMillis(),
                Math.max(1000, Duration.between(Instant.now(), deadline).toMillis()));
        return stub.withOption(TOKEN_OPTION, token).withDeadlineAfter(millis, TimeUnit.MILLISECONDS);
    }

    private static void requireBefore(Instant deadline, String what) {
        if (Instant.now().isAfter(deadline)) {
            throw new RuntimeTimeoutException("Timed out " + what);
        }
    }

    private static void pause(Duration duration) {
        try {
            Thread.sleep(duration.toMillis()); // the poll interval between two SandboxGetTaskId calls
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new dev.agentruntime.RuntimeUnavailableException("Interrupted while waiting for a Modal sandbox", e);
        }
    }

    private static Metadata.Key<String> key(String name) {
        return Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
    }

    @Override
    public void close() {
        Channels.close(channel);
    }

    /** The metadata every Modal call carries. */
    private final class Headers implements ClientInterceptor {
        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options,
                                                     Channel next) {
            return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                @Override
                public void start(Listener<R> listener, Metadata headers) {
                    headers.put(CLIENT_TYPE, CLIENT_TYPE_VALUE);
                    headers.put(CLIENT_VERSION, CLIENT_VERSION_VALUE);
                    headers.put(LIBMODAL_VERSION, LIBMODAL_VERSION_VALUE);
                    headers.put(TOKEN_ID, config.tokenId().reveal());
                    headers.put(TOKEN_SECRET, config.tokenSecret().reveal());
                    String token = options.getOption(TOKEN_OPTION);
                    if (token != null) {
                        headers.put(AUTH_TOKEN, token);
                    }
                    super.start(listener, headers);
                }
            };
        }
    }
}
