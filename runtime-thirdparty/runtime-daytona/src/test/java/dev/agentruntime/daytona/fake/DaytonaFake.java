package dev.agentruntime.daytona.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.fake.ExecSpec;
import dev.agentruntime.fake.ExitStatus;
import dev.agentruntime.fake.FakeSandbox;
import dev.agentruntime.fake.SandboxFileException;
import dev.agentruntime.fake.SandboxHost;
import dev.agentruntime.fake.SandboxProcess;
import dev.agentruntime.fake.SandboxSpec;
import dev.agentruntime.fake.SandboxState;
import dev.agentruntime.fake.http.ErrorShape;
import dev.agentruntime.fake.http.Exchange;
import dev.agentruntime.fake.http.FakeHttpServer;
import dev.agentruntime.fake.http.Faults;
import dev.agentruntime.fake.http.HttpError;
import dev.agentruntime.fake.http.Json;
import dev.agentruntime.fake.http.Routes;
import dev.agentruntime.fake.http.SandboxProxy;
import dev.agentruntime.fake.http.Validator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.MultiPart;
import org.eclipse.jetty.http.MultiPartFormData;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A local Daytona on one real socket: the control plane under {@code /api} (Daytona's paths, {@code Sandbox} JSON,
 * its 22-state machine as far as a container can go, NestJS error bodies), the toolbox under
 * {@code /toolbox/{sandboxId}} (the daemon's paths and gin error bodies) and the preview proxy under
 * {@code /preview/{port}-{sandboxId}} (Daytona's previews are host-routed, {@code https://{port}-{id}.proxy...}; here
 * the URL the API hands out routes by path because nothing resolves made-up host names; clients use the URL as given).
 * Sandboxes are real Docker containers ({@link SandboxHost}).
 *
 * <p>Validates what Daytona validates: the bearer key (or JWT with {@code X-Daytona-Organization-ID}), body field
 * types, resources only with an image, list limits 1..200, {@code labels} as JSON, the toolbox only on a started
 * sandbox, pause only for a class that can. Faults ({@link #faults()}) inject 429s with Daytona's rate-limit
 * headers, 503s, holds; {@link #die(String, String)} kills a sandbox the way a crashed runner does.
 *
 * <p>Not faked: builds of real Dockerfiles ({@code buildInfo} is accepted for {@code FROM <local image>} only; anything
 * else ends in {@code build_failed}), archives, volumes, WebSocket log following, PTYs, and state persisting across
 * commands of a session (each session command runs in its own shell).
 */
public final class DaytonaFake implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DaytonaFake.class);
    /** The snapshot sandboxes get when the create names none (Daytona's {@code DEFAULT_SNAPSHOT}). */
    public static final String DEFAULT_SNAPSHOT = "daytonaio/sandbox:0.4.3";
    private static final Pattern FROM = Pattern.compile("(?im)^\\s*FROM\\s+(\\S+)\\s*$");
    private static final Pattern PREVIEW = Pattern.compile("^/preview/(\\d{1,5})-([A-Za-z0-9-]+)(/.*)?$");
    private static final Set<String> PAUSABLE = Set.of("linux-vm");

    private final String apiKey;
    private final Optional<String> jwt;
    private final Optional<String> organizationId;
    private final String sandboxClass;
    private final Map<String, String> snapshots;
    private final SandboxHost host;
    private final FakeHttpServer server;
    private final ExecutorService workers = Executors.newCachedThreadPool(daemon("daytona-fake"));
    private final Map<String, Box> boxes = new ConcurrentHashMap<>();
    private final AtomicInteger creates = new AtomicInteger();
    /** Signed preview tokens: the sandbox, the port and the expiry each opens. */
    private final Map<String, Signed> signed = new ConcurrentHashMap<>();

    private record Signed(String sandboxId, int port, Instant expiresAt) {
    }
    private final SecureRandom random = new SecureRandom();
    private final Routes api = new Routes(DaytonaFake::apiError);
    private final Routes toolbox = new Routes(DaytonaFake::toolboxError);

    /** One Daytona sandbox: its API view and the container behind it. */
    public final class Box {
        final String id;
        final String organization;
        final Map<String, String> labels;
        final Map<String, String> env;
        final String snapshot;
        final Optional<String> dockerfile;
        final String user;
        final int cpu;
        final int memory;
        final int disk;
        final String target;
        final Instant createdAt = Instant.now();
        volatile String state;
        volatile String desiredState = "started";
        volatile Optional<String> errorReason = Optional.empty();
        volatile int autoStopInterval;
        volatile int autoArchiveInterval;
        volatile int autoDeleteInterval;
        volatile Instant lastActivity = Instant.now();
        volatile FakeSandbox container;
        volatile String previewToken = token();
        final Map<String, Map<String, SessionCommand>> sessions = new ConcurrentHashMap<>();
        final java.util.concurrent.atomic.AtomicLong uploaded = new java.util.concurrent.atomic.AtomicLong();
        final AtomicInteger activityRefreshes = new AtomicInteger();

        Box(String id, JsonNode body, Validator v) {
            this.id = id;
            this.organization = "org-fake";
            this.labels = new LinkedHashMap<>(v.optionalStringMap(body, "labels"));
            this.env = v.optionalStringMap(body, "env");
            this.dockerfile = body.has("buildInfo") ? Optional.of(v.requireString(v.object(body.get("buildInfo")),
                    "dockerfileContent")) : Optional.empty();
            this.snapshot = v.optionalString(body, "snapshot").orElse(dockerfile.isPresent() ? "" : DEFAULT_SNAPSHOT);
            this.user = v.optionalString(body, "user").orElse("root");
            this.cpu = v.optionalInt(body, "cpu", 1, 64).orElse(1);
            this.memory = v.optionalInt(body, "memory", 1, 256).orElse(1);
            this.disk = v.optionalInt(body, "disk", 1, 1024).orElse(3);
            this.target = v.optionalString(body, "target").orElse("us");
            this.autoStopInterval = v.optionalInt(body, "autoStopInterval", 0, Integer.MAX_VALUE).orElse(15);
            this.autoArchiveInterval = v.optionalInt(body, "autoArchiveInterval", 0, Integer.MAX_VALUE).orElse(10080);
            this.autoDeleteInterval = v.optionalInt(body, "autoDeleteInterval", -1, Integer.MAX_VALUE).orElse(-1);
            this.state = dockerfile.isPresent() ? "pending_build" : "creating";
        }

        public String id() {
            return id;
        }

        public String state() {
            return state;
        }

        public Map<String, String> labels() {
            return Map.copyOf(labels);
        }

        public Map<String, String> env() {
            return Map.copyOf(env);
        }

        public int autoDeleteInterval() {
            return autoDeleteInterval;
        }

        public int autoStopInterval() {
            return autoStopInterval;
        }

        public Instant lastActivity() {
            return lastActivity;
        }

        /** How many {@code POST /sandbox/{id}/last-activity} calls it got. */
        public int activityRefreshes() {
            return activityRefreshes.get();
        }

        /** Bytes received through the toolbox's uploads. */
        public long uploadedBytes() {
            return uploaded.get();
        }

        public Optional<FakeSandbox> container() {
            return Optional.ofNullable(container);
        }

        ObjectNode json() {
            ObjectNode node = Json.object();
            node.put("id", id);
            node.put("organizationId", organization);
            node.put("name", id);
            node.put("snapshot", snapshot);
            node.put("user", user);
            node.set("env", Json.mapper().valueToTree(env));
            node.set("labels", Json.mapper().valueToTree(labels));
            node.put("public", false);
            node.put("networkBlockAll", false);
            node.put("target", target);
            node.put("cpu", cpu);
            node.put("gpu", 0);
            node.put("memory", memory);
            node.put("disk", disk);
            node.put("state", state);
            node.put("desiredState", desiredState);
            errorReason.ifPresentOrElse(r -> node.put("errorReason", r), () -> node.putNull("errorReason"));
            node.put("recoverable", false);
            node.put("backupState", "None");
            node.put("autoStopInterval", autoStopInterval);
            node.put("autoArchiveInterval", autoArchiveInterval);
            node.put("autoDeleteInterval", autoDeleteInterval);
            node.set("volumes", Json.array());
            dockerfile.ifPresent(d -> node.putObject("buildInfo").put("dockerfileContent", d)
                    .put("snapshotRef", "fake-build-" + id));
            node.put("createdAt", createdAt.toString());
            node.put("updatedAt", Instant.now().toString());
            node.put("lastActivityAt", lastActivity.toString());
            node.put("sandboxClass", sandboxClass);
            node.put("daemonVersion", "v0.190.0");
            node.put("runnerId", "runner-fake");
            node.put("toolboxProxyUrl", server.uri() + "/toolbox");
            return node;
        }
    }

    /** A command run in a toolbox session. */
    record SessionCommand(String id, String command, SandboxProcess process, ByteArrayOutputStream stdout,
                          ByteArrayOutputStream stderr) {
    }

    private DaytonaFake(Builder b) {
        this.apiKey = b.apiKey;
        this.jwt = Optional.ofNullable(b.jwt);
        this.organizationId = Optional.ofNullable(b.organizationId);
        this.sandboxClass = b.sandboxClass;
        this.snapshots = Map.copyOf(b.snapshots);
        this.host = SandboxHost.builder().name("daytona").build();
        apiRoutes();
        toolboxRoutes();
        SandboxProxy preview = SandboxProxy.builder()
                .router(this::previewRoute)
                .authorizer(this::previewAuth)
                .removeRequestHeaders("X-Daytona-Preview-Token", "X-Daytona-Skip-Preview-Warning")
                .unreachable((route, failure) -> HttpError.text(502, "Daytona preview: port of sandbox "
                        + route.sandboxId() + " is not reachable (" + failure.getMessage() + ")"))
                .build();
        Handler.Abstract dispatch = new Handler.Abstract() {
            @Override
            public boolean handle(Request request, org.eclipse.jetty.server.Response response,
                                  org.eclipse.jetty.util.Callback callback) throws Exception {
                String path = request.getHttpURI().getPath();
                if (path.startsWith("/toolbox/")) {
                    return toolbox.handle(request, response, callback);
                }
                return api.handle(request, response, callback);
            }
        };
        this.server = FakeHttpServer.builder("daytona").handler(new Handler.Sequence(preview, dispatch)).start();
        workers.submit(this::autoStopLoop);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The API base, e.g. {@code http://127.0.0.1:41234/api} (Daytona's {@code DAYTONA_API_URL}). */
    public URI apiUrl() {
        return URI.create(server.uri() + "/api");
    }

    public Faults faults() {
        return server.faults();
    }

    /** Every sandbox the fake knows, destroyed ones included until they are forgotten. */
    public List<Box> sandboxes() {
        return List.copyOf(boxes.values());
    }

    public Optional<Box> sandbox(String id) {
        return Optional.ofNullable(boxes.get(id));
    }

    /** How many creates were accepted. */
    public int creates() {
        return creates.get();
    }

    /** A sandbox that dies the way a crashed runner leaves it: container gone, state {@code error} with a reason. */
    public void die(String id, String reason) {
        Box box = boxes.get(id);
        if (box == null) {
            throw new IllegalArgumentException("no sandbox " + id);
        }
        box.errorReason = Optional.of(reason);
        box.state = "error";
        FakeSandbox c = box.container;
        if (c != null) {
            c.kill();
        }
    }

    /** Containers still present on the engine (for leak checks). */
    public List<String> containerIds() {
        return host.containerIds();
    }

    @Override
    public void close() {
        server.close();
        workers.shutdownNow();
        host.close();
    }

    // ------------------------------------------------------------------------------------------------ API ---

    private void apiRoutes() {
        api.post("/api/sandbox", this::create);
        api.get("/api/sandbox", this::list);
        api.get("/api/sandbox/{id}", ex -> ex.respond(200, box(ex, ex.pathParam("id")).json()));
        api.delete("/api/sandbox/{id}", this::delete);
        api.post("/api/sandbox/{id}/start", this::start);
        api.post("/api/sandbox/{id}/stop", this::stop);
        api.post("/api/sandbox/{id}/pause", this::pause);
        api.post("/api/sandbox/{id}/last-activity", ex -> {
            Box box = box(ex, ex.pathParam("id"));
            box.lastActivity = Instant.now();
            box.activityRefreshes.incrementAndGet();
            ex.empty(201);
        });
        api.post("/api/sandbox/{id}/autostop/{minutes}", ex -> {
            Box box = box(ex, ex.pathParam("id"));
            box.autoStopInterval = minutes(ex, "minutes");
            ex.empty(200);
        });
        api.post("/api/sandbox/{id}/autodelete/{minutes}", ex -> {
            Box box = box(ex, ex.pathParam("id"));
            box.autoDeleteInterval = Integer.parseInt(ex.pathParam("minutes"));
            ex.empty(200);
        });
        api.get("/api/sandbox/{id}/toolbox-proxy-url", ex -> {
            box(ex, ex.pathParam("id"));
            ex.respond(200, Map.of("url", server.uri() + "/toolbox"));
        });
        api.get("/api/sandbox/{id}/ports/{port}/preview-url", ex -> {
            Box box = box(ex, ex.pathParam("id"));
            int port = parsePort(ex.pathParam("port"));
            ex.respond(200, Map.of("sandboxId", box.id, "url", server.uri() + "/preview/" + port + "-" + box.id,
                    "token", box.previewToken));
        });
        api.get("/api/sandbox/{id}/ports/{port}/signed-preview-url", ex -> {
            Box box = box(ex, ex.pathParam("id"));
            int port = parsePort(ex.pathParam("port"));
            int seconds = ex.query("expiresInSeconds").map(t -> parseInt(new Validator((st, m) -> apiErrorBody(st, m,
                    ex), 400), "expiresInSeconds", t)).orElse(60);
            if (seconds < 1 || seconds > 86400) {
                throw HttpError.json(400, apiErrorBody(400, "expiresInSeconds must be between 1 and 86400", ex));
            }
            String token = token();
            signed.put(token, new Signed(box.id, port, Instant.now().plusSeconds(seconds)));
            ex.respond(200, Map.of("sandboxId", box.id, "port", port, "token", token,
                    "url", server.uri() + "/preview/" + port + "-" + token));
        });
        api.get("/api/config", ex -> ex.respond(200, Map.of("analyticsApiUrl", server.uri() + "/analytics",
                "defaultSnapshot", DEFAULT_SNAPSHOT)));
    }

    private void authenticate(Exchange ex) {
        String auth = ex.header("Authorization").orElse("");
        if (auth.equals("Bearer " + apiKey)) {
            return;
        }
        if (jwt.isPresent() && auth.equals("Bearer " + jwt.get())) {
            if (ex.header("X-Daytona-Organization-ID").equals(organizationId)) {
                return;
            }
            throw HttpError.json(403, apiErrorBody(403, "Organization ID is required for JWT authentication", ex));
        }
        throw HttpError.json(401, apiErrorBody(401, "Unauthorized", ex));
    }

    private Box box(Exchange ex, String idOrName) {
        authenticate(ex);
        Box box = boxes.get(idOrName);
        if (box == null) {
            throw HttpError.json(404, apiErrorBody(404, "Sandbox with ID or name " + idOrName + " not found", ex));
        }
        return box;
    }

    private void create(Exchange ex) {
        authenticate(ex);
        JsonNode body = ex.json();
        Validator v = new Validator((st, m) -> apiErrorBody(st, m, ex), 400);
        v.object(body);
        if (body.has("snapshot") && body.has("buildInfo")) {
            throw v.error("Cannot specify both snapshot and buildInfo");
        }
        if (!body.has("buildInfo") && (body.has("cpu") || body.has("memory") || body.has("disk"))) {
            throw v.error("Cannot specify Sandbox resources when using a snapshot");
        }
        String id = UUID.randomUUID().toString();
        Box box = new Box(id, body, v);
        String image;
        if (box.dockerfile.isPresent()) {
            Matcher m = FROM.matcher(box.dockerfile.get());
            image = m.find() ? m.group(1) : null;
        } else {
            image = snapshots.get(box.snapshot);
            if (image == null) {
                throw v.error("Snapshot " + box.snapshot + " not found. Did you add it through the Daytona Dashboard?");
            }
        }
        boxes.put(id, box);
        creates.incrementAndGet();
        workers.submit(() -> provision(box, image));
        ex.respond(200, box.json());
    }

    private void provision(Box box, String image) {
        try {
            if (box.dockerfile.isPresent()) {
                box.state = "building_snapshot";
                if (image == null) {
                    fail(box, "build_failed", "Dockerfile has no FROM line");
                    return;
                }
            }
            SandboxSpec.Builder spec = SandboxSpec.builder().id(box.id).image(image).env(box.env)
                    .cpus(box.cpu).memoryBytes((long) box.memory << 30);
            if (!box.user.equals("root")) {
                spec.user(box.user);
            }
            FakeSandbox container = host.create(spec.build());
            box.container = container;
            container.addStateListener(state -> onContainerState(box, state));
            if (box.state.equals("creating") || box.state.equals("building_snapshot")) {
                box.state = "started";
                box.lastActivity = Instant.now();
            } else {
                container.kill(); // deleted while it was being made
            }
        } catch (RuntimeException e) {
            log.info("daytona fake: sandbox {} failed to provision: {}", box.id, e.toString());
            fail(box, box.dockerfile.isPresent() ? "build_failed" : "error", e.getMessage());
        }
    }

    private static void fail(Box box, String state, String reason) {
        box.errorReason = Optional.of(reason);
        box.state = state;
    }

    private void onContainerState(Box box, SandboxState state) {
        if (state.status() == SandboxState.Status.DEAD && state.reason() != SandboxState.Reason.REQUESTED
                && state.reason() != SandboxState.Reason.HOST_CLOSED && !box.state.startsWith("destroy")) {
            fail(box, "error", "sandbox container died (" + state.reason() + ")");
        }
    }

    private void list(Exchange ex) {
        authenticate(ex);
        Validator v = new Validator((st, m) -> apiErrorBody(st, m, ex), 400);
        int limit = ex.query("limit").map(l -> parseInt(v, "limit", l)).orElse(100);
        if (limit < 1 || limit > 200) {
            throw v.error("limit must not be greater than 200 and not less than 1");
        }
        Map<String, String> wanted = ex.query("labels").map(text -> {
            JsonNode node = Json.parse(text).orElseThrow(() -> v.error("labels must be a valid JSON object"));
            return v.optionalStringMap(Json.object().set("labels", node), "labels");
        }).orElse(Map.of());
        int offset = ex.query("cursor").map(c -> {
            try {
                return Integer.parseInt(new String(Base64.getUrlDecoder().decode(c), StandardCharsets.UTF_8));
            } catch (RuntimeException e) {
                throw v.error("Invalid cursor");
            }
        }).orElse(0);
        List<Box> matching = boxes.values().stream()
                .filter(b -> !b.state.equals("destroyed"))
                .filter(b -> b.labels.entrySet().containsAll(wanted.entrySet()))
                .sorted((a, b) -> a.createdAt.compareTo(b.createdAt) != 0 ? a.createdAt.compareTo(b.createdAt)
                        : a.id.compareTo(b.id))
                .toList();
        ObjectNode answer = Json.object();
        ArrayNode items = answer.putArray("items");
        int end = Math.min(matching.size(), offset + limit);
        for (int i = offset; i < end; i++) {
            items.add(matching.get(i).json());
        }
        if (end < matching.size()) {
            answer.put("nextCursor", Base64.getUrlEncoder().withoutPadding()
                    .encodeToString(Integer.toString(end).getBytes(StandardCharsets.UTF_8)));
        } else {
            answer.putNull("nextCursor");
        }
        ex.respond(200, answer);
    }

    private void start(Exchange ex) {
        Box box = box(ex, ex.pathParam("id"));
        switch (box.state) {
            case "started" -> { }
            case "stopped" -> {
                box.state = "starting";
                box.desiredState = "started";
                workers.submit(() -> {
                    try {
                        box.container.start();
                        box.previewToken = token(); // the token resets when a sandbox starts again
                        box.state = "started";
                    } catch (RuntimeException e) {
                        fail(box, "error", "start failed: " + e.getMessage());
                    }
                });
            }
            case "paused" -> {
                box.state = "resuming";
                box.desiredState = "started";
                workers.submit(() -> {
                    box.container.resume();
                    box.state = "started";
                });
            }
            default -> throw HttpError.json(400, apiErrorBody(400, "Sandbox is not in a state that can be started"
                    + " (state: " + box.state + ")", ex));
        }
        box.lastActivity = Instant.now();
        ex.respond(200, box.json());
    }

    private void stop(Exchange ex) {
        Box box = box(ex, ex.pathParam("id"));
        if (!box.state.equals("started") && !box.state.equals("stopped")) {
            throw HttpError.json(400, apiErrorBody(400, "Sandbox is not started (state: " + box.state + ")", ex));
        }
        if (box.state.equals("started")) {
            box.state = "stopping";
            box.desiredState = "stopped";
            workers.submit(() -> stopNow(box));
        }
        ex.respond(200, box.json());
    }

    private void stopNow(Box box) {
        box.container.stop();
        box.state = "stopped";
        if (box.autoDeleteInterval == 0) {
            destroy(box);
        }
    }

    private void pause(Exchange ex) {
        Box box = box(ex, ex.pathParam("id"));
        if (!PAUSABLE.contains(sandboxClass)) {
            throw HttpError.json(400, apiErrorBody(400, "Pause is not supported for sandbox class " + sandboxClass,
                    ex));
        }
        if (!box.state.equals("started") && !box.state.equals("paused")) {
            throw HttpError.json(400, apiErrorBody(400, "Sandbox is not started (state: " + box.state + ")", ex));
        }
        if (box.state.equals("started")) {
            box.state = "pausing";
            box.desiredState = "paused";
            workers.submit(() -> {
                box.container.pause();
                box.state = "paused";
            });
        }
        ex.respond(200, box.json());
    }

    private void delete(Exchange ex) {
        Box box = box(ex, ex.pathParam("id"));
        if (box.state.equals("destroyed")) {
            throw HttpError.json(404, apiErrorBody(404, "Sandbox with ID or name " + box.id + " not found", ex));
        }
        destroy(box);
        ex.respond(200, box.json());
    }

    private void destroy(Box box) {
        box.state = "destroying";
        box.desiredState = "destroyed";
        workers.submit(() -> {
            FakeSandbox c = box.container;
            if (c != null) {
                c.kill();
                host.forget(box.id);
            }
            box.state = "destroyed";
        });
    }

    /** Daytona's auto-stop: a started sandbox without activity for its interval stops (then maybe deletes). */
    private void autoStopLoop() {
        while (!Thread.currentThread().isInterrupted()) {
            for (Box box : boxes.values()) {
                if (box.state.equals("started") && box.autoStopInterval > 0 && box.lastActivity
                        .plus(Duration.ofMinutes(box.autoStopInterval)).isBefore(Instant.now())) {
                    box.state = "stopping";
                    workers.submit(() -> stopNow(box));
                }
            }
            try {
                Thread.sleep(1000); // the fake's own scheduler tick
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    // -------------------------------------------------------------------------------------------- toolbox ---

    private void toolboxRoutes() {
        String t = "/toolbox/{sandbox}";
        toolbox.post(t + "/process/execute", this::execute);
        toolbox.post(t + "/process/session", ex -> {
            Box box = started(ex);
            String sid = new Validator((st, m) -> toolboxErrorBody(st, m, ex), 400).requireString(ex.json(), "sessionId");
            if (box.sessions.putIfAbsent(sid, new ConcurrentHashMap<>()) != null) {
                throw HttpError.json(409, toolboxErrorBody(409, "session already exists", ex));
            }
            ex.empty(201);
        });
        toolbox.get(t + "/process/session", ex -> {
            Box box = started(ex);
            ArrayNode all = Json.array();
            box.sessions.forEach((sid, commands) -> all.add(sessionJson(sid, commands)));
            ex.respond(200, all);
        });
        toolbox.get(t + "/process/session/{sid}", ex -> {
            Box box = started(ex);
            ex.respond(200, sessionJson(ex.pathParam("sid"), session(ex, box)));
        });
        toolbox.delete(t + "/process/session/{sid}", ex -> {
            Box box = started(ex);
            session(ex, box).values().forEach(c -> c.process().signal(dev.agentruntime.fake.Signal.KILL));
            box.sessions.remove(ex.pathParam("sid"));
            ex.empty(204);
        });
        toolbox.post(t + "/process/session/{sid}/exec", this::sessionExec);
        toolbox.get(t + "/process/session/{sid}/command/{cmd}", ex -> {
            Box box = started(ex);
            SessionCommand c = command(ex, box);
            ex.respond(200, commandJson(c));
        });
        toolbox.get(t + "/process/session/{sid}/command/{cmd}/logs", ex -> {
            Box box = started(ex);
            SessionCommand c = command(ex, box);
            String out = c.stdout().toString(StandardCharsets.UTF_8);
            String err = c.stderr().toString(StandardCharsets.UTF_8);
            if (jsonLogs(ex)) {
                ex.respond(200, Map.of("output", out + err, "stdout", out, "stderr", err));
            } else {
                ex.bytes(200, "text/plain; charset=utf-8", (out + err).getBytes(StandardCharsets.UTF_8));
            }
        });
        toolbox.post(t + "/files/bulk-upload", this::bulkUpload);
        toolbox.post(t + "/files/bulk-download", this::bulkDownload);
        toolbox.get(t + "/files/download", ex -> {
            Box box = started(ex);
            String path = ex.query("path").orElseThrow(() -> HttpError.json(400, toolboxErrorBody(400,
                    "path is required", ex)));
            byte[] bytes = readFile(ex, box, path);
            ex.bytes(200, "application/octet-stream", bytes);
        });
    }

    /** Logs come back as JSON for SDKs from 0.167.0 on, as plain text for older ones (the daemon's rule). */
    private static boolean jsonLogs(Exchange ex) {
        Optional<String> version = ex.header("X-Daytona-SDK-Version");
        if (version.isEmpty()) {
            return false;
        }
        String[] parts = version.get().replaceFirst("^v", "").split("[.-]");
        try {
            int major = Integer.parseInt(parts[0]);
            int minor = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
            return major > 0 || minor >= 167;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private Box started(Exchange ex) {
        authenticate(ex);
        String id = ex.pathParam("sandbox");
        Box box = boxes.get(id);
        if (box == null || box.state.equals("destroyed")) {
            throw HttpError.json(404, toolboxErrorBody(404, "sandbox " + id + " not found", ex));
        }
        if (!box.state.equals("started")) {
            throw HttpError.json(400, toolboxErrorBody(400, "sandbox " + id + " is not started (state: " + box.state
                    + ")", ex));
        }
        box.lastActivity = Instant.now();
        return box;
    }

    private void execute(Exchange ex) throws Exception {
        Box box = started(ex);
        JsonNode body = ex.json();
        Validator v = new Validator((st, m) -> toolboxErrorBody(st, m, ex), 400);
        v.object(body);
        String command = v.requireString(body, "command");
        Optional<String> cwd = v.optionalString(body, "cwd");
        Map<String, String> envs = v.optionalStringMap(body, "envs");
        int timeout = v.optionalInt(body, "timeout", 0, Integer.MAX_VALUE).orElse(0);
        ByteArrayOutputStream merged = new ByteArrayOutputStream();
        ExecSpec.Builder spec = ExecSpec.argv("/bin/sh").stdin(true).env(envs)
                .listener((stream, offset, bytes) -> {
                    synchronized (merged) {
                        merged.write(bytes, 0, bytes.length);
                    }
                });
        cwd.ifPresent(spec::cwd);
        SandboxProcess process;
        try {
            process = box.container.exec(spec.build());
        } catch (RuntimeException e) {
            ex.respond(200, Map.of("exitCode", -1, "result", e.getMessage()));
            return;
        }
        process.writeStdin(command + "\n");
        process.closeStdin();
        ExitStatus status;
        try {
            status = process.waitFor(timeout > 0 ? Duration.ofSeconds(timeout) : Duration.ofDays(1));
        } catch (TimeoutException e) {
            process.signal(dev.agentruntime.fake.Signal.KILL);
            throw HttpError.json(408, toolboxErrorBody(408, "command execution timeout", ex));
        }
        String result;
        synchronized (merged) {
            result = merged.toString(StandardCharsets.UTF_8);
        }
        ex.respond(200, Map.of("exitCode", status.code(), "result", result));
    }

    private Map<String, SessionCommand> session(Exchange ex, Box box) {
        Map<String, SessionCommand> s = box.sessions.get(ex.pathParam("sid"));
        if (s == null) {
            throw HttpError.json(404, toolboxErrorBody(404, "session not found", ex));
        }
        return s;
    }

    private SessionCommand command(Exchange ex, Box box) {
        SessionCommand c = session(ex, box).get(ex.pathParam("cmd"));
        if (c == null) {
            throw HttpError.json(404, toolboxErrorBody(404, "command not found", ex));
        }
        return c;
    }

    private static ObjectNode sessionJson(String sid, Map<String, SessionCommand> commands) {
        ObjectNode node = Json.object().put("sessionId", sid);
        ArrayNode list = node.putArray("commands");
        commands.values().forEach(c -> list.add(commandJson(c)));
        return node;
    }

    private static ObjectNode commandJson(SessionCommand c) {
        ObjectNode node = Json.object().put("id", c.id()).put("command", c.command());
        c.process().exitStatus().ifPresent(s -> node.put("exitCode", s.code()));
        return node;
    }

    private void sessionExec(Exchange ex) throws Exception {
        Box box = started(ex);
        Map<String, SessionCommand> session = session(ex, box);
        JsonNode body = ex.json();
        Validator v = new Validator((st, m) -> toolboxErrorBody(st, m, ex), 400);
        v.object(body);
        String command = v.requireString(body, "command");
        boolean async = v.optionalBoolean(body, "runAsync").or(() -> v.optionalBoolean(body, "async")).orElse(false);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        SandboxProcess process = box.container.exec(ExecSpec.shell(command).listener((stream, offset, bytes) -> {
            ByteArrayOutputStream target = stream == dev.agentruntime.fake.StdStream.STDERR ? err : out;
            synchronized (target) {
                target.write(bytes, 0, bytes.length);
            }
        }).build());
        String cmdId = UUID.randomUUID().toString();
        SessionCommand c = new SessionCommand(cmdId, command, process, out, err);
        session.put(cmdId, c);
        if (async) {
            ex.respond(202, Map.of("cmdId", cmdId));
            return;
        }
        ExitStatus status = process.waitFor(Duration.ofDays(1));
        ObjectNode answer = Json.object().put("cmdId", cmdId)
                .put("output", out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8))
                .put("stdout", out.toString(StandardCharsets.UTF_8))
                .put("stderr", err.toString(StandardCharsets.UTF_8))
                .put("exitCode", status.code());
        ex.respond(200, answer);
    }

    private void bulkUpload(Exchange ex) throws Exception {
        Box box = started(ex);
        String contentType = ex.header("Content-Type").orElse("");
        String boundary = MultiPart.extractBoundary(contentType);
        if (boundary == null || !contentType.toLowerCase(java.util.Locale.ROOT).startsWith("multipart/form-data")) {
            throw HttpError.json(400, toolboxErrorBody(400, "request Content-Type isn't multipart/form-data", ex));
        }
        Path spool = Files.createTempDirectory("daytona-fake-upload-");
        try {
            MultiPartFormData.Parser parser = new MultiPartFormData.Parser(boundary);
            parser.setFilesDirectory(spool);
            parser.setMaxMemoryFileSize(1 << 20);
            parser.setUseFilesForPartsWithoutFileName(false);
            try (MultiPartFormData.Parts parts = parser.parse(ex.request()).get()) {
                Map<String, String> paths = new LinkedHashMap<>();
                Map<String, MultiPart.Part> files = new LinkedHashMap<>();
                Pattern field = Pattern.compile("files\\[(\\d+)]\\.(path|file)");
                for (MultiPart.Part part : parts) {
                    Matcher m = field.matcher(part.getName() == null ? "" : part.getName());
                    if (!m.matches()) {
                        throw HttpError.json(400, toolboxErrorBody(400, "unexpected form field " + part.getName(),
                                ex));
                    }
                    if (m.group(2).equals("path")) {
                        paths.put(m.group(1), part.getContentAsString(StandardCharsets.UTF_8));
                    } else {
                        files.put(m.group(1), part);
                    }
                }
                if (files.isEmpty()) {
                    throw HttpError.json(400, toolboxErrorBody(400, "no files in the request", ex));
                }
                for (Map.Entry<String, MultiPart.Part> file : files.entrySet()) {
                    String path = paths.get(file.getKey());
                    if (path == null || path.isBlank()) {
                        throw HttpError.json(400, toolboxErrorBody(400, "missing path for files[" + file.getKey()
                                + "]", ex));
                    }
                    Path spooled = spool.resolve("part-" + file.getKey());
                    file.getValue().writeTo(spooled);
                    try (InputStream in = Files.newInputStream(spooled)) {
                        box.uploaded.addAndGet(box.container.files(box.user).write(path, in));
                    } catch (SandboxFileException e) {
                        throw HttpError.json(400, toolboxErrorBody(400, "failed to upload " + path + ": "
                                + e.getMessage(), ex));
                    }
                }
            }
        } finally {
            try (var walk = Files.walk(spool)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        ex.empty(200);
    }

    private byte[] readFile(Exchange ex, Box box, String path) {
        try {
            return box.container.files(box.user).readBytes(path);
        } catch (SandboxFileException e) {
            int status = e.kind() == SandboxFileException.Kind.NOT_FOUND ? 404 : 400;
            throw HttpError.json(status, toolboxErrorBody(status, e.getMessage(), ex));
        }
    }

    private void bulkDownload(Exchange ex) throws IOException {
        Box box = started(ex);
        JsonNode body = ex.json();
        Validator v = new Validator((st, m) -> toolboxErrorBody(st, m, ex), 400);
        List<String> paths = v.optionalStringList(v.object(body), "paths");
        if (paths.isEmpty()) {
            throw v.error("paths must not be empty");
        }
        String boundary = "fake" + HexFormat.of().formatHex(randomBytes(12));
        try (OutputStream out = ex.stream(200, "multipart/form-data; boundary=" + boundary)) {
            for (String path : paths) {
                byte[] content;
                String error = null;
                try {
                    content = box.container.files(box.user).readBytes(path);
                } catch (SandboxFileException e) {
                    content = null;
                    error = e.getMessage();
                }
                String quoted = path.replace("\\", "\\\\").replace("\"", "\\\"");
                if (content != null) {
                    out.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
                            + quoted + "\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                            .getBytes(StandardCharsets.UTF_8));
                    out.write(content);
                } else {
                    out.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"error\"; filename=\""
                            + quoted + "\"\r\nContent-Type: application/json\r\n\r\n")
                            .getBytes(StandardCharsets.UTF_8));
                    out.write(Json.bytes(Map.of("message", error, "statusCode", 404, "code", "NOT_FOUND")));
                }
                out.write("\r\n".getBytes(StandardCharsets.UTF_8));
            }
            out.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    // -------------------------------------------------------------------------------------------- preview ---

    private Optional<SandboxProxy.Route> previewRoute(Request request) {
        Matcher m = PREVIEW.matcher(request.getHttpURI().getPath());
        if (!m.matches()) {
            return Optional.empty();
        }
        int port = Integer.parseInt(m.group(1));
        Signed grant = signed.get(m.group(2));
        if (grant != null && (grant.port() != port || grant.expiresAt().isBefore(Instant.now()))) {
            throw HttpError.text(401, "Daytona preview: the signed URL expired or is for another port");
        }
        Box box = boxes.get(grant != null ? grant.sandboxId() : m.group(2));
        if (grant != null && box != null) {
            request.setAttribute(SIGNED, Boolean.TRUE);
        }
        if (box == null || box.container == null || !box.state.equals("started")) {
            throw HttpError.text(404, "Daytona preview: sandbox " + m.group(2) + " not found or not started");
        }
        String rest = m.group(3) == null ? "/" : m.group(3);
        String query = request.getHttpURI().getQuery();
        if (request.getHeaders().get("X-Daytona-Skip-Last-Activity-Update") == null) {
            box.lastActivity = Instant.now();
        }
        return Optional.of(new SandboxProxy.Route(box.id, box.container.address(port),
                Optional.of(query == null ? rest : rest + "?" + query)));
    }

    private static final String SIGNED = DaytonaFake.class.getName() + ".signed";

    private void previewAuth(Request request, SandboxProxy.Route route) {
        if (Boolean.TRUE.equals(request.getAttribute(SIGNED))) {
            return; // the URL carries its token
        }
        Box box = boxes.get(route.sandboxId());
        String token = request.getHeaders().get("X-Daytona-Preview-Token");
        String auth = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        if (box != null && (box.previewToken.equals(token) || ("Bearer " + apiKey).equals(auth))) {
            return;
        }
        throw HttpError.text(401, "Unauthorized: a preview of a private sandbox needs its X-Daytona-Preview-Token");
    }

    // -------------------------------------------------------------------------------------------- helpers ---

    private static int minutes(Exchange ex, String param) {
        try {
            int value = Integer.parseInt(ex.pathParam(param));
            if (value < 0) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw HttpError.json(400, apiErrorBody(400, param + " must be a non-negative integer", ex));
        }
    }

    private static int parsePort(String text) {
        try {
            int port = Integer.parseInt(text);
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException ignored) {
            // below
        }
        throw HttpError.json(400, apiError(400, "Invalid port " + text));
    }

    private static int parseInt(Validator v, String name, String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw v.error(name + " must be an integer number");
        }
    }

    private String token() {
        return HexFormat.of().formatHex(randomBytes(16));
    }

    private byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        random.nextBytes(bytes);
        return bytes;
    }

    /** NestJS's error body (the API's {@code AllExceptionsFilter}). */
    static Object apiError(int status, String message) {
        ObjectNode node = Json.object();
        node.put("path", "");
        node.put("timestamp", Instant.now().toString());
        node.put("statusCode", status);
        node.put("error", reason(status));
        node.put("message", message);
        return node;
    }

    private static Object apiErrorBody(int status, String message, Exchange ex) {
        ObjectNode node = (ObjectNode) apiError(status, message);
        node.put("path", ex.request().getHttpURI().getPathQuery());
        return node;
    }

    /** The daemon's (gin) error body. */
    static Object toolboxError(int status, String message) {
        ObjectNode node = Json.object();
        node.put("statusCode", status);
        node.put("message", message);
        node.put("code", status == 408 ? "Request Timeout" : reason(status).toUpperCase(java.util.Locale.ROOT)
                .replace(' ', '_'));
        node.put("timestamp", Instant.now().toString());
        node.put("path", "");
        node.put("method", "");
        return node;
    }

    private static Object toolboxErrorBody(int status, String message, Exchange ex) {
        ObjectNode node = (ObjectNode) toolboxError(status, message);
        node.put("path", ex.request().getHttpURI().getPath());
        node.put("method", ex.method());
        return node;
    }

    private static String reason(int status) {
        String reason = HttpStatus.getMessage(status);
        return reason == null ? "Error" : reason;
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Builds and starts a {@link DaytonaFake}. */
    public static final class Builder {
        private String apiKey = "daytona-test-key";
        private String jwt;
        private String organizationId;
        private String sandboxClass = "container";
        private final Map<String, String> snapshots = new LinkedHashMap<>(Map.of(DEFAULT_SNAPSHOT,
                SandboxHost.DEFAULT_IMAGE));

        public Builder apiKey(String value) {
            this.apiKey = value;
            return this;
        }

        /** Also accept this JWT, sent with {@code X-Daytona-Organization-ID: organizationId}. */
        public Builder jwt(String token, String organization) {
            this.jwt = token;
            this.organizationId = organization;
            return this;
        }

        /** The class every sandbox gets: {@code container} (cannot pause) or {@code linux-vm} (can). */
        public Builder sandboxClass(String value) {
            this.sandboxClass = value;
            return this;
        }

        /** A snapshot name and the local Docker image its sandboxes run. */
        public Builder snapshot(String name, String image) {
            snapshots.put(name, image);
            return this;
        }

        public DaytonaFake build() {
            return new DaytonaFake(this);
        }
    }
}
