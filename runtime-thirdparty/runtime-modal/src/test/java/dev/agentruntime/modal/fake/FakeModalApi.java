package dev.agentruntime.modal.fake;

import dev.agentruntime.fake.ExecSpec;
import dev.agentruntime.fake.ExitStatus;
import dev.agentruntime.fake.FakeSandbox;
import dev.agentruntime.fake.SandboxHost;
import dev.agentruntime.fake.SandboxProcess;
import dev.agentruntime.fake.SandboxSpec;
import dev.agentruntime.fake.SandboxState;
import dev.agentruntime.fake.TimeoutAction;
import dev.agentruntime.fake.http.FakeHttpServer;
import dev.agentruntime.fake.http.SandboxProxy;
import dev.agentruntime.modal.internal.proto.AppGetOrCreateRequest;
import dev.agentruntime.modal.internal.proto.AppGetOrCreateResponse;
import dev.agentruntime.modal.internal.proto.AuthTokenGetRequest;
import dev.agentruntime.modal.internal.proto.AuthTokenGetResponse;
import dev.agentruntime.modal.internal.proto.GenericResult;
import dev.agentruntime.modal.internal.proto.GenericResult.GenericStatus;
import dev.agentruntime.modal.internal.proto.ImageGetOrCreateRequest;
import dev.agentruntime.modal.internal.proto.ImageGetOrCreateResponse;
import dev.agentruntime.modal.internal.proto.ImageJoinStreamingRequest;
import dev.agentruntime.modal.internal.proto.ImageJoinStreamingResponse;
import dev.agentruntime.modal.internal.proto.ModalClientGrpc;
import dev.agentruntime.modal.internal.proto.ObjectCreationType;
import dev.agentruntime.modal.internal.proto.PortSpec;
import dev.agentruntime.modal.internal.proto.Sandbox;
import dev.agentruntime.modal.internal.proto.SandboxCreateRequest;
import dev.agentruntime.modal.internal.proto.SandboxCreateResponse;
import dev.agentruntime.modal.internal.proto.SandboxGetTaskIdRequest;
import dev.agentruntime.modal.internal.proto.SandboxGetTaskIdResponse;
import dev.agentruntime.modal.internal.proto.SandboxGetTunnelsRequest;
import dev.agentruntime.modal.internal.proto.SandboxGetTunnelsResponse;
import dev.agentruntime.modal.internal.proto.SandboxInfo;
import dev.agentruntime.modal.internal.proto.SandboxListRequest;
import dev.agentruntime.modal.internal.proto.SandboxListResponse;
import dev.agentruntime.modal.internal.proto.SandboxTag;
import dev.agentruntime.modal.internal.proto.SandboxTerminateRequest;
import dev.agentruntime.modal.internal.proto.SandboxTerminateResponse;
import dev.agentruntime.modal.internal.proto.SandboxWaitRequest;
import dev.agentruntime.modal.internal.proto.SandboxWaitResponse;
import dev.agentruntime.modal.internal.proto.SecretGetOrCreateRequest;
import dev.agentruntime.modal.internal.proto.SecretGetOrCreateResponse;
import dev.agentruntime.modal.internal.proto.TaskGetCommandRouterAccessRequest;
import dev.agentruntime.modal.internal.proto.TaskGetCommandRouterAccessResponse;
import dev.agentruntime.modal.internal.proto.TaskInfo;
import dev.agentruntime.modal.internal.proto.TaskLogs;
import dev.agentruntime.modal.internal.proto.TunnelData;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/** The fake's {@code modal.client.ModalClient}: apps, images, secrets, sandboxes, tunnels, router access. */
public final class FakeModalApi extends ModalClientGrpc.ModalClientImplBase {

    static final Set<String> ENVIRONMENTS = Set.of("main");
    static final int MAX_TIMEOUT_SECS = 24 * 60 * 60;
    private static final int LIST_PAGE = 100;
    private static final AtomicLong IDS = new AtomicLong();

    private final FakeModal modal;
    final Map<String, String> apps = new ConcurrentHashMap<>();
    final Map<String, Image> images = new ConcurrentHashMap<>();
    final Map<String, Map<String, String>> secrets = new ConcurrentHashMap<>();
    final Map<String, ModalSandbox> sandboxes = new ConcurrentHashMap<>();
    final Map<String, ModalSandbox> tasks = new ConcurrentHashMap<>();
    /** Images the fake can "pull": those present on the local engine that tests use. */
    final Set<String> localImages = ConcurrentHashMap.newKeySet();
    private final ExecutorService creators = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-modal-create");
        t.setDaemon(true);
        return t;
    });

    FakeModalApi(FakeModal modal) {
        this.modal = modal;
        localImages.add(SandboxHost.DEFAULT_IMAGE);
        modal.timers.scheduleAtFixedRate(this::endIdleSandboxes, 250, 250, TimeUnit.MILLISECONDS);
    }

    /** A recipe the fake can build: {@code FROM} a local image, then {@code RUN} and {@code ENV} steps. */
    record Image(String id, List<String> recipe, CompletableFuture<GenericResult> built) {
        String from() {
            return recipe.get(0).strip().substring(5).strip();
        }
    }

    /** One sandbox: its definition, its container once created, its tunnels, how it ended. */
    public static final class ModalSandbox {
        final String id;
        final String appId;
        final Sandbox definition;
        final Map<String, String> tags;
        final double createdAt;
        final CompletableFuture<String> task = new CompletableFuture<>();
        final CompletableFuture<GenericResult> end = new CompletableFuture<>();
        final Map<Integer, FakeHttpServer> tunnels = new ConcurrentHashMap<>();
        final Map<String, SandboxProcess> execs = new ConcurrentHashMap<>();
        final Map<String, Long> stdinWritten = new ConcurrentHashMap<>();
        volatile FakeSandbox box;
        volatile Instant lastActivity = Instant.now();
        volatile boolean idleEnding;
        volatile boolean terminating;
        volatile boolean expiring;

        ModalSandbox(String id, String appId, Sandbox definition, Map<String, String> tags) {
            this.id = id;
            this.appId = appId;
            this.definition = definition;
            this.tags = Map.copyOf(tags);
            this.createdAt = System.currentTimeMillis() / 1000.0 + IDS.incrementAndGet() * 1e-6;
        }

        public String id() {
            return id;
        }

        public Map<String, String> tags() {
            return tags;
        }

        public Sandbox definition() {
            return definition;
        }

        public Optional<GenericResult> result() {
            return Optional.ofNullable(end.getNow(null));
        }

        public Optional<FakeSandbox> container() {
            return Optional.ofNullable(box);
        }

        void touch() {
            lastActivity = Instant.now();
        }

        /** Ends the sandbox now as its timeout would (the fault "a sandbox hitting its timeout"). */
        public void expire() {
            expiring = true;
            FakeSandbox current = box;
            if (current != null) {
                current.kill();
            }
        }
    }

    void close() {
        creators.shutdownNow();
        sandboxes.values().forEach(s -> s.tunnels.values().forEach(FakeHttpServer::close));
    }

    // ----------------------------------------------------------------------------------------------- auth ---

    @Override
    public void authTokenGet(AuthTokenGetRequest request, StreamObserver<AuthTokenGetResponse> out) {
        String token = modal.jwt.issue("auth:" + modal.tokenId, Instant.now().plus(modal.authTokenLifetime));
        reply(out, AuthTokenGetResponse.newBuilder().setToken(token).build());
    }

    // ----------------------------------------------------------------------------------------------- apps ---

    @Override
    public void appGetOrCreate(AppGetOrCreateRequest request, StreamObserver<AppGetOrCreateResponse> out) {
        if (request.getAppName().isBlank()) {
            FakeModal.fail(out, Status.Code.INVALID_ARGUMENT, "App name must not be empty");
            return;
        }
        Optional<String> environment = environment(request.getEnvironmentName(), out);
        if (environment.isEmpty()) {
            return;
        }
        String key = environment.get() + "/" + request.getAppName();
        switch (request.getObjectCreationType()) {
            case OBJECT_CREATION_TYPE_CREATE_IF_MISSING -> reply(out, AppGetOrCreateResponse.newBuilder()
                    .setAppId(apps.computeIfAbsent(key, k -> "ap-" + id())).build());
            case OBJECT_CREATION_TYPE_UNSPECIFIED -> {
                String appId = apps.get(key);
                if (appId == null) {
                    FakeModal.fail(out, Status.Code.NOT_FOUND, "App '" + request.getAppName() + "' not found in"
                            + " environment '" + environment.get() + "'");
                } else {
                    reply(out, AppGetOrCreateResponse.newBuilder().setAppId(appId).build());
                }
            }
            default -> FakeModal.fail(out, Status.Code.INVALID_ARGUMENT, "Unsupported object creation type "
                    + request.getObjectCreationType() + " for apps");
        }
    }

    private <T> Optional<String> environment(String name, StreamObserver<T> out) {
        String environment = name.isEmpty() ? "main" : name;
        if (!ENVIRONMENTS.contains(environment)) {
            FakeModal.fail(out, Status.Code.NOT_FOUND, "Environment '" + name + "' not found");
            return Optional.empty();
        }
        return Optional.of(environment);
    }

    private boolean knownApp(String appId) {
        return apps.containsValue(appId);
    }

    // --------------------------------------------------------------------------------------------- images ---

    @Override
    public void imageGetOrCreate(ImageGetOrCreateRequest request, StreamObserver<ImageGetOrCreateResponse> out) {
        if (!knownApp(request.getAppId())) {
            FakeModal.fail(out, Status.Code.NOT_FOUND, "App " + request.getAppId() + " not found");
            return;
        }
        List<String> recipe = request.getImage().getDockerfileCommandsList();
        if (recipe.isEmpty() || !recipe.get(0).strip().toUpperCase(Locale.ROOT).startsWith("FROM ")) {
            FakeModal.fail(out, Status.Code.INVALID_ARGUMENT, "Image definition must start with a FROM command");
            return;
        }
        if (request.getBuilderVersion().isEmpty()) {
            FakeModal.fail(out, Status.Code.INVALID_ARGUMENT, "Image builder version is required");
            return;
        }
        String id = "im-" + digest(String.join("\n", recipe) + "\n" + request.getBuilderVersion());
        Image image = images.computeIfAbsent(id, k -> new Image(k, List.copyOf(recipe), new CompletableFuture<>()));
        ImageGetOrCreateResponse.Builder response = ImageGetOrCreateResponse.newBuilder().setImageId(id);
        GenericResult built = image.built().getNow(null);
        if (built != null && !request.getForceBuild()) {
            response.setResult(built);
        }
        reply(out, response.build());
    }

    @Override
    public void imageJoinStreaming(ImageJoinStreamingRequest request,
                                   StreamObserver<ImageJoinStreamingResponse> out) {
        Image image = images.get(request.getImageId());
        if (image == null) {
            FakeModal.fail(out, Status.Code.NOT_FOUND, "Image " + request.getImageId() + " not found");
            return;
        }
        List<String> log = new ArrayList<>();
        log.add("Building image " + image.id());
        for (int i = 0; i < image.recipe().size(); i++) {
            log.add("=> Step " + i + ": " + image.recipe().get(i));
        }
        long last = request.getLastEntryId().isEmpty() ? 0 : Long.parseLong(request.getLastEntryId());
        for (int i = 0; i < log.size(); i++) {
            if (i + 1 > last) {
                out.onNext(ImageJoinStreamingResponse.newBuilder().setEntryId(Long.toString(i + 1))
                        .addTaskLogs(TaskLogs.newBuilder().setData(log.get(i) + "\n")).build());
            }
        }
        GenericResult result = image.built().getNow(null);
        if (result == null) {
            result = build(image);
            image.built().complete(result);
            result = image.built().join();
        }
        out.onNext(ImageJoinStreamingResponse.newBuilder().setResult(result).setEof(true)
                .setEntryId(Long.toString(log.size() + 1)).build());
        out.onCompleted();
    }

    private GenericResult build(Image image) {
        if (!localImages.contains(image.from())) {
            return GenericResult.newBuilder().setStatus(GenericStatus.GENERIC_STATUS_FAILURE)
                    .setException("Failed to pull " + image.from() + ": pull access denied or image not found"
                            + " (the fake Modal builds only from local images " + localImages + ")").build();
        }
        for (String step : image.recipe().subList(1, image.recipe().size())) {
            String verb = step.strip().split("\\s+", 2)[0].toUpperCase(Locale.ROOT);
            if (!verb.equals("RUN") && !verb.equals("ENV")) {
                return GenericResult.newBuilder().setStatus(GenericStatus.GENERIC_STATUS_FAILURE)
                        .setException("The fake Modal builds FROM, RUN and ENV steps only, not " + verb).build();
            }
        }
        return GenericResult.newBuilder().setStatus(GenericStatus.GENERIC_STATUS_SUCCESS).build();
    }

    // -------------------------------------------------------------------------------------------- secrets ---

    @Override
    public void secretGetOrCreate(SecretGetOrCreateRequest request, StreamObserver<SecretGetOrCreateResponse> out) {
        if (environment(request.getEnvironmentName(), out).isEmpty()) {
            return;
        }
        if (request.getObjectCreationType() != ObjectCreationType.OBJECT_CREATION_TYPE_EPHEMERAL) {
            FakeModal.fail(out, Status.Code.INVALID_ARGUMENT, "The fake Modal supports ephemeral secrets only");
            return;
        }
        for (String name : request.getEnvDictMap().keySet()) {
            if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                FakeModal.fail(out, Status.Code.INVALID_ARGUMENT, "Invalid secret key '" + name + "'");
                return;
            }
        }
        String id = "st-" + id();
        secrets.put(id, Map.copyOf(request.getEnvDictMap()));
        reply(out, SecretGetOrCreateResponse.newBuilder().setSecretId(id).build());
    }

    // ------------------------------------------------------------------------------------------ sandboxes ---

    @Override
    public void sandboxCreate(SandboxCreateRequest request, StreamObserver<SandboxCreateResponse> out) {
        Sandbox def = request.getDefinition();
        String invalid = validate(request);
        if (invalid != null) {
            FakeModal.fail(out, Status.Code.INVALID_ARGUMENT, invalid);
            return;
        }
        if (!knownApp(request.getAppId())) {
            FakeModal.fail(out, Status.Code.NOT_FOUND, "App " + request.getAppId() + " not found");
            return;
        }
        Image image = images.get(def.getImageId());
        if (image == null || image.built().getNow(null) == null
                || image.built().join().getStatus() != GenericStatus.GENERIC_STATUS_SUCCESS) {
            FakeModal.fail(out, Status.Code.FAILED_PRECONDITION, "Image " + def.getImageId() + " is not built");
            return;
        }
        for (String secret : def.getSecretIdsList()) {
            if (!secrets.containsKey(secret)) {
                FakeModal.fail(out, Status.Code.NOT_FOUND, "Secret " + secret + " not found");
                return;
            }
        }
        if (def.hasName() && sandboxes.values().stream().anyMatch(s -> s.definition.hasName()
                && s.definition.getName().equals(def.getName()) && s.end.getNow(null) == null)) {
            FakeModal.fail(out, Status.Code.ALREADY_EXISTS, "A sandbox named '" + def.getName() + "' already exists");
            return;
        }
        if (modal.host == null) {
            FakeModal.fail(out, Status.Code.UNAVAILABLE, "This fake Modal runs without Docker: no sandboxes");
            return;
        }
        Map<String, String> tags = new LinkedHashMap<>();
        request.getTagsList().forEach(t -> tags.put(t.getTagName(), t.getTagValue()));
        ModalSandbox sandbox = new ModalSandbox("sb-" + id(), request.getAppId(), def, tags);
        sandboxes.put(sandbox.id, sandbox);
        creators.submit(() -> start(sandbox, image));
        reply(out, SandboxCreateResponse.newBuilder().setSandboxId(sandbox.id).build());
    }

    private static String validate(SandboxCreateRequest request) {
        Sandbox def = request.getDefinition();
        if (!request.hasDefinition()) {
            return "Sandbox definition is required";
        }
        if (def.getTimeoutSecs() > MAX_TIMEOUT_SECS) {
            return "Sandbox timeout must be at most " + MAX_TIMEOUT_SECS + " seconds";
        }
        if (def.hasIdleTimeoutSecs() && (def.getIdleTimeoutSecs() == 0 || def.getIdleTimeoutSecs() > MAX_TIMEOUT_SECS)) {
            return "Sandbox idle timeout must be between 1 and " + MAX_TIMEOUT_SECS + " seconds";
        }
        if (def.hasWorkdir() && !def.getWorkdir().startsWith("/")) {
            return "workdir must be an absolute path";
        }
        Set<Integer> seen = new java.util.HashSet<>();
        for (PortSpec port : def.getOpenPorts().getPortsList()) {
            if (port.getPort() < 1 || port.getPort() > 65535 || !seen.add(port.getPort())) {
                return "Invalid or duplicate port " + port.getPort();
            }
        }
        for (SandboxTag tag : request.getTagsList()) {
            if (tag.getTagName().isEmpty() || tag.getTagName().length() > 256 || tag.getTagValue().length() > 256) {
                return "Tag names must be 1-256 characters and values at most 256";
            }
        }
        return null;
    }

    /** Creates the container (as Modal schedules the task after SandboxCreate answered). */
    private void start(ModalSandbox sandbox, Image image) {
        Sandbox def = sandbox.definition;
        try {
            Map<String, String> env = new LinkedHashMap<>();
            for (String step : image.recipe().subList(1, image.recipe().size())) {
                String[] parts = step.strip().split("\\s+", 2);
                if (parts[0].equalsIgnoreCase("ENV") && parts.length == 2) {
                    String[] kv = parts[1].split("[=\\s]", 2);
                    env.put(kv[0], kv.length > 1 ? kv[1].strip() : "");
                }
            }
            def.getSecretIdsList().forEach(s -> env.putAll(secrets.get(s)));
            env.putAll(def.getEnvironmentVariables().getContentsMap());
            int timeout = def.getTimeoutSecs() == 0 ? 300 : def.getTimeoutSecs();
            SandboxSpec.Builder spec = SandboxSpec.builder().image(image.from()).env(env)
                    .timeout(Duration.ofSeconds(timeout)).onTimeout(TimeoutAction.KILL)
                    .label("dev.agentruntime.fake.modal.sandbox", sandbox.id);
            if (def.getEntrypointArgsCount() > 0) {
                spec.command(def.getEntrypointArgsList().toArray(String[]::new));
            } else {
                spec.command("sleep", "172800");
            }
            if (def.getResources().getMilliCpu() > 0) {
                spec.cpus(def.getResources().getMilliCpu() / 1000.0);
            }
            if (def.getResources().getMemoryMb() > 0) {
                spec.memoryBytes(def.getResources().getMemoryMb() * 1024L * 1024L);
            }
            if (def.hasWorkdir()) {
                spec.workingDir(def.getWorkdir());
            }
            FakeSandbox box = modal.host.create(spec.build());
            sandbox.box = box;
            box.addStateListener(state -> {
                if (state.status() == SandboxState.Status.DEAD) {
                    finish(sandbox, resultFor(sandbox, state));
                }
            });
            for (String step : image.recipe().subList(1, image.recipe().size())) {
                String[] parts = step.strip().split("\\s+", 2);
                if (parts[0].equalsIgnoreCase("RUN")) {
                    ExitStatus status = box.exec(ExecSpec.shell(parts[1]).build()).waitFor(Duration.ofMinutes(5));
                    if (status.code() != 0) {
                        throw new IllegalStateException("image step '" + step + "' failed with " + status);
                    }
                }
            }
            for (PortSpec port : def.getOpenPorts().getPortsList()) {
                sandbox.tunnels.put(port.getPort(), tunnel(sandbox, port.getPort()));
            }
            String taskId = "ta-" + id();
            tasks.put(taskId, sandbox);
            sandbox.touch();
            sandbox.task.complete(taskId);
            if (sandbox.terminating) {
                box.kill();
            }
        } catch (Exception e) {
            finish(sandbox, GenericResult.newBuilder().setStatus(GenericStatus.GENERIC_STATUS_INIT_FAILURE)
                    .setException(e.toString()).build());
            Optional.ofNullable(sandbox.box).ifPresent(FakeSandbox::kill);
        }
    }

    private static GenericResult resultFor(ModalSandbox sandbox, SandboxState state) {
        GenericResult.Builder result = GenericResult.newBuilder();
        if (sandbox.idleEnding) {
            return result.setStatus(GenericStatus.GENERIC_STATUS_IDLE_TIMEOUT).setException("Sandbox idle timeout"
                    + " of " + sandbox.definition.getIdleTimeoutSecs() + "s reached").build();
        }
        if (sandbox.expiring) {
            return result.setStatus(GenericStatus.GENERIC_STATUS_TIMEOUT).setException("Sandbox timed out after "
                    + sandbox.definition.getTimeoutSecs() + "s").build();
        }
        return switch (state.reason()) {
            case TIMED_OUT -> result.setStatus(GenericStatus.GENERIC_STATUS_TIMEOUT).setException("Sandbox timed out"
                    + " after " + sandbox.definition.getTimeoutSecs() + "s").build();
            case MAIN_PROCESS_EXITED -> state.exitCode().orElse(0) == 0
                    ? result.setStatus(GenericStatus.GENERIC_STATUS_SUCCESS).build()
                    : result.setStatus(GenericStatus.GENERIC_STATUS_FAILURE).setExitcode(state.exitCode().get())
                            .build();
            case OUT_OF_MEMORY -> result.setStatus(GenericStatus.GENERIC_STATUS_MEMORY_MANAGER_EVICTION).build();
            default -> result.setStatus(GenericStatus.GENERIC_STATUS_TERMINATED).build();
        };
    }

    private void finish(ModalSandbox sandbox, GenericResult result) {
        if (sandbox.end.complete(result)) {
            sandbox.task.completeExceptionally(new IllegalStateException("sandbox ended"));
            sandbox.tunnels.values().forEach(FakeHttpServer::close);
        }
    }

    private FakeHttpServer tunnel(ModalSandbox sandbox, int port) {
        SandboxProxy proxy = SandboxProxy.builder()
                .router(request -> Optional.of(new SandboxProxy.Route(sandbox.id, sandbox.box.address(port))))
                .build();
        Handler.Wrapper activity = new Handler.Wrapper(proxy) {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                sandbox.touch();
                return super.handle(request, response, callback);
            }
        };
        return FakeHttpServer.builder("modal-tunnel-" + sandbox.id + "-" + port).handler(activity).maxThreads(16)
                .start();
    }

    private void endIdleSandboxes() {
        Instant now = Instant.now();
        for (ModalSandbox sandbox : sandboxes.values()) {
            FakeSandbox box = sandbox.box;
            if (box == null || !sandbox.task.isDone() || sandbox.end.isDone()
                    || !sandbox.definition.hasIdleTimeoutSecs()) { // idle time counts once the task runs
                continue;
            }
            if (!sandbox.execs.values().stream().filter(SandboxProcess::isRunning).toList().isEmpty()) {
                sandbox.touch(); // a running exec is activity
                continue;
            }
            if (now.isAfter(sandbox.lastActivity.plusSeconds(sandbox.definition.getIdleTimeoutSecs()))) {
                sandbox.idleEnding = true;
                box.kill();
            }
        }
    }

    @Override
    public void sandboxGetTaskId(SandboxGetTaskIdRequest request, StreamObserver<SandboxGetTaskIdResponse> out) {
        ModalSandbox sandbox = sandbox(request.getSandboxId(), out);
        if (sandbox == null) {
            return;
        }
        awaitEither(sandbox, request.hasTimeout() ? request.getTimeout() : 0);
        SandboxGetTaskIdResponse.Builder response = SandboxGetTaskIdResponse.newBuilder();
        GenericResult result = sandbox.end.getNow(null);
        if (result != null) {
            response.setTaskResult(result);
        } else if (sandbox.task.isDone()) {
            response.setTaskId(sandbox.task.join());
        }
        reply(out, response.build());
    }

    @Override
    public void sandboxWait(SandboxWaitRequest request, StreamObserver<SandboxWaitResponse> out) {
        ModalSandbox sandbox = sandbox(request.getSandboxId(), out);
        if (sandbox == null) {
            return;
        }
        try {
            sandbox.end.get(Math.max(0, Math.min(55_000, (long) (request.getTimeout() * 1000))),
                    TimeUnit.MILLISECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException ignored) {
            // still running
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        SandboxWaitResponse.Builder response = SandboxWaitResponse.newBuilder();
        sandbox.result().ifPresent(response::setResult);
        reply(out, response.build());
    }

    @Override
    public void sandboxTerminate(SandboxTerminateRequest request, StreamObserver<SandboxTerminateResponse> out) {
        ModalSandbox sandbox = sandbox(request.getSandboxId(), out);
        if (sandbox == null) {
            return;
        }
        SandboxTerminateResponse.Builder response = SandboxTerminateResponse.newBuilder();
        sandbox.result().ifPresent(response::setExistingResult);
        sandbox.terminating = true;
        FakeSandbox box = sandbox.box;
        if (box != null) {
            box.kill();
        }
        reply(out, response.build());
    }

    @Override
    public void sandboxList(SandboxListRequest request, StreamObserver<SandboxListResponse> out) {
        if (environment(request.getEnvironmentName(), out).isEmpty()) {
            return;
        }
        List<ModalSandbox> matching = sandboxes.values().stream()
                .filter(s -> request.getAppId().isEmpty() || s.appId.equals(request.getAppId()))
                .filter(s -> request.getIncludeFinished() || !s.end.isDone())
                .filter(s -> request.getBeforeTimestamp() == 0 || s.createdAt < request.getBeforeTimestamp())
                .filter(s -> request.getTagsList().stream().allMatch(t -> t.getTagValue()
                        .equals(s.tags.get(t.getTagName()))))
                .sorted((a, b) -> Double.compare(b.createdAt, a.createdAt)).limit(LIST_PAGE).toList();
        SandboxListResponse.Builder response = SandboxListResponse.newBuilder();
        for (ModalSandbox s : matching) {
            SandboxInfo.Builder info = SandboxInfo.newBuilder().setId(s.id).setAppId(s.appId)
                    .setCreatedAt(s.createdAt).setImageId(s.definition.getImageId())
                    .setTimeoutSecs(s.definition.getTimeoutSecs()).addAllTags(ModalTags.of(s.tags));
            TaskInfo.Builder task = TaskInfo.newBuilder();
            if (s.task.isDone() && !s.task.isCompletedExceptionally()) {
                task.setId(s.task.join());
            }
            s.result().ifPresent(r -> task.setResult(r).setFinishedAt(System.currentTimeMillis() / 1000.0));
            info.setTaskInfo(task);
            s.tunnels.forEach((port, server) -> info.addTunnels(tunnelData(port, server)));
            response.addSandboxes(info);
        }
        reply(out, response.build());
    }

    @Override
    public void sandboxGetTunnels(SandboxGetTunnelsRequest request, StreamObserver<SandboxGetTunnelsResponse> out) {
        ModalSandbox sandbox = sandbox(request.getSandboxId(), out);
        if (sandbox == null) {
            return;
        }
        awaitEither(sandbox, request.getTimeout());
        SandboxGetTunnelsResponse.Builder response = SandboxGetTunnelsResponse.newBuilder();
        GenericResult result = sandbox.end.getNow(null);
        if (result != null) {
            response.setResult(result);
        } else if (sandbox.task.isDone()) {
            response.setResult(GenericResult.newBuilder().setStatus(GenericStatus.GENERIC_STATUS_SUCCESS));
            sandbox.tunnels.forEach((port, server) -> response.addTunnels(tunnelData(port, server)));
        }
        reply(out, response.build());
    }

    private static TunnelData tunnelData(int port, FakeHttpServer server) {
        return TunnelData.newBuilder().setHost("127.0.0.1").setPort(server.port()).setContainerPort(port).build();
    }

    @Override
    public void taskGetCommandRouterAccess(TaskGetCommandRouterAccessRequest request,
                                           StreamObserver<TaskGetCommandRouterAccessResponse> out) {
        ModalSandbox sandbox = tasks.get(request.getTaskId());
        if (sandbox == null) {
            FakeModal.fail(out, Status.Code.NOT_FOUND, "Task " + request.getTaskId() + " not found");
            return;
        }
        if (sandbox.end.isDone()) {
            FakeModal.fail(out, Status.Code.FAILED_PRECONDITION, "Task " + request.getTaskId() + " has finished");
            return;
        }
        reply(out, TaskGetCommandRouterAccessResponse.newBuilder()
                .setJwt(modal.jwt.issue("task:" + request.getTaskId(), Instant.now().plus(modal.routerJwtLifetime)))
                .setUrl(modal.routerUrl().toString()).build());
    }

    // ---------------------------------------------------------------------------------------------- misc ---

    private <T> ModalSandbox sandbox(String id, StreamObserver<T> out) {
        ModalSandbox sandbox = sandboxes.get(id);
        if (sandbox == null) {
            FakeModal.fail(out, Status.Code.NOT_FOUND, "Sandbox " + id + " not found");
        }
        return sandbox;
    }

    /** Waits up to {@code seconds} (at most 55 s) until the sandbox's task runs or it ended. */
    private static void awaitEither(ModalSandbox sandbox, float seconds) {
        try {
            CompletableFuture.anyOf(sandbox.task, sandbox.end).get(Math.max(0, Math.min(55_000, (long) (seconds
                    * 1000))), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException ignored) {
            // answered as it is
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static <T> void reply(StreamObserver<T> out, T message) {
        if (Context.current().isCancelled()) {
            return;
        }
        out.onNext(message);
        out.onCompleted();
    }

    private static String id() {
        return Long.toString(System.nanoTime(), 36) + Long.toString(IDS.incrementAndGet(), 36);
    }

    private static String digest(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8))).substring(0, 20);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Tag lists. */
    static final class ModalTags {
        static List<SandboxTag> of(Map<String, String> tags) {
            return tags.entrySet().stream().map(e -> SandboxTag.newBuilder().setTagName(e.getKey())
                    .setTagValue(e.getValue()).build()).toList();
        }
    }
}
