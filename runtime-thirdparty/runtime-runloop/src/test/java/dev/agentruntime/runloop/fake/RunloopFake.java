package dev.agentruntime.runloop.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.fake.ExecSpec;
import dev.agentruntime.fake.FakeSandbox;
import dev.agentruntime.fake.OutputLog;
import dev.agentruntime.fake.SandboxFileException;
import dev.agentruntime.fake.SandboxHost;
import dev.agentruntime.fake.SandboxProcess;
import dev.agentruntime.fake.SandboxSpec;
import dev.agentruntime.fake.SandboxState;
import dev.agentruntime.fake.Signal;
import dev.agentruntime.fake.TimeoutAction;
import dev.agentruntime.fake.http.ErrorShape;
import dev.agentruntime.fake.http.Exchange;
import dev.agentruntime.fake.http.FakeHttpServer;
import dev.agentruntime.fake.http.Faults;
import dev.agentruntime.fake.http.HttpError;
import dev.agentruntime.fake.http.Json;
import dev.agentruntime.fake.http.Routes;
import dev.agentruntime.fake.http.SandboxProxy;
import dev.agentruntime.fake.http.Validator;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.MultiPart;
import org.eclipse.jetty.http.MultiPartFormData;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;

/**
 * A local Runloop on real sockets: the devbox API ({@code /v1/devboxes…}: create, create-and-await, get, list with
 * {@code starting_after}, long-poll {@code wait_for_status} answering 408 + {@code x-should-retry} when the hold ends,
 * suspend/resume, keep-alive, shutdown, tunnels), executions ({@code execute} idempotent by {@code command_id},
 * {@code execute_async}, {@code wait_for_status}, SSE {@code stream_*_updates?offset=}, {@code send_std_in},
 * {@code kill}), files (read/write contents, multipart upload, download) and tunnels
 * ({@code {port}-{tunnel_key}.tunnel.*} host routing into the devbox, {@code X-Runloop-Tunnel-Authorization} checked on
 * authenticated tunnels). Devboxes are real Docker sandboxes; suspend stops the container (disk kept, processes gone),
 * as Runloop's suspend does. Faults come from {@link #faults()}; {@link #crash(String)} makes a devbox die.
 */
public final class RunloopFake implements AutoCloseable {

    /** What Runloop's errors look like to its SDKs: JSON passed through. */
    static final ErrorShape SHAPE = ErrorShape.codeAndMessage();
    private static final Validator V = new Validator(SHAPE, 400);
    private static final Pattern TUNNEL_HOST = Pattern.compile("^(\\d{1,5})-([a-z0-9]+)\\.tunnel\\..*");
    private static final Pattern UUID7 = Pattern.compile(
            "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    private static final Set<String> STATUSES = Set.of("queued", "provisioning", "initializing", "running",
            "suspending", "suspended", "resuming", "failure", "shutdown");
    private static final Set<String> SIZES = Set.of("X_SMALL", "SMALL", "MEDIUM", "LARGE", "X_LARGE", "XX_LARGE",
            "CUSTOM_SIZE");
    private static final Set<String> CREATE_FIELDS = Set.of("name", "blueprint_id", "blueprint_name", "snapshot_id",
            "environment_variables", "secrets", "metadata", "entrypoint", "launch_parameters", "tunnel", "mounts",
            "code_mounts", "file_mounts", "gateways", "mcp", "network_policy_id", "repo_connection_id");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String apiKey;
    private final SandboxHost host;
    private final FakeHttpServer server;
    private final Map<String, Devbox> devboxes = new ConcurrentHashMap<>();
    private final Map<String, Blueprint> blueprints = new ConcurrentHashMap<>();
    private final Map<String, String> createdByRequestId = new ConcurrentHashMap<>();
    private final ExecutorService workers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-runloop-worker");
        t.setDaemon(true);
        return t;
    });
    private final ScheduledExecutorService idleWatch = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fake-runloop-idle");
        t.setDaemon(true);
        return t;
    });
    private final Path uploads;
    private final java.util.concurrent.atomic.AtomicInteger uploadCalls = new java.util.concurrent.atomic.AtomicInteger();

    /** A blueprint: an image the fake knows by id and name. */
    public record Blueprint(String id, String name, String image) {
    }

    private RunloopFake(String apiKey) {
        this.apiKey = apiKey;
        try {
            this.uploads = Files.createTempDirectory("fake-runloop-uploads-");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        this.host = SandboxHost.builder().name("runloop").build();
        SandboxProxy tunnels = SandboxProxy.builder().router(this::route).authorizer(this::authorizeTunnel)
                .removeRequestHeaders("X-Runloop-Tunnel-Authorization")
                .unreachable((route, failure) -> HttpError.of(SHAPE, 502, "devbox " + route.sandboxId()
                        + ": nothing answers on that port (" + failure.getMessage() + ")"))
                .build();
        this.server = FakeHttpServer.builder("runloop").maxThreads(128).handler(new Handler.Sequence(tunnels, routes()))
                .start();
        idleWatch.scheduleWithFixedDelay(this::enforceIdle, 1, 1, TimeUnit.SECONDS);
    }

    public static RunloopFake start(String apiKey) {
        return new RunloopFake(apiKey);
    }

    /** The API base URL ({@code RUNLOOP_BASE_URL}). */
    public URI baseUrl() {
        return server.uri();
    }

    /** Tunnels answer at this address for any {@code {port}-{key}.tunnel.*} host name. */
    public URI tunnelAddress() {
        return server.uri();
    }

    public Faults faults() {
        return server.faults();
    }

    /** Registers a blueprint named {@code name} made of {@code image}. */
    public Blueprint blueprint(String name, String image) {
        Blueprint b = new Blueprint("bpt_" + randomId(), name, image);
        blueprints.put(b.id(), b);
        return b;
    }

    /** The devbox's status as Runloop would report it. */
    public Optional<String> status(String devboxId) {
        return Optional.ofNullable(devboxes.get(devboxId)).map(d -> d.status);
    }

    /** Ids of devboxes not shut down. */
    public List<String> liveDevboxes() {
        return devboxes.values().stream().filter(d -> !d.ended()).map(d -> d.id).toList();
    }

    /** The devbox's metadata. */
    public Map<String, String> metadata(String devboxId) {
        return devboxes.get(devboxId).metadata;
    }

    /** The last create body the fake accepted for {@code devboxId}. */
    public JsonNode createBody(String devboxId) {
        return devboxes.get(devboxId).createBody;
    }

    /** How many keep_alive calls {@code devboxId} got. */
    public int keepAlives(String devboxId) {
        return devboxes.get(devboxId).keepAlives;
    }

    /** How many {@code upload_file} calls the fake has answered. */
    public int uploadCalls() {
        return uploadCalls.get();
    }

    /** Makes the devbox die as a crashed VM would: its sandbox is gone and its status becomes {@code failure}. */
    public void crash(String devboxId) {
        Devbox d = devboxes.get(devboxId);
        synchronized (d) {
            d.crashed = true;
        }
        if (d.sandbox != null) {
            d.sandbox.kill();
        }
        d.transition("failure", "health_check_failed");
    }

    @Override
    public void close() {
        idleWatch.shutdownNow();
        server.close();
        workers.shutdownNow();
        host.close();
        try (var files = Files.walk(uploads)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // temp files
        }
    }

    // -------------------------------------------------------------------------------------------- devboxes ---

    private final class Devbox {
        final String id;
        final long createTimeMs = System.currentTimeMillis();
        final ArrayNode transitions = Json.array();
        final JsonNode createBody;
        String name;
        Map<String, String> metadata;
        String status = "provisioning";
        String failureReason;
        String shutdownReason;
        Long endTimeMs;
        ObjectNode launch;
        String blueprintId;
        String snapshotId;
        ObjectNode tunnel;
        volatile FakeSandbox sandbox;
        volatile long lastActivity = System.currentTimeMillis();
        int keepAlives;
        boolean crashed;
        final Map<String, Execution> executions = new ConcurrentHashMap<>();
        final Map<String, String> executionByCommandId = new ConcurrentHashMap<>();

        Devbox(String id, JsonNode createBody) {
            this.id = id;
            this.createBody = createBody;
            addTransition("provisioning", null);
        }

        synchronized void transition(String next, String reason) {
            if (ended()) {
                return;
            }
            status = next;
            if (next.equals("failure")) {
                failureReason = reason;
                endTimeMs = System.currentTimeMillis();
            } else if (next.equals("shutdown")) {
                shutdownReason = reason;
                endTimeMs = System.currentTimeMillis();
            }
            addTransition(next, next.equals("failure") ? reason : null);
            notifyAll();
        }

        private void addTransition(String next, String reason) {
            ObjectNode t = transitions.addObject().put("status", next).put("transition_time_ms",
                    System.currentTimeMillis());
            if (reason != null) {
                t.put("failure_reason", reason);
            }
        }

        synchronized boolean ended() {
            return status.equals("failure") || status.equals("shutdown");
        }

        synchronized ObjectNode view() {
            ObjectNode v = Json.object().put("id", id).put("status", status).put("create_time_ms", createTimeMs);
            if (endTimeMs == null) {
                v.putNull("end_time_ms");
            } else {
                v.put("end_time_ms", endTimeMs);
            }
            v.put("name", name);
            v.set("launch_parameters", launch);
            ObjectNode m = v.putObject("metadata");
            metadata.forEach(m::put);
            v.set("state_transitions", transitions.deepCopy());
            v.putArray("capabilities");
            v.put("blueprint_id", blueprintId);
            v.put("snapshot_id", snapshotId);
            v.put("failure_reason", failureReason);
            v.put("shutdown_reason", shutdownReason);
            v.set("tunnel", tunnel == null ? null : tunnel.deepCopy());
            v.put("initiator_type", "api");
            return v;
        }

        FakeSandbox runningSandbox(String what) {
            synchronized (this) {
                if (!status.equals("running")) {
                    throw HttpError.of(SHAPE, 400, "devbox " + id + " is " + status + ": cannot " + what
                            + " (it must be running)");
                }
            }
            lastActivity = System.currentTimeMillis();
            return sandbox;
        }
    }

    private Devbox devbox(Exchange ex) {
        Devbox d = devboxes.get(ex.pathParam("id"));
        if (d == null) {
            throw HttpError.of(SHAPE, 404, "devbox " + ex.pathParam("id") + " not found");
        }
        return d;
    }

    private Devbox create(Exchange ex) {
        JsonNode body = V.object(ex.json());
        body.fieldNames().forEachRemaining(field -> {
            if (!CREATE_FIELDS.contains(field)) {
                throw V.error("unknown field '" + field + "'");
            }
        });
        String requestId = ex.header("x-request-id").orElse(null);
        if (requestId != null && createdByRequestId.containsKey(requestId)) {
            return devboxes.get(createdByRequestId.get(requestId)); // a retry of a create that already ran
        }
        Optional<String> blueprintId = V.optionalString(body, "blueprint_id");
        Optional<String> blueprintName = V.optionalString(body, "blueprint_name");
        Optional<String> snapshotId = V.optionalString(body, "snapshot_id");
        if (blueprintId.isPresent() && blueprintName.isPresent() || snapshotId.isPresent()
                && (blueprintId.isPresent() || blueprintName.isPresent())) {
            throw V.error("only one of blueprint_id, blueprint_name and snapshot_id may be given");
        }
        String image = SandboxHost.DEFAULT_IMAGE;
        Blueprint blueprint = null;
        if (blueprintId.isPresent()) {
            blueprint = Optional.ofNullable(blueprints.get(blueprintId.get())).orElseThrow(() ->
                    HttpError.of(SHAPE, 404, "blueprint " + blueprintId.get() + " not found"));
        } else if (blueprintName.isPresent()) {
            blueprint = blueprints.values().stream().filter(b -> b.name().equals(blueprintName.get())).findFirst()
                    .orElseThrow(() -> HttpError.of(SHAPE, 404, "no blueprint named " + blueprintName.get()));
        }
        if (snapshotId.isPresent()) {
            throw HttpError.of(SHAPE, 404, "snapshot " + snapshotId.get() + " not found");
        }
        if (blueprint != null) {
            image = blueprint.image();
        }
        Map<String, String> env = V.optionalStringMap(body, "environment_variables");
        Map<String, String> metadata = V.optionalStringMap(body, "metadata");
        ObjectNode launch = Json.object();
        JsonNode lp = body.get("launch_parameters");
        Optional<String> user = Optional.empty();
        Optional<Integer> uid = Optional.empty();
        long lifetime = 3600;
        List<String> launchCommands = List.of();
        if (lp != null && !lp.isNull()) {
            V.object(lp);
            V.optionalString(lp, "resource_size_request").ifPresent(s -> {
                if (!SIZES.contains(s)) {
                    throw V.error("'launch_parameters.resource_size_request' must be one of " + SIZES);
                }
                if (s.equals("CUSTOM_SIZE") && (!lp.has("custom_cpu_cores") || !lp.has("custom_gb_memory"))) {
                    throw V.error("CUSTOM_SIZE needs custom_cpu_cores and custom_gb_memory");
                }
            });
            V.optionalInt(lp, "custom_cpu_cores", 1, 16);
            V.optionalInt(lp, "custom_gb_memory", 1, 64);
            V.optionalInt(lp, "custom_disk_size", 1, 250);
            lifetime = V.optionalLong(lp, "keep_alive_time_seconds", 1, 172_800).orElse(3600);
            JsonNode afterIdle = lp.get("after_idle");
            if (afterIdle != null && !afterIdle.isNull()) {
                V.object(afterIdle);
                V.requireInt(afterIdle, "idle_time_seconds", 1, Integer.MAX_VALUE);
                String onIdle = V.requireString(afterIdle, "on_idle");
                if (!onIdle.equals("shutdown") && !onIdle.equals("suspend")) {
                    throw V.error("'launch_parameters.after_idle.on_idle' must be shutdown or suspend");
                }
            }
            launchCommands = V.optionalStringList(lp, "launch_commands");
            V.optionalString(lp, "architecture").ifPresent(a -> {
                if (!a.equals("x86_64") && !a.equals("arm64")) {
                    throw V.error("'launch_parameters.architecture' must be x86_64 or arm64");
                }
            });
            JsonNode up = lp.get("user_parameters");
            if (up != null && !up.isNull()) {
                V.object(up);
                user = Optional.of(V.requireString(up, "username"));
                uid = Optional.of(V.requireInt(up, "uid", 0, 65_535));
            }
            launch = (ObjectNode) lp.deepCopy();
        }
        launch.put("keep_alive_time_seconds", lifetime);
        ObjectNode tunnel = null;
        JsonNode t = body.get("tunnel");
        if (t != null && !t.isNull()) {
            tunnel = tunnelView(V.object(t));
        }
        Devbox d = new Devbox("dbx_" + randomId(), body.deepCopy());
        d.name = V.optionalString(body, "name").orElse(null);
        d.metadata = new LinkedHashMap<>(metadata);
        d.launch = launch;
        d.blueprintId = blueprint == null ? null : blueprint.id();
        d.tunnel = tunnel;
        devboxes.put(d.id, d);
        if (requestId != null) {
            createdByRequestId.put(requestId, d.id);
        }
        SandboxSpec.Builder spec = SandboxSpec.builder().id(d.id).image(image).env(env).hostname(d.id)
                .timeout(Duration.ofSeconds(lifetime)).onTimeout(TimeoutAction.KILL);
        if (user.isPresent()) {
            spec.user(user.get(), uid.orElse(1000));
        }
        List<String> commands = launchCommands;
        workers.submit(() -> provision(d, spec.build(), commands));
        return d;
    }

    private void provision(Devbox d, SandboxSpec spec, List<String> launchCommands) {
        try {
            d.transition("initializing", null);
            FakeSandbox sandbox = host.create(spec);
            d.sandbox = sandbox;
            sandbox.addStateListener(state -> onSandboxState(d, state));
            for (String command : launchCommands) {
                SandboxProcess p = sandbox.exec(ExecSpec.shell(command).build());
                if (p.waitFor(Duration.ofMinutes(5)).code() != 0) {
                    d.transition("failure", "execution_failed");
                    sandbox.kill();
                    return;
                }
            }
            d.transition("running", null);
            d.lastActivity = System.currentTimeMillis();
        } catch (Exception e) {
            d.transition("failure", "execution_failed");
        }
    }

    private void onSandboxState(Devbox d, SandboxState state) {
        if (state.status() != SandboxState.Status.DEAD) {
            return;
        }
        switch (state.reason()) {
            case TIMED_OUT -> d.transition("shutdown", "keep_alive_timeout");
            case OUT_OF_MEMORY -> d.transition("failure", "out_of_memory");
            case MAIN_PROCESS_EXITED -> d.transition("shutdown", "entrypoint_exit");
            default -> {
                // requested: the fake's own shutdown or crash set the status already
            }
        }
    }

    private void enforceIdle() {
        long now = System.currentTimeMillis();
        for (Devbox d : devboxes.values()) {
            JsonNode afterIdle = d.launch == null ? null : d.launch.get("after_idle");
            if (afterIdle == null || afterIdle.isNull() || !"running".equals(d.status)) {
                continue;
            }
            if (now - d.lastActivity > afterIdle.path("idle_time_seconds").asLong() * 1000) {
                if (afterIdle.path("on_idle").asText().equals("suspend")) {
                    workers.submit(() -> suspend(d));
                } else {
                    shutdown(d, "idle");
                }
            }
        }
    }

    private void shutdown(Devbox d, String reason) {
        d.transition("shutdown", reason);
        FakeSandbox sandbox = d.sandbox;
        if (sandbox != null) {
            sandbox.kill();
        }
    }

    private void suspend(Devbox d) {
        synchronized (d) {
            if (!d.status.equals("running")) {
                return;
            }
            d.transition("suspending", null);
        }
        d.sandbox.stop(); // Runloop keeps the disk; processes end
        d.transition("suspended", null);
    }

    private void resume(Devbox d) {
        d.sandbox.start();
        d.lastActivity = System.currentTimeMillis();
        d.transition("running", null);
    }

    private ObjectNode tunnelView(JsonNode t) {
        String mode = V.optionalString(t, "auth_mode").orElse("open");
        if (!mode.equals("open") && !mode.equals("authenticated")) {
            throw V.error("'auth_mode' must be open or authenticated");
        }
        ObjectNode view = Json.object().put("tunnel_key", randomId()).put("auth_mode", mode)
                .put("http_keep_alive", V.optionalBoolean(t, "http_keep_alive").orElse(true))
                .put("wake_on_http", V.optionalBoolean(t, "wake_on_http").orElse(false))
                .put("create_time_ms", System.currentTimeMillis());
        if (mode.equals("authenticated")) {
            view.put("auth_token", "rlt_" + randomId() + randomId());
        } else {
            view.putNull("auth_token");
        }
        return view;
    }

    /** Holds until the devbox is in one of the statuses or the hold ends (408 + x-should-retry). */
    private void waitForStatus(Exchange ex, Devbox d) throws InterruptedException {
        JsonNode body = V.object(ex.json());
        List<String> statuses = V.optionalStringList(body, "statuses");
        if (statuses.isEmpty()) {
            throw V.error("'statuses' is required");
        }
        for (String s : statuses) {
            if (!STATUSES.contains(s)) {
                throw V.error("unknown status '" + s + "'");
            }
        }
        int hold = V.optionalInt(body, "timeout_seconds", 1, 30).orElse(30);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(hold);
        synchronized (d) {
            while (!statuses.contains(d.status)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw HttpError.of(SHAPE, 408, "devbox " + d.id + " is still " + d.status + " after " + hold
                            + " s; poll again").withHeader("x-should-retry", "true");
                }
                d.wait(Math.max(1, left / 1_000_000));
            }
            ex.respond(200, d.view());
        }
    }

    // ------------------------------------------------------------------------------------------ executions ---

    private final class Execution {
        final String id = "exe_" + randomId();
        final Devbox devbox;
        final SandboxProcess process;
        final String shellName;

        Execution(Devbox devbox, SandboxProcess process, String shellName) {
            this.devbox = devbox;
            this.process = process;
            this.shellName = shellName;
        }

        ObjectNode view(int lastN) {
            ObjectNode v = Json.object().put("devbox_id", devbox.id).put("execution_id", id);
            Optional<dev.agentruntime.fake.ExitStatus> exit = process.exitStatus();
            v.put("status", exit.isPresent() ? "completed" : "running");
            if (exit.isPresent()) {
                v.put("exit_status", exit.get().code());
            } else {
                v.putNull("exit_status");
            }
            Tail out = tail(process.stdout(), lastN);
            Tail err = tail(process.stderr(), lastN);
            v.put("stdout", out.text()).put("stdout_truncated", out.truncated());
            v.put("stderr", err.text()).put("stderr_truncated", err.truncated());
            v.put("shell_name", shellName);
            return v;
        }
    }

    private record Tail(String text, boolean truncated) {
    }

    private static Tail tail(OutputLog log, int lastN) {
        String all = new String(log.snapshot(), StandardCharsets.UTF_8);
        List<String> lines = all.lines().toList();
        if (lines.size() <= lastN) {
            return new Tail(all, log.start() > 0);
        }
        return new Tail(String.join("\n", lines.subList(lines.size() - lastN, lines.size())) + (all.endsWith("\n")
                ? "\n" : ""), true);
    }

    private Execution execution(Exchange ex, Devbox d) {
        Execution e = d.executions.get(ex.pathParam("eid"));
        if (e == null) {
            throw HttpError.of(SHAPE, 404, "execution " + ex.pathParam("eid") + " not found on devbox " + d.id);
        }
        return e;
    }

    private Execution start(Devbox d, String command, boolean stdin, String shellName) {
        FakeSandbox sandbox = d.runningSandbox("execute");
        SandboxProcess process = sandbox.exec(ExecSpec.shell(command).stdin(stdin).build());
        Execution e = new Execution(d, process, shellName);
        d.executions.put(e.id, e);
        return e;
    }

    private static int lastN(Exchange ex) {
        String value = ex.query("last_n").orElse("100");
        try {
            int n = Integer.parseInt(value);
            if (n < 1) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw V.error("'last_n' must be a positive integer, was '" + value + "'");
        }
    }

    private void execute(Exchange ex, Devbox d) throws InterruptedException {
        JsonNode body = V.object(ex.json());
        String command = V.requireString(body, "command");
        String commandId = V.requireString(body, "command_id");
        if (!UUID7.matcher(commandId).matches()) {
            throw V.error("'command_id' must be a UUIDv7, was '" + commandId + "'");
        }
        int optimistic = V.optionalInt(body, "optimistic_timeout", 0, 25).orElse(25);
        String shellName = V.optionalString(body, "shell_name").orElse(null);
        Execution e;
        synchronized (d) {
            String existing = d.executionByCommandId.get(commandId);
            e = existing != null ? d.executions.get(existing) : start(d, command, false, shellName);
            d.executionByCommandId.putIfAbsent(commandId, e.id);
        }
        try {
            e.process.waitFor(Duration.ofSeconds(optimistic));
        } catch (java.util.concurrent.TimeoutException stillRunning) {
            // answered as running; the client long-polls
        }
        ex.respond(200, e.view(lastN(ex)));
    }

    private void waitForExecution(Exchange ex, Execution e) throws InterruptedException {
        JsonNode body = V.object(ex.json());
        List<String> statuses = V.optionalStringList(body, "statuses");
        if (statuses.isEmpty()) {
            throw V.error("'statuses' is required");
        }
        for (String s : statuses) {
            if (!Set.of("queued", "running", "completed").contains(s)) {
                throw V.error("unknown execution status '" + s + "'");
            }
        }
        int hold = V.optionalInt(body, "timeout_seconds", 1, 25).orElse(25);
        if (!statuses.contains("completed") || e.process.exitStatus().isPresent()) {
            ex.respond(200, e.view(lastN(ex)));
            return;
        }
        try {
            e.process.waitFor(Duration.ofSeconds(hold));
        } catch (java.util.concurrent.TimeoutException notYet) {
            throw HttpError.of(SHAPE, 408, "execution " + e.id + " is still running after " + hold + " s; poll again")
                    .withHeader("x-should-retry", "true");
        }
        ex.respond(200, e.view(lastN(ex)));
    }

    private void stream(Exchange ex, Execution e, boolean stderr) throws IOException, InterruptedException {
        long offset;
        try {
            offset = Long.parseLong(ex.query("offset").orElse("0"));
        } catch (NumberFormatException bad) {
            throw V.error("'offset' must be a byte offset");
        }
        if (offset < 0) {
            throw V.error("'offset' must not be negative");
        }
        OutputLog log = stderr ? e.process.stderr() : e.process.stdout();
        ex.header("Cache-Control", "no-cache");
        try (OutputStream out = ex.stream(200, "text/event-stream")) {
            out.flush();
            while (true) {
                OutputLog.Chunk chunk = log.await(offset, 32 * 1024, Duration.ofSeconds(1));
                byte[] bytes = chunk.bytes();
                int usable = chunk.endOfStream() ? bytes.length : utf8Boundary(bytes);
                if (usable > 0) {
                    String text = new String(bytes, 0, usable, StandardCharsets.UTF_8);
                    ObjectNode event = Json.object().put("output", text).put("offset", chunk.offset());
                    out.write(("data: " + Json.string(event) + "\n\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    offset = chunk.offset() + usable;
                } else if (chunk.offset() > offset) {
                    offset = chunk.offset();
                }
                if (chunk.endOfStream() && offset >= log.end()) {
                    return;
                }
            }
        }
    }

    /** How many leading bytes of {@code bytes} end on a UTF-8 character boundary. */
    private static int utf8Boundary(byte[] bytes) {
        int n = bytes.length;
        for (int back = 1; back <= Math.min(3, n); back++) {
            int b = bytes[n - back] & 0xFF;
            if ((b & 0xC0) == 0x80) {
                continue; // a continuation byte: look further back
            }
            int need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }

    private void sendStdin(Exchange ex, Execution e) {
        JsonNode body = V.object(ex.json());
        Optional<String> text = V.optionalString(body, "text");
        Optional<String> signal = V.optionalString(body, "signal");
        if (text.isPresent() == signal.isPresent()) {
            throw V.error("give exactly one of 'text' and 'signal'");
        }
        if (!e.process.spec().stdin()) {
            throw V.error("execution " + e.id + " was not started with attach_stdin");
        }
        if (e.process.exitStatus().isPresent()) {
            throw V.error("execution " + e.id + " has completed");
        }
        if (text.isPresent()) {
            e.process.writeStdin(text.get());
        } else if (signal.get().equals("EOF")) {
            e.process.closeStdin();
        } else if (signal.get().equals("INTERRUPT")) {
            e.process.signal(Signal.INT);
        } else {
            throw V.error("'signal' must be EOF or INTERRUPT");
        }
        ex.respond(200, Json.object().put("devbox_id", e.devbox.id).put("execution_id", e.id).put("success", true));
    }

    private void kill(Exchange ex, Execution e) throws InterruptedException {
        JsonNode body = Json.parse(ex.bodyBytes()).orElse(Json.object());
        boolean group = V.optionalBoolean(V.object(body), "kill_process_group").orElse(false);
        if (e.process.isRunning()) {
            if (group) {
                e.devbox.sandbox.exec(ExecSpec.shell("kill -KILL -- -" + e.process.pid() + " 2>/dev/null; true")
                        .build());
            }
            e.process.signal(Signal.KILL);
            try {
                e.process.waitFor(Duration.ofSeconds(10));
            } catch (java.util.concurrent.TimeoutException ignored) {
                // reported as still running
            }
        }
        ex.respond(200, e.view(100));
    }

    // ----------------------------------------------------------------------------------------------- files ---

    private void upload(Exchange ex, Devbox d) throws Exception {
        uploadCalls.incrementAndGet();
        FakeSandbox sandbox = d.runningSandbox("upload a file");
        String contentType = ex.header("Content-Type").orElse("");
        String boundary = MultiPart.extractBoundary(contentType);
        if (boundary == null) {
            throw V.error("upload_file takes multipart/form-data with fields 'path' and 'file'");
        }
        MultiPartFormData.Parser parser = new MultiPartFormData.Parser(boundary);
        parser.setFilesDirectory(uploads);
        parser.setMaxMemoryFileSize(1024 * 1024);
        try (MultiPartFormData.Parts parts = parser.parse(ex.request()).get(5, TimeUnit.MINUTES)) {
            MultiPart.Part path = parts.getFirst("path");
            MultiPart.Part file = parts.getFirst("file");
            if (path == null || file == null) {
                throw V.error("upload_file needs the fields 'path' and 'file'");
            }
            String target = path.getContentAsString(StandardCharsets.UTF_8);
            try (InputStream in = Content.Source.asInputStream(file.createContentSource())) {
                sandbox.files().write(target, in);
            } catch (SandboxFileException e) {
                throw fileError(e, target);
            }
        }
        ex.respond(200, Json.object());
    }

    private static HttpError fileError(SandboxFileException e, String path) {
        return switch (e.kind()) {
            case NOT_FOUND -> HttpError.of(SHAPE, 404, "file " + path + " not found");
            case PERMISSION_DENIED -> HttpError.of(SHAPE, 403, "permission denied: " + path);
            default -> HttpError.of(SHAPE, 400, "cannot access " + path + ": " + e.getMessage());
        };
    }

    private void download(Exchange ex, Devbox d) throws IOException {
        FakeSandbox sandbox = d.runningSandbox("download a file");
        String path = V.requireString(V.object(ex.json()), "path");
        byte[] bytes;
        try {
            bytes = sandbox.files().readBytes(path);
        } catch (SandboxFileException e) {
            throw fileError(e, path);
        }
        ex.bytes(200, "application/octet-stream", bytes);
    }

    private void readContents(Exchange ex, Devbox d) {
        FakeSandbox sandbox = d.runningSandbox("read a file");
        String path = V.requireString(V.object(ex.json()), "file_path");
        try {
            ex.bytes(200, "text/plain; charset=utf-8", sandbox.files().readBytes(path));
        } catch (SandboxFileException e) {
            throw fileError(e, path);
        }
    }

    private void writeContents(Exchange ex, Devbox d) {
        FakeSandbox sandbox = d.runningSandbox("write a file");
        JsonNode body = V.object(ex.json());
        String path = V.requireString(body, "file_path");
        String contents = V.requireString(body, "contents");
        try {
            sandbox.files().write(path, contents);
        } catch (SandboxFileException e) {
            throw fileError(e, path);
        }
        ex.respond(200, Json.object().put("devbox_id", d.id).put("exit_status", 0).put("stdout", "").put("stderr", "")
                .putNull("shell_name"));
    }

    // --------------------------------------------------------------------------------------------- tunnels ---

    private Optional<SandboxProxy.Route> route(Request request) {
        String hostHeader = request.getHeaders().get("Host");
        if (hostHeader == null) {
            return Optional.empty();
        }
        Matcher m = TUNNEL_HOST.matcher(hostHeader.toLowerCase(java.util.Locale.ROOT));
        if (!m.matches()) {
            return Optional.empty();
        }
        int port = Integer.parseInt(m.group(1));
        String key = m.group(2);
        Devbox d = devboxes.values().stream().filter(b -> b.tunnel != null
                && key.equals(b.tunnel.path("tunnel_key").asText())).findFirst().orElseThrow(() ->
                HttpError.of(SHAPE, 404, "no tunnel " + key));
        synchronized (d) {
            if (!d.status.equals("running")) {
                throw HttpError.of(SHAPE, 503, "devbox " + d.id + " is " + d.status);
            }
        }
        d.lastActivity = System.currentTimeMillis();
        return Optional.of(new SandboxProxy.Route(d.id, d.sandbox.address(port)));
    }

    private void authorizeTunnel(Request request, SandboxProxy.Route route) {
        Devbox d = devboxes.get(route.sandboxId());
        if (!"authenticated".equals(d.tunnel.path("auth_mode").asText())) {
            return;
        }
        String expected = "Bearer " + d.tunnel.path("auth_token").asText();
        if (!expected.equals(request.getHeaders().get("X-Runloop-Tunnel-Authorization"))) {
            throw HttpError.of(SHAPE, 401, "this tunnel needs X-Runloop-Tunnel-Authorization: Bearer <auth_token>");
        }
    }

    // ---------------------------------------------------------------------------------------------- routes ---

    private void requireKey(Exchange ex) {
        String auth = ex.header("Authorization").orElse("");
        if (!auth.equals("Bearer " + apiKey)) {
            throw HttpError.of(SHAPE, 401, auth.isEmpty() ? "missing Authorization: Bearer <api key>"
                    : "invalid API key");
        }
    }

    private interface DevboxRoute {
        void handle(Exchange ex, Devbox d) throws Exception;
    }

    private Routes.Route authed(Routes.Route route) {
        return ex -> {
            requireKey(ex);
            route.handle(ex);
        };
    }

    private Routes.Route onDevbox(DevboxRoute route) {
        return authed(ex -> route.handle(ex, devbox(ex)));
    }

    private interface ExecutionRoute {
        void handle(Exchange ex, Execution e) throws Exception;
    }

    private Routes.Route onExecution(ExecutionRoute route) {
        return onDevbox((ex, d) -> route.handle(ex, execution(ex, d)));
    }

    private Routes routes() {
        String b = "/v1/devboxes/{id}";
        String e = b + "/executions/{eid}";
        return new Routes(SHAPE)
                .post("/v1/devboxes", authed(ex -> ex.respond(200, create(ex).view())))
                .post("/v1/devboxes/create_and_await_running", authed(ex -> {
                    Devbox d = create(ex);
                    synchronized (d) {
                        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                        while (!d.status.equals("running") && !d.ended() && System.nanoTime() < deadline) {
                            d.wait(100);
                        }
                        ex.respond(200, d.view());
                    }
                }))
                .get("/v1/devboxes", authed(this::list))
                .get(b, onDevbox((ex, d) -> ex.respond(200, d.view())))
                .post(b, onDevbox((ex, d) -> {
                    JsonNode body = V.object(ex.json());
                    synchronized (d) {
                        V.optionalString(body, "name").ifPresent(n -> d.name = n);
                        if (body.has("metadata")) {
                            d.metadata = new LinkedHashMap<>(V.optionalStringMap(body, "metadata"));
                        }
                    }
                    ex.respond(200, d.view());
                }))
                .post(b + "/wait_for_status", onDevbox(this::waitForStatus))
                .post(b + "/suspend", onDevbox((ex, d) -> {
                    synchronized (d) {
                        if (!d.status.equals("running")) {
                            throw HttpError.of(SHAPE, 400, "devbox " + d.id + " is " + d.status
                                    + ": only a running devbox can be suspended");
                        }
                        d.transition("suspending", null);
                    }
                    workers.submit(() -> {
                        d.sandbox.stop();
                        d.transition("suspended", null);
                    });
                    ex.respond(200, d.view());
                }))
                .post(b + "/resume", onDevbox((ex, d) -> {
                    synchronized (d) {
                        if (!d.status.equals("suspended")) {
                            throw HttpError.of(SHAPE, 400, "devbox " + d.id + " is " + d.status
                                    + ": only a suspended devbox can be resumed");
                        }
                        d.transition("resuming", null);
                    }
                    workers.submit(() -> resume(d));
                    ex.respond(200, d.view());
                }))
                .post(b + "/keep_alive", onDevbox((ex, d) -> {
                    d.runningSandbox("keep alive");
                    synchronized (d) {
                        d.keepAlives++;
                    }
                    ex.respond(200, Json.object());
                }))
                .post(b + "/shutdown", onDevbox((ex, d) -> {
                    ex.query("force").ifPresent(f -> {
                        if (!f.equals("true") && !f.equals("false")) {
                            throw V.error("'force' must be true or false");
                        }
                    });
                    if (d.ended()) {
                        throw HttpError.of(SHAPE, 400, "devbox " + d.id + " is already " + d.status);
                    }
                    shutdown(d, "api_shutdown");
                    ex.respond(200, d.view());
                }))
                .post(b + "/enable_tunnel", onDevbox((ex, d) -> {
                    JsonNode body = Json.parse(ex.bodyBytes()).orElse(Json.object());
                    synchronized (d) {
                        if (d.tunnel != null) {
                            throw HttpError.of(SHAPE, 400, "devbox " + d.id + " already has a tunnel");
                        }
                        d.tunnel = tunnelView(V.object(body));
                        ex.respond(200, d.tunnel);
                    }
                }))
                .post(b + "/remove_tunnel", onDevbox((ex, d) -> {
                    synchronized (d) {
                        d.tunnel = null;
                    }
                    ex.respond(200, Json.object());
                }))
                .post(b + "/execute", onDevbox(this::execute))
                .post(b + "/execute_async", onDevbox((ex, d) -> {
                    JsonNode body = V.object(ex.json());
                    Execution x = start(d, V.requireString(body, "command"),
                            V.optionalBoolean(body, "attach_stdin").orElse(false),
                            V.optionalString(body, "shell_name").orElse(null));
                    ex.respond(200, x.view(100));
                }))
                .get(e, onExecution((ex, x) -> ex.respond(200, x.view(lastN(ex)))))
                .post(e + "/wait_for_status", onExecution(this::waitForExecution))
                .post(e + "/kill", onExecution(this::kill))
                .post(e + "/send_std_in", onExecution(this::sendStdin))
                .get(e + "/stream_stdout_updates", onExecution((ex, x) -> stream(ex, x, false)))
                .get(e + "/stream_stderr_updates", onExecution((ex, x) -> stream(ex, x, true)))
                .post(b + "/upload_file", onDevbox(this::upload))
                .post(b + "/download_file", onDevbox(this::download))
                .post(b + "/read_file_contents", onDevbox(this::readContents))
                .post(b + "/write_file_contents", onDevbox(this::writeContents));
    }

    private void list(Exchange ex) {
        int limit;
        try {
            limit = Integer.parseInt(ex.query("limit").orElse("20"));
        } catch (NumberFormatException bad) {
            throw V.error("'limit' must be an integer");
        }
        if (limit < 1 || limit > 5000) {
            throw V.error("'limit' must be between 1 and 5000");
        }
        Optional<String> status = ex.query("status");
        status.ifPresent(s -> {
            if (!STATUSES.contains(s)) {
                throw V.error("unknown status '" + s + "'");
            }
        });
        List<Devbox> all = new ArrayList<>(devboxes.values());
        all.sort(Comparator.comparingLong((Devbox d) -> d.createTimeMs).reversed().thenComparing(d -> d.id));
        Optional<String> after = ex.query("starting_after");
        int from = 0;
        if (after.isPresent()) {
            from = -1;
            for (int i = 0; i < all.size(); i++) {
                if (all.get(i).id.equals(after.get())) {
                    from = i + 1;
                }
            }
            if (from < 0) {
                throw V.error("'starting_after' names no devbox: " + after.get());
            }
        }
        List<Devbox> matching = all.subList(from, all.size()).stream()
                .filter(d -> status.isEmpty() || status.get().equals(d.status)).toList();
        ObjectNode answer = Json.object();
        ArrayNode items = answer.putArray("devboxes");
        matching.stream().limit(limit).forEach(d -> items.add(d.view()));
        answer.put("has_more", matching.size() > limit);
        answer.put("remaining_count", Math.max(0, matching.size() - limit));
        if (!"false".equals(ex.query("include_total_count").orElse("true"))) {
            answer.put("total_count", all.size());
        }
        ex.respond(200, answer);
    }

    private static String randomId() {
        byte[] bytes = new byte[10];
        RANDOM.nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }
}
