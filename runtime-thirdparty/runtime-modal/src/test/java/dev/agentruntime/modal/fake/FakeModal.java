package dev.agentruntime.modal.fake;

import dev.agentruntime.fake.SandboxHost;
import dev.agentruntime.modal.internal.proto.RPCStatus;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.InsecureServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;

/**
 * A local Modal for tests: Modal's control plane ({@code modal.client.ModalClient}) and a Task Command Router
 * ({@code modal.task_command_router.TaskCommandRouter}) as two grpc-java servers on real loopback sockets, in
 * plain text or TLS (a self-signed certificate for {@code localhost}/{@code 127.0.0.1}, made with the JDK's
 * keytool). Sandboxes are real Docker containers ({@link SandboxHost}); each open port gets a tunnel (a streaming
 * HTTP proxy into the container). It checks what Modal checks: the metadata headers and token on every call, the
 * auth token on unary calls (signed, expiring), the router's bearer JWT per task, the requests' fields; and it
 * answers with Modal's status codes and {@code RPCStatus} details. {@link #faults()} injects UNAVAILABLE,
 * RESOURCE_EXHAUSTED and broken streams; {@link #revokeAuthTokens()} expires tokens early; sandboxes end at their
 * timeout and idle timeout with the matching result.
 *
 * <pre>{@code
 * try (FakeModal modal = FakeModal.builder().start()) {
 *     ModalConfig config = ModalConfig.builder().serverUrl(modal.url()).token(modal.tokenId(), modal.tokenSecret()).build();
 * }
 * }</pre>
 */
public final class FakeModal implements AutoCloseable {

    static final Metadata.Key<String> CLIENT_TYPE = key("x-modal-client-type");
    static final Metadata.Key<String> CLIENT_VERSION = key("x-modal-client-version");
    static final Metadata.Key<String> TOKEN_ID = key("x-modal-token-id");
    static final Metadata.Key<String> TOKEN_SECRET = key("x-modal-token-secret");
    static final Metadata.Key<String> AUTH_TOKEN = key("x-modal-auth-token");
    static final Metadata.Key<String> AUTHORIZATION = key("authorization");
    static final Metadata.Key<byte[]> STATUS_DETAILS = Metadata.Key.of("grpc-status-details-bin",
            Metadata.BINARY_BYTE_MARSHALLER);
    /** The router's verified task, for the handlers. */
    static final Context.Key<String> ROUTER_TASK = Context.key("modal-router-task");
    /** Client types Modal's server knows (python client, libmodal JS, libmodal Go). */
    private static final Set<String> CLIENT_TYPES = Set.of("1", "8", "9");

    /** One call as received: the RPC and its metadata. */
    public record Call(String rpc, Map<String, String> headers) {
    }

    final String tokenId = "ak-fake" + Long.toHexString(System.nanoTime());
    final String tokenSecret = "as-fake" + Long.toHexString(Double.doubleToLongBits(Math.random()));
    final FakeJwt jwt = new FakeJwt();
    final ModalFaults faults = new ModalFaults();
    final SandboxHost host;
    final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fake-modal-timers");
        t.setDaemon(true);
        return t;
    });
    final List<Call> calls = new CopyOnWriteArrayList<>();
    /** The offset of every TaskExecStdioRead received, in order. */
    final List<Long> stdioReadOffsets = new CopyOnWriteArrayList<>();
    volatile Instant tokensValidAfter = Instant.EPOCH;
    volatile Duration authTokenLifetime;
    volatile Duration routerJwtLifetime;
    private final boolean tls;
    private final Path certificate;
    private final Server api;
    private final Server router;
    final FakeModalApi apiService;
    final FakeCommandRouter routerService;

    private FakeModal(Builder b) throws IOException {
        this.tls = b.tls;
        this.authTokenLifetime = b.authTokenLifetime;
        this.routerJwtLifetime = b.routerJwtLifetime;
        this.host = b.docker ? SandboxHost.builder().name("modal").build() : null;
        ServerCredentials credentials;
        if (tls) {
            Path dir = Files.createTempDirectory("fake-modal-tls");
            Path store = dir.resolve("server.p12");
            certificate = dir.resolve("server.pem");
            keytool("-genkeypair", "-alias", "modal", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
                    "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore",
                    store.toString(), "-storepass", "changeit", "-keypass", "changeit");
            keytool("-exportcert", "-rfc", "-alias", "modal", "-keystore", store.toString(), "-storepass",
                    "changeit", "-file", certificate.toString());
            try (InputStream in = Files.newInputStream(store)) {
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(in, "changeit".toCharArray());
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, "changeit".toCharArray());
                credentials = TlsServerCredentials.newBuilder().keyManager(kmf.getKeyManagers()).build();
            } catch (java.security.GeneralSecurityException e) {
                throw new IOException("Cannot load the fake's certificate", e);
            }
        } else {
            certificate = null;
            credentials = InsecureServerCredentials.create();
        }
        this.routerService = new FakeCommandRouter(this);
        this.apiService = new FakeModalApi(this);
        this.router = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), credentials)
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .addService(ServerInterceptors.intercept(routerService, new RouterAuth())).build().start();
        this.api = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), credentials)
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .addService(ServerInterceptors.intercept(apiService, new ApiAuth())).build().start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The control plane's URL ({@code MODAL_SERVER_URL}). */
    public URI url() {
        return URI.create((tls ? "https" : "http") + "://" + (tls ? "localhost" : "127.0.0.1") + ":" + api.getPort());
    }

    /** The command router's URL, as {@code TaskGetCommandRouterAccess} hands it out. */
    URI routerUrl() {
        return URI.create((tls ? "https" : "http") + "://" + (tls ? "localhost" : "127.0.0.1") + ":"
                + router.getPort());
    }

    /** The PEM certificate to trust in TLS mode. */
    public Optional<Path> certificate() {
        return Optional.ofNullable(certificate);
    }

    public String tokenId() {
        return tokenId;
    }

    public String tokenSecret() {
        return tokenSecret;
    }

    public ModalFaults faults() {
        return faults;
    }

    /** Every call received so far, oldest first. */
    public List<Call> calls() {
        return List.copyOf(calls);
    }

    /** The {@code offset} of every {@code TaskExecStdioRead} received, in order. */
    public List<Long> stdioReadOffsets() {
        return List.copyOf(stdioReadOffsets);
    }

    public List<Call> calls(String rpc) {
        return calls.stream().filter(c -> c.rpc().equals(rpc)).toList();
    }

    /** Expires every auth token and router JWT handed out so far (as if they had reached their {@code exp}). */
    public void revokeAuthTokens() {
        tokensValidAfter = Instant.now();
    }

    /** Lifetime of auth tokens handed out from now on. */
    public void authTokenLifetime(Duration lifetime) {
        this.authTokenLifetime = lifetime;
    }

    /** The fake's sandboxes by id (running or ended). */
    public Map<String, FakeModalApi.ModalSandbox> sandboxes() {
        return Map.copyOf(apiService.sandboxes);
    }

    @Override
    public void close() {
        api.shutdownNow();
        router.shutdownNow();
        apiService.close();
        timers.shutdownNow();
        if (host != null) {
            host.close();
        }
        try {
            api.awaitTermination(5, TimeUnit.SECONDS);
            router.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------------------------------- helpers ---

    /** A Modal-shaped error: the status, and an {@code RPCStatus} with the same code and message in the trailers. */
    static StatusRuntimeException error(Status.Code code, String message) {
        Metadata trailers = new Metadata();
        trailers.put(STATUS_DETAILS, RPCStatus.newBuilder().setCode(code.value()).setMessage(message).build()
                .toByteArray());
        return Status.fromCode(code).withDescription(message).asRuntimeException(trailers);
    }

    static <T> void fail(StreamObserver<T> observer, Status.Code code, String message) {
        observer.onError(error(code, message));
    }

    private static Metadata.Key<String> key(String name) {
        return Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
    }

    private static void keytool(String... args) throws IOException {
        List<String> command = new java.util.ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes());
        try {
            if (process.waitFor() != 0) {
                throw new IOException("keytool failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private static Map<String, String> copy(Metadata headers) {
        Map<String, String> copy = new java.util.LinkedHashMap<>();
        for (String name : headers.keys()) {
            if (!name.endsWith("-bin")) {
                copy.put(name, headers.get(key(name)));
            }
        }
        return copy;
    }

    /** The control plane's checks, before any handler runs. */
    private final class ApiAuth implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                           ServerCallHandler<Q, R> next) {
            String rpc = call.getMethodDescriptor().getBareMethodName();
            calls.add(new Call(rpc, copy(headers)));
            Optional<StatusRuntimeException> refused = check(rpc, call.getMethodDescriptor().getType().clientSendsOneMessage()
                    && call.getMethodDescriptor().getType().serverSendsOneMessage(), headers);
            if (refused.isEmpty()) {
                refused = faults.next(rpc).map(s -> error(s.getCode(), s.getDescription()));
            }
            if (refused.isPresent()) {
                call.close(refused.get().getStatus(), refused.get().getTrailers());
                return new ServerCall.Listener<>() { };
            }
            return next.startCall(call, headers);
        }

        private Optional<StatusRuntimeException> check(String rpc, boolean unary, Metadata headers) {
            String type = headers.get(CLIENT_TYPE);
            if (type == null || !CLIENT_TYPES.contains(type)) {
                return Optional.of(error(Status.Code.FAILED_PRECONDITION, "Unknown or missing client type ("
                        + type + "); please upgrade your client"));
            }
            if (headers.get(CLIENT_VERSION) == null) {
                return Optional.of(error(Status.Code.FAILED_PRECONDITION, "Missing client version"));
            }
            if (!tokenId.equals(headers.get(TOKEN_ID)) || !tokenSecret.equals(headers.get(TOKEN_SECRET))) {
                return Optional.of(error(Status.Code.UNAUTHENTICATED, "Token ID or secret is invalid"));
            }
            if (unary && !rpc.equals("AuthTokenGet")) {
                String token = headers.get(AUTH_TOKEN);
                if (token == null) {
                    return Optional.of(error(Status.Code.UNAUTHENTICATED, "Missing auth token"));
                }
                Optional<FakeJwt.Claims> claims = jwt.verify(token).filter(c -> c.subject().equals("auth:" + tokenId));
                if (claims.isEmpty()) {
                    return Optional.of(error(Status.Code.UNAUTHENTICATED, "Invalid auth token"));
                }
                if (expired(claims.get())) {
                    return Optional.of(error(Status.Code.UNAUTHENTICATED, "Auth token has expired"));
                }
            }
            return Optional.empty();
        }
    }

    /** Whether a token is no longer accepted: past its {@code exp}, or issued before {@link #revokeAuthTokens()}. */
    boolean expired(FakeJwt.Claims claims) {
        return !Instant.now().isBefore(claims.expiry()) || claims.issuedAt().isBefore(tokensValidAfter);
    }

    /** The router's check: {@code authorization: Bearer <jwt>} issued for a task. */
    private final class RouterAuth implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                           ServerCallHandler<Q, R> next) {
            String rpc = call.getMethodDescriptor().getBareMethodName();
            calls.add(new Call(rpc, copy(headers)));
            String auth = headers.get(AUTHORIZATION);
            Optional<FakeJwt.Claims> claims = auth == null || !auth.startsWith("Bearer ") ? Optional.empty()
                    : jwt.verify(auth.substring("Bearer ".length())).filter(c -> c.subject().startsWith("task:"));
            StatusRuntimeException refused = null;
            if (claims.isEmpty()) {
                refused = error(Status.Code.UNAUTHENTICATED, "Missing or invalid command router token");
            } else if (expired(claims.get())) {
                refused = error(Status.Code.UNAUTHENTICATED, "Command router token has expired");
            } else {
                refused = faults.next(rpc).map(s -> error(s.getCode(), s.getDescription())).orElse(null);
            }
            if (refused != null) {
                call.close(refused.getStatus(), refused.getTrailers());
                return new ServerCall.Listener<>() { };
            }
            Context context = Context.current().withValue(ROUTER_TASK,
                    claims.get().subject().substring("task:".length()));
            return Contexts.interceptCall(context, call, headers, next);
        }
    }

    /** Builds a {@link FakeModal}. */
    public static final class Builder {
        private boolean tls;
        private boolean docker = true;
        private Duration authTokenLifetime = Duration.ofMinutes(30);
        private Duration routerJwtLifetime = Duration.ofMinutes(30);

        public Builder tls(boolean value) {
            this.tls = value;
            return this;
        }

        /** Without Docker the fake answers everything but sandbox creation (for client tests). */
        public Builder docker(boolean value) {
            this.docker = value;
            return this;
        }

        public Builder authTokenLifetime(Duration value) {
            this.authTokenLifetime = value;
            return this;
        }

        public Builder routerJwtLifetime(Duration value) {
            this.routerJwtLifetime = value;
            return this;
        }

        public FakeModal start() {
            try {
                return new FakeModal(this);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot start the fake Modal", e);
            }
        }
    }
}
