package dev.agentruntime.gateway.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendConflictException;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.gateway.GatewayConfig;
import dev.agentruntime.gateway.internal.Sessions.Session;
import dev.agentruntime.gateway.internal.Sessions.StartSpec;
import dev.agentruntime.gateway.internal.Sessions.Target;
import dev.agentruntime.proxy.Refusal;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenHands' Remote Runtime API ({@code remote_runtime.py}'s calls): {@code GET /sessions/{sid}}, {@code POST /start},
 * {@code GET /runtime/{id}}, {@code POST /pause|/resume|/stop}, {@code GET /list}, {@code GET /image_exists},
 * {@code GET /registry_prefix}, {@code POST /build}, {@code GET /build_status}; every call needs {@code X-API-Key}
 * (401 otherwise) and sees only its key's sessions (another key's runtime is 404). Errors are JSON
 * {@code {"detail": ...}}: 400 for a body that is not JSON, 422 for a wrong field, 429 with {@code Retry-After}
 * over the key's session limit, 409 for a session that already runs, 500 for a sandbox that failed to start (with
 * its last log lines), 503 when the backend does not answer.
 */
public final class Api extends Handler.Abstract {

    private static final Logger log = LoggerFactory.getLogger(Api.class);
    /** Request attribute: the tenant's name, for the request log. */
    public static final String TENANT = Api.class.getName() + ".tenant";
    public static final String API_KEY_HEADER = "X-API-Key";
    private static final String SESSION_ID = "[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?";
    private static final Set<Integer> RESOURCE_FACTORS = Set.of(1, 2, 4, 8);

    private final GatewayConfig config;
    private final Sessions sessions;
    private final Metrics metrics;
    /** Runtime ids being started in this replica, by key: counted against the quota until they are listed. */
    private final Map<String, Set<String>> pending = new ConcurrentHashMap<>();

    public Api(GatewayConfig config, Sessions sessions, Metrics metrics) {
        this.config = config;
        this.sessions = sessions;
        this.metrics = metrics;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        String path = Request.getPathInContext(request);
        String method = request.getMethod();
        String call = method + " " + callName(path);
        int status = 200;
        CURRENT.set(request);
        try {
            JsonNode answer = route(request, method, path);
            Json.write(response, callback, 200, answer);
        } catch (Refusal refusal) {
            status = refusal.status();
            refusal.write(response, callback);
        } catch (RuntimeException e) {
            Refusal refusal = refusalOf(e, path);
            status = refusal.status();
            if (status >= 500) {
                log.warn("{} failed: {}", call, e.toString(), e);
            }
            refusal.write(response, callback);
        } finally {
            CURRENT.remove();
        }
        metrics.api(call, status);
        return true;
    }

    private static String callName(String path) {
        String[] parts = path.split("/");
        return parts.length > 1 ? "/" + parts[1] : path;
    }

    private JsonNode route(Request request, String method, String path) {
        if (path.equals("/health")) {
            return Json.object().put("status", "ok").put("backend", config.backendType());
        }
        GatewayConfig.ApiKey key = authenticate(request);
        String[] parts = path.substring(1).split("/", -1);
        if (parts.length == 2 && parts[0].equals("sessions")) {
            return get(method, () -> session(key, parts[1]));
        }
        if (parts.length == 2 && parts[0].equals("runtime")) {
            return get(method, () -> runtime(key, parts[1]));
        }
        if (parts.length != 1) {
            throw Json.error(404, "Not Found: " + path);
        }
        return switch (parts[0]) {
            case "start" -> post(method, () -> start(key, Json.body(request)));
            case "pause" -> post(method, () -> pause(key, Json.body(request)));
            case "resume" -> post(method, () -> resume(key, Json.body(request)));
            case "stop" -> post(method, () -> stop(key, Json.body(request)));
            case "list" -> get(method, () -> list(key));
            case "image_exists" -> get(method, () -> imageExists(request));
            case "registry_prefix" -> get(method, () -> Json.object().put("registry_prefix", config.registryPrefix()));
            case "build", "build_status" -> throw Json.error(501, "This gateway builds no images: start any"
                    + " Debian/Ubuntu-based image and it ships its own action server in (or give a prebuilt image"
                    + " and a command)");
            default -> throw Json.error(404, "Not Found: " + path);
        };
    }

    private static JsonNode get(String method, java.util.function.Supplier<JsonNode> call) {
        if (!method.equals("GET")) {
            throw Json.error(405, "Method Not Allowed: use GET").withHeader("Allow", "GET");
        }
        return call.get();
    }

    private static JsonNode post(String method, java.util.function.Supplier<JsonNode> call) {
        if (!method.equals("POST")) {
            throw Json.error(405, "Method Not Allowed: use POST").withHeader("Allow", "POST");
        }
        return call.get();
    }

    private GatewayConfig.ApiKey authenticate(Request request) {
        GatewayConfig.ApiKey key = sessions.signer().tenant(request.getHeaders().get(API_KEY_HEADER))
                .orElseThrow(() -> Json.error(401, request.getHeaders().get(API_KEY_HEADER) == null
                        ? "Missing X-API-Key header" : "Invalid X-API-Key"));
        request.setAttribute(TENANT, key.name());
        return key;
    }

    // ------------------------------------------------------------------------------------------- sessions ---

    private JsonNode session(GatewayConfig.ApiKey key, String sessionId) {
        if (!sessionId.matches(SESSION_ID)) {
            throw Json.error(404, "Session not found");
        }
        Session session = sessions.bySessionId(key.name(), sessionId)
                .orElseThrow(() -> Json.error(404, "Session not found"));
        return describe(session, true);
    }

    private JsonNode runtime(GatewayConfig.ApiKey key, String runtimeId) {
        Session session = owned(key, runtimeId);
        String pod = switch (session.status()) {
            case "running" -> sessions.alive(session) ? "ready" : "running";
            case "paused" -> "paused";
            case "stopped" -> "failed";
            default -> "pending";
        };
        ObjectNode body = Json.object().put("runtime_id", session.runtimeId()).put("pod_status", pod)
                .put("restart_count", 0).put("status", session.status()).put("session_id", session.sessionId());
        body.putArray("restart_reasons");
        return body;
    }

    private JsonNode list(GatewayConfig.ApiKey key) {
        ObjectNode body = Json.object();
        ArrayNode runtimes = body.putArray("runtimes");
        for (Session session : sessions.list(key.name())) {
            runtimes.add(describe(session, false));
        }
        return body;
    }

    private ObjectNode describe(Session session, boolean withKey) {
        ObjectNode body = Json.object().put("session_id", session.sessionId()).put("runtime_id", session.runtimeId())
                .put("status", session.status()).put("url", runtimeUrl(session.runtimeId()));
        session.image().ifPresent(image -> body.put("image", image));
        session.createdAt().ifPresent(at -> body.put("created_at", at.toString()));
        if (withKey) {
            body.put("session_api_key", sessions.signer().sessionKey(session.runtimeId()).reveal());
        }
        if (!withKey) {
            return body; // a listing: no per-sandbox lookups
        }
        ObjectNode hosts = body.putObject("work_hosts");
        if (session.status().equals("running")) {
            try {
                sessions.target(session.runtimeId()).ifPresent(t -> workHosts(t, hosts));
            } catch (Sessions.NotRunning | AgentRuntimeException e) {
                log.debug("runtime {}: no work hosts ({})", session.runtimeId(), e.toString());
            }
        }
        return body;
    }

    private void workHosts(Target target, ObjectNode hosts) {
        for (int i = 0; i < target.workPorts().size(); i++) {
            hosts.put(runtimeUrl(target.runtimeId()) + "/work-" + (i + 1), target.workPorts().get(i));
        }
    }

    private String runtimeUrl(String runtimeId) {
        return publicUrl().toString() + "/" + runtimeId;
    }

    private URI publicUrl() {
        return config.publicUrl().orElseGet(() -> {
            Request current = CURRENT.get();
            org.eclipse.jetty.http.HttpURI uri = current.getHttpURI();
            return URI.create(uri.getScheme() + "://" + uri.getAuthority());
        });
    }

    /** The request being answered on this thread (handlers block), for {@link #publicUrl()}. */
    private static final ThreadLocal<Request> CURRENT = new ThreadLocal<>();

    private Session owned(GatewayConfig.ApiKey key, String runtimeId) {
        return sessions.find(key.name(), runtimeId).orElseThrow(() -> Json.error(404, "Runtime " + runtimeId
                + " not found"));
    }

    // ---------------------------------------------------------------------------------------------- start ---

    private JsonNode start(GatewayConfig.ApiKey key, ObjectNode body) {
        StartSpec spec = startSpec(body);
        long began = System.nanoTime();
        String runtimeId = sessions.signer().runtimeId(key.name(), spec.sessionId());
        Set<String> starting = pending.computeIfAbsent(key.name(), k -> ConcurrentHashMap.newKeySet());
        // the quota check and the reservation are atomic per key in this replica; the start itself runs outside
        synchronized (starting) {
            if (starting.contains(runtimeId)) {
                metrics.started(key.name(), "conflict", 0);
                throw Json.error(409, "Session " + spec.sessionId() + " is being started already");
            }
            Optional<Session> existing = sessions.bySessionId(key.name(), spec.sessionId());
            if (existing.isPresent() && !existing.get().status().equals("stopped")) {
                metrics.started(key.name(), "conflict", 0);
                throw Json.error(409, "Session " + spec.sessionId() + " already has runtime "
                        + existing.get().runtimeId() + " (" + existing.get().status() + "); attach to it through GET"
                        + " /sessions/" + spec.sessionId() + " or stop it first");
            }
            existing.ifPresent(sessions::stop); // a stopped one is replaced
            Set<String> active = new java.util.HashSet<>(starting);
            sessions.list(key.name()).stream().filter(s -> !s.status().equals("stopped"))
                    .forEach(s -> active.add(s.runtimeId()));
            if (active.size() >= key.maxSessions()) {
                metrics.started(key.name(), "over_quota", 0);
                throw Json.error(429, "API key " + key.name() + " has " + active.size() + " sessions, its limit is "
                        + key.maxSessions() + "; stop one or try again later")
                        .withHeader("Retry-After", Long.toString(Math.max(1, config.quotaRetryAfter().toSeconds())));
            }
            starting.add(runtimeId);
        }
        Target target;
        try {
            target = sessions.start(key, spec);
        } catch (RuntimeException e) {
            metrics.started(key.name(), "failed", 0);
            throw e;
        } finally {
            synchronized (starting) {
                starting.remove(runtimeId);
            }
        }
        double seconds = (System.nanoTime() - began) / 1e9;
        metrics.started(key.name(), "ok", seconds);
        log.info("started runtime {} for key {} session {} in {} ms", target.runtimeId(), key.name(),
                spec.sessionId(), Math.round(seconds * 1000));
        ObjectNode answer = Json.object().put("runtime_id", target.runtimeId())
                .put("url", runtimeUrl(target.runtimeId()))
                .put("session_api_key", sessions.signer().sessionKey(target.runtimeId()).reveal())
                .put("session_id", spec.sessionId()).put("status", "running").put("pod_status", "ready");
        workHosts(target, answer.putObject("work_hosts"));
        return answer;
    }

    private StartSpec startSpec(ObjectNode body) {
        String sessionId = requiredText(body, "session_id");
        if (!sessionId.matches(SESSION_ID)) {
            throw invalid("session_id", "must be 1-63 letters, digits, '_', '.' or '-', starting and ending with a"
                    + " letter or digit");
        }
        Optional<String> image = optionalText(body, "image").filter(i -> !i.isBlank());
        List<String> command = new ArrayList<>();
        JsonNode c = body.get("command");
        if (c != null && !c.isNull()) {
            if (!c.isArray()) {
                throw invalid("command", "must be a list of strings");
            }
            for (JsonNode part : c) {
                if (!part.isTextual()) {
                    throw invalid("command", "must be a list of strings");
                }
                command.add(part.asText());
            }
        }
        Optional<String> workingDir = optionalText(body, "working_dir").filter(d -> !d.isBlank());
        workingDir.ifPresent(d -> {
            if (!d.startsWith("/")) {
                throw invalid("working_dir", "must be an absolute path");
            }
        });
        Map<String, String> environment = new LinkedHashMap<>();
        JsonNode env = body.get("environment");
        if (env != null && !env.isNull()) {
            if (!env.isObject()) {
                throw invalid("environment", "must be an object of names to strings");
            }
            env.fields().forEachRemaining(e -> {
                if (!e.getValue().isValueNode() || e.getValue().isNull()) {
                    throw invalid("environment." + e.getKey(), "must be a string");
                }
                if (!e.getKey().matches("[A-Za-z_][A-Za-z0-9_]*")) {
                    throw invalid("environment." + e.getKey(), "is not a valid variable name");
                }
                environment.put(e.getKey(), e.getValue().asText());
            });
        }
        Optional<Duration> noChange = Optional.ofNullable(environment.get("NO_CHANGE_TIMEOUT_SECONDS")).map(v -> {
            try {
                double seconds = Double.parseDouble(v);
                if (seconds <= 0 || !Double.isFinite(seconds)) {
                    throw new NumberFormatException(v);
                }
                return Duration.ofMillis(Math.round(seconds * 1000));
            } catch (NumberFormatException e) {
                throw invalid("environment.NO_CHANGE_TIMEOUT_SECONDS", "must be a positive number of seconds");
            }
        });
        int factor = 1;
        JsonNode f = body.get("resource_factor");
        if (f != null && !f.isNull()) {
            if (!f.isIntegralNumber() || !RESOURCE_FACTORS.contains(f.asInt())) {
                throw invalid("resource_factor", "must be 1, 2, 4 or 8");
            }
            factor = f.asInt();
        }
        Optional<String> runtimeClass = optionalText(body, "runtime_class").filter(r -> !r.isBlank());
        runtimeClass.ifPresent(r -> {
            if (!config.runtimeClasses().containsKey(r)) {
                throw invalid("runtime_class", "'" + r + "' is not offered by this gateway (offered: "
                        + config.runtimeClasses().keySet() + ")");
            }
        });
        return new StartSpec(sessionId, image, List.copyOf(command), workingDir, environment, noChange, factor,
                runtimeClass);
    }

    private static String requiredText(ObjectNode body, String field) {
        return optionalText(body, field).orElseThrow(() -> invalid(field, "is required"));
    }

    private static Optional<String> optionalText(ObjectNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return Optional.empty();
        }
        if (!value.isTextual()) {
            throw invalid(field, "must be a string");
        }
        return Optional.of(value.asText());
    }

    /** 422 in FastAPI's validation shape: a detail sentence and the errors by location. */
    private static Refusal invalid(String field, String problem) {
        ObjectNode body = Json.object().put("detail", "Invalid request parameters: " + field + " " + problem);
        ObjectNode error = body.putArray("errors").addObject();
        error.putArray("loc").add("body").add(field);
        error.put("msg", problem).put("type", "value_error");
        return Refusal.json(422, body.toString());
    }

    // -------------------------------------------------------------------------------------------- control ---

    private Session controlled(GatewayConfig.ApiKey key, ObjectNode body) {
        return owned(key, requiredText(body, "runtime_id"));
    }

    private JsonNode pause(GatewayConfig.ApiKey key, ObjectNode body) {
        Session session = controlled(key, body);
        if (session.status().equals("stopped")) {
            throw Json.error(409, "Runtime " + session.runtimeId() + " is stopped; it cannot pause");
        }
        sessions.pause(session);
        return Json.object().put("runtime_id", session.runtimeId()).put("status", "paused");
    }

    private JsonNode resume(GatewayConfig.ApiKey key, ObjectNode body) {
        Session session = controlled(key, body);
        if (session.status().equals("stopped")) {
            throw Json.error(409, "Runtime " + session.runtimeId() + " is stopped; start a new one");
        }
        sessions.resume(session);
        return Json.object().put("runtime_id", session.runtimeId()).put("status", "running");
    }

    private JsonNode stop(GatewayConfig.ApiKey key, ObjectNode body) {
        Session session = controlled(key, body);
        sessions.stop(session);
        log.info("stopped runtime {} of key {} session {}", session.runtimeId(), key.name(), session.sessionId());
        return Json.object().put("runtime_id", session.runtimeId()).put("status", "stopped");
    }

    private JsonNode imageExists(Request request) {
        Fields query = Request.extractQueryParameters(request);
        String image = query.getValue("image");
        if (image == null || image.isBlank()) {
            throw invalid("image", "is required (query parameter)");
        }
        return Json.object().put("exists", sessions.imageExists(image));
    }

    // ------------------------------------------------------------------------------------------- failures ---

    private static Refusal refusalOf(RuntimeException e, String path) {
        if (e instanceof InvalidConfigException) {
            return Json.error(422, e.getMessage());
        }
        if (e instanceof RuntimeNotFoundException) {
            return Json.error(404, e.getMessage());
        }
        if (e instanceof BackendConflictException) {
            return Json.error(409, e.getMessage());
        }
        if (e instanceof RuntimeStartupException || e instanceof RuntimeTimeoutException) {
            return Json.error(500, e.getMessage());
        }
        if (e instanceof RuntimeUnavailableException
                || e instanceof AgentRuntimeException a && a.isTransient()) {
            return Json.error(503, "The backend is unavailable: " + e.getMessage())
                    .withHeader(HttpHeader.RETRY_AFTER.asString(), "5");
        }
        if (e instanceof AgentRuntimeException) {
            return Json.error(500, e.getMessage());
        }
        return Json.error(500, "An unexpected error occurred at " + path + ": " + e);
    }
}
