package dev.agentruntime.e2b.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.fake.FakeSandbox;
import dev.agentruntime.fake.SandboxHost;
import dev.agentruntime.fake.SandboxSpec;
import dev.agentruntime.fake.SandboxState;
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
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * A local E2B on one real socket: the REST control plane ({@code X-API-KEY}; create {@code POST /v2/sandboxes}, get,
 * list v2 with the metadata filter and cursor paging, pause, connect/resume, timeout, refreshes, kill), envd
 * ({@link FakeEnvd}: Connect JSON process service and the files API, {@code X-Access-Token}) and E2B's per-port
 * routing ({@code {port}-{sandboxId}.{domain}} hosts, or the {@code E2b-Sandbox-Id}/{@code E2b-Sandbox-Port} headers on
 * an IP, {@code localhost} or {@code sandbox.*} host) into real Docker sandboxes, with the traffic token demanded when
 * a sandbox was created with {@code network.allowPublicTraffic=false}. Errors have E2B's shape
 * {@code {"code":<int>,"message":"..."}}; {@link #faults()} injects 429s, 502s and delays; {@link #expire} makes a
 * sandbox's own timeout pass.
 *
 * <pre>{@code
 * try (FakeE2B e2b = FakeE2B.builder().apiKey("e2b_0123").start()) {
 *     // E2B_API_URL = E2B_SANDBOX_URL = e2b.uri(), E2B_API_KEY = e2b.apiKey()
 * }
 * }</pre>
 */
public final class FakeE2B implements AutoCloseable {

    /** envd's port. */
    public static final int ENVD_PORT = 49983;
    /** The envd version the fake's sandboxes report (octet-stream uploads need 0.5.7). */
    public static final String ENVD_VERSION = "0.5.8";
    static final ErrorShape SHAPE = ErrorShape.codeAndMessage();
    private static final Pattern HOST_LABEL = Pattern.compile("^(\\d{1,5})-([a-z0-9]+)$");
    private static final SecureRandom RANDOM = new SecureRandom();

    /** One sandbox as the control plane knows it. */
    static final class Sandbox {
        final String id;
        final String templateId;
        final FakeSandbox box;
        final Map<String, String> metadata;
        final String envdToken;
        final String trafficToken;
        final boolean publicTraffic;
        final boolean autoPause;
        final Instant startedAt = Instant.now();

        Sandbox(String id, String templateId, FakeSandbox box, Map<String, String> metadata, String envdToken,
                String trafficToken, boolean publicTraffic, boolean autoPause) {
            this.id = id;
            this.templateId = templateId;
            this.box = box;
            this.metadata = Map.copyOf(metadata);
            this.envdToken = envdToken;
            this.trafficToken = trafficToken;
            this.publicTraffic = publicTraffic;
            this.autoPause = autoPause;
        }

        String state() {
            return box.state().status() == SandboxState.Status.PAUSED ? "paused" : "running";
        }

        boolean alive() {
            SandboxState.Status status = box.state().status();
            return status == SandboxState.Status.RUNNING || status == SandboxState.Status.PAUSED;
        }
    }

    /** A request that reached a sandbox port. */
    record Target(String sandboxId, int port) {
    }

    private final String apiKey;
    private final String domain;
    private final Map<String, String> templates;
    private final SandboxHost host;
    private final FakeHttpServer server;
    private final Map<String, Sandbox> sandboxes = new ConcurrentHashMap<>();
    private final List<String> order = new CopyOnWriteArrayList<>();
    private final List<String> calls = new CopyOnWriteArrayList<>();

    private FakeE2B(Builder b) {
        this.apiKey = b.apiKey;
        this.domain = b.domain;
        this.templates = Map.copyOf(b.templates);
        this.host = SandboxHost.builder().name("e2b").defaultImage(b.image).build();
        FakeEnvd envd = new FakeEnvd(this);
        SandboxProxy proxy = SandboxProxy.builder()
                .router(this::portRoute)
                .authorizer((request, route) -> { })
                .unreachable((route, failure) -> HttpError.json(502, error(502, "The sandbox " + route.sandboxId()
                        + " is running but port " + route.target().getPort() + " is not open")))
                .removeRequestHeaders("e2b-traffic-access-token")
                .build();
        Handler envdHandler = new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                Optional<Target> target;
                try {
                    target = target(request).filter(t -> t.port() == ENVD_PORT);
                    if (target.isEmpty()) {
                        return false;
                    }
                    requireReachable(target.get());
                } catch (HttpError e) {
                    e.write(request, response, callback);
                    return true;
                }
                calls.add("envd " + request.getMethod() + " " + request.getHttpURI().getPath());
                return envd.routes().handle(request, response, callback);
            }
        };
        Routes api = controlPlane();
        Handler authenticated = new Handler.Wrapper(api) {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                calls.add(request.getMethod() + " " + request.getHttpURI().getPathQuery());
                String key = request.getHeaders().get("X-API-KEY");
                if (key == null || key.isBlank()) {
                    HttpError.json(401, error(401, "authorization header is missing")).write(request, response,
                            callback);
                    return true;
                }
                if (!key.equals(apiKey)) {
                    HttpError.json(401, error(401, "Invalid API key, it must start with 'e2b_'")).write(request,
                            response, callback);
                    return true;
                }
                return super.handle(request, response, callback);
            }
        };
        this.server = FakeHttpServer.builder("e2b").handler(new Handler.Sequence(proxy, envdHandler, authenticated))
                .start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** {@code http://127.0.0.1:<port>}: the API URL and the sandbox URL (routing by headers). */
    public URI uri() {
        return server.uri();
    }

    public String apiKey() {
        return apiKey;
    }

    public Faults faults() {
        return server.faults();
    }

    /** The engine, for tests that look inside a sandbox. */
    public SandboxHost host() {
        return host;
    }

    /** Every call so far ({@code "POST /v2/sandboxes"}, {@code "envd POST /process.Process/Start"}), in order. */
    public List<String> calls() {
        return List.copyOf(calls);
    }

    /** The live sandboxes' ids. */
    public Set<String> sandboxIds() {
        Set<String> ids = new java.util.TreeSet<>();
        sandboxes.values().stream().filter(Sandbox::alive).forEach(s -> ids.add(s.id));
        return ids;
    }

    /** Makes the sandbox's own timeout pass now (it is killed, or paused when created with autoPause). */
    public void expire(String sandboxId) {
        Sandbox s = sandboxes.get(sandboxId);
        if (s == null) {
            throw new IllegalArgumentException("no sandbox " + sandboxId);
        }
        s.box.setTimeout(Duration.ofMillis(1));
    }

    Optional<Sandbox> sandbox(String id) {
        return Optional.ofNullable(sandboxes.get(id)).filter(Sandbox::alive);
    }

    @Override
    public void close() {
        server.close();
        host.close();
    }

    // ------------------------------------------------------------------------------------------- routing ---

    /** The sandbox port a request is for: a {@code {port}-{id}.} host, or the routing headers on a shared host. */
    static Optional<Target> target(Request request) {
        String hostName = request.getHttpURI().getHost();
        if (hostName != null) {
            String first = hostName.contains(".") ? hostName.substring(0, hostName.indexOf('.')) : "";
            Matcher m = HOST_LABEL.matcher(first);
            if (m.matches()) {
                return Optional.of(new Target(m.group(2), Integer.parseInt(m.group(1))));
            }
        }
        String id = request.getHeaders().get("E2b-Sandbox-Id");
        String port = request.getHeaders().get("E2b-Sandbox-Port");
        if (id == null && port == null) {
            return Optional.empty();
        }
        boolean shared = hostName == null || hostName.equals("localhost") || hostName.startsWith("sandbox.")
                || hostName.matches("[0-9.]+") || hostName.startsWith("[");
        if (!shared) {
            return Optional.empty();
        }
        if (id == null || port == null || !port.matches("\\d{1,5}")) {
            throw HttpError.json(400, error(400, "both E2b-Sandbox-Id and E2b-Sandbox-Port must be set"));
        }
        return Optional.of(new Target(id, Integer.parseInt(port)));
    }

    /** The 502 E2B's edge answers for a sandbox that is gone or paused. */
    Sandbox requireReachable(Target target) {
        Sandbox s = sandboxes.get(target.sandboxId());
        if (s == null || !s.alive()) {
            throw HttpError.json(502, error(502, "The sandbox " + target.sandboxId() + " was not found"));
        }
        if (s.box.state().status() == SandboxState.Status.PAUSED) {
            throw HttpError.json(502, error(502, "The sandbox " + target.sandboxId() + " is paused"));
        }
        return s;
    }

    private Optional<SandboxProxy.Route> portRoute(Request request) {
        Optional<Target> target = target(request).filter(t -> t.port() != ENVD_PORT);
        if (target.isEmpty()) {
            return Optional.empty();
        }
        Sandbox s = requireReachable(target.get());
        calls.add("port " + target.get().port() + " " + request.getMethod() + " " + request.getHttpURI().getPath());
        if (!s.publicTraffic) {
            String token = request.getHeaders().get("e2b-traffic-access-token");
            if (token == null || !token.equals(s.trafficToken)) {
                throw HttpError.json(403, error(403, "missing or invalid traffic access token for sandbox " + s.id));
            }
        }
        return Optional.of(new SandboxProxy.Route(s.id, s.box.address(target.get().port())));
    }

    // ------------------------------------------------------------------------------------- control plane ---

    private Routes controlPlane() {
        Validator v = new Validator(SHAPE, 400);
        return new Routes(SHAPE)
                .post("/v2/sandboxes", ex -> create(ex, v))
                .get("/sandboxes/{id}", ex -> ex.respond(200, detail(live(ex))))
                .get("/v2/sandboxes", this::list)
                .post("/sandboxes/{id}/pause", this::pause)
                .post("/v2/sandboxes/{id}/connect", ex -> connect(ex, v))
                .post("/sandboxes/{id}/connect", ex -> connect(ex, v))
                .post("/sandboxes/{id}/timeout", ex -> {
                    Sandbox s = live(ex);
                    int timeout = v.requireInt(v.object(ex.json()), "timeout", 0, 86_400);
                    s.box.setTimeout(Duration.ofSeconds(timeout));
                    ex.empty(204);
                })
                .post("/sandboxes/{id}/refreshes", ex -> {
                    Sandbox s = live(ex);
                    int duration = v.optionalInt(v.object(ex.json()), "duration", 0, 3600).orElse(0);
                    s.box.remainingTimeout().filter(left -> left.getSeconds() < duration)
                            .ifPresent(left -> s.box.setTimeout(Duration.ofSeconds(duration)));
                    ex.empty(204);
                })
                .delete("/sandboxes/{id}", ex -> {
                    Sandbox s = live(ex);
                    s.box.kill();
                    sandboxes.remove(s.id);
                    order.remove(s.id);
                    host.forget(s.id);
                    ex.empty(204);
                });
    }

    private void create(Exchange ex, Validator v) {
        JsonNode body = v.object(ex.json());
        String template = v.requireString(body, "templateID");
        String image = templates.get(template);
        if (image == null) {
            throw HttpError.json(404, error(404, "template '" + template + "' not found"));
        }
        int timeout = v.optionalInt(body, "timeout", 0, 86_400).orElse(15);
        boolean autoPause = v.optionalBoolean(body, "autoPause").orElse(false);
        Map<String, String> metadata = v.optionalStringMap(body, "metadata");
        Map<String, String> envVars = v.optionalStringMap(body, "envVars");
        v.optionalBoolean(body, "allow_internet_access");
        v.optionalBoolean(body, "secure");
        boolean publicTraffic = true;
        JsonNode network = body.get("network");
        if (network != null && !network.isNull()) {
            v.object(network);
            publicTraffic = v.optionalBoolean(network, "allowPublicTraffic").orElse(true);
            v.optionalStringList(network, "allowOut");
            v.optionalStringList(network, "denyOut");
        }
        String id = "i" + HexFormat.of().formatHex(randomBytes(10));
        FakeSandbox box = host.create(SandboxSpec.builder().id(id).image(image).user("user", 1000).env(envVars)
                .hostname("e2b.local").timeout(Duration.ofSeconds(Math.max(1, timeout)))
                .onTimeout(autoPause ? TimeoutAction.PAUSE : TimeoutAction.KILL).build());
        Sandbox s = new Sandbox(id, template, box, metadata, token(), publicTraffic ? null : token(), publicTraffic,
                autoPause);
        box.addStateListener(state -> {
            if (state.status() == SandboxState.Status.DEAD) {
                sandboxes.remove(id);
                order.remove(id);
            }
        });
        sandboxes.put(id, s);
        order.add(id);
        ex.respond(201, sandboxBody(s));
    }

    private void list(Exchange ex) {
        Map<String, String> filter = ex.query("metadata").map(FakeE2B::parseMetadata).orElse(Map.of());
        Set<String> states = ex.query("state").map(value -> Set.of(value.split(","))).orElse(Set.of("running",
                "paused"));
        for (String state : states) {
            if (!state.equals("running") && !state.equals("paused")) {
                throw HttpError.json(400, error(400, "invalid state '" + state + "': must be running or paused"));
            }
        }
        int limit;
        try {
            limit = ex.query("limit").map(Integer::parseInt).orElse(100);
        } catch (NumberFormatException e) {
            throw HttpError.json(400, error(400, "limit must be an integer"));
        }
        if (limit < 1 || limit > 100) {
            throw HttpError.json(400, error(400, "limit must be between 1 and 100, was " + limit));
        }
        int from = 0;
        if (ex.query("nextToken").isPresent()) {
            try {
                from = Integer.parseInt(new String(Base64.getUrlDecoder().decode(ex.query("nextToken").get()),
                        StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                throw HttpError.json(400, error(400, "invalid nextToken"));
            }
        }
        List<Sandbox> matching = new ArrayList<>();
        for (String id : order) {
            Sandbox s = sandboxes.get(id);
            if (s != null && s.alive() && states.contains(s.state())
                    && s.metadata.entrySet().containsAll(filter.entrySet())) {
                matching.add(s);
            }
        }
        ArrayNode page = Json.array();
        int end = Math.min(matching.size(), from + limit);
        for (int i = from; i < end; i++) {
            page.add(detail(matching.get(i)));
        }
        if (end < matching.size()) {
            ex.header("X-Next-Token", Base64.getUrlEncoder().withoutPadding().encodeToString(
                    Integer.toString(end).getBytes(StandardCharsets.UTF_8)));
        }
        ex.header("X-Total-Running", Long.toString(sandboxes.values().stream().filter(Sandbox::alive)
                .filter(s -> s.state().equals("running")).count()));
        ex.respond(200, page);
    }

    private void pause(Exchange ex) {
        Sandbox s = live(ex);
        if (s.box.state().status() == SandboxState.Status.PAUSED) {
            throw HttpError.json(409, error(409, "Sandbox " + s.id + " is already paused"));
        }
        byte[] body = ex.bodyBytes();
        if (body.length > 0) {
            new Validator(SHAPE, 400).optionalBoolean(new Validator(SHAPE, 400).object(Json.parse(body)
                    .orElseThrow(() -> HttpError.json(400, error(400, "request body is not valid JSON")))), "memory");
        }
        s.box.pause();
        ex.empty(204);
    }

    private void connect(Exchange ex, Validator v) {
        Sandbox s = live(ex);
        byte[] raw = ex.bodyBytes();
        JsonNode body = raw.length == 0 ? Json.object() : v.object(Json.parse(raw)
                .orElseThrow(() -> HttpError.json(400, error(400, "request body is not valid JSON"))));
        int timeout = v.optionalInt(body, "timeout", 0, 86_400).orElse(300);
        if (s.box.state().status() == SandboxState.Status.PAUSED) {
            s.box.resume();
            s.box.setTimeout(Duration.ofSeconds(Math.max(1, timeout)));
            ex.respond(201, sandboxBody(s));
            return;
        }
        boolean extend = s.box.remainingTimeout().map(left -> left.getSeconds() < timeout).orElse(false);
        if (extend) {
            s.box.setTimeout(Duration.ofSeconds(timeout));
        }
        ex.respond(200, sandboxBody(s));
    }

    private Sandbox live(Exchange ex) {
        String id = ex.pathParam("id");
        return sandbox(id).orElseThrow(() -> HttpError.json(404, error(404, "sandbox \"" + id
                + "\" doesn't exist or you don't have access to it")));
    }

    private ObjectNode sandboxBody(Sandbox s) {
        ObjectNode node = Json.object();
        node.put("templateID", s.templateId);
        node.put("sandboxID", s.id);
        node.put("alias", s.templateId);
        node.put("clientID", "fake0000");
        node.put("envdVersion", ENVD_VERSION);
        node.put("envdAccessToken", s.envdToken);
        if (s.trafficToken == null) {
            node.putNull("trafficAccessToken");
        } else {
            node.put("trafficAccessToken", s.trafficToken);
        }
        if (domain == null) {
            node.putNull("domain");
        } else {
            node.put("domain", domain);
        }
        return node;
    }

    private ObjectNode detail(Sandbox s) {
        ObjectNode node = Json.object();
        node.put("templateID", s.templateId);
        node.put("alias", s.templateId);
        node.put("sandboxID", s.id);
        node.put("clientID", "fake0000");
        node.put("startedAt", s.startedAt.toString());
        node.put("endAt", s.box.remainingTimeout().map(left -> Instant.now().plus(left)).orElse(Instant.now())
                .toString());
        node.put("cpuCount", 2);
        node.put("memoryMB", 512);
        node.put("diskSizeMB", 1024);
        ObjectNode metadata = node.putObject("metadata");
        s.metadata.forEach(metadata::put);
        node.put("state", s.state());
        node.put("envdVersion", ENVD_VERSION);
        node.put("envdAccessToken", s.envdToken);
        if (domain == null) {
            node.putNull("domain");
        } else {
            node.put("domain", domain);
        }
        return node;
    }

    /** The SDKs' {@code metadata} query: {@code k=v&k2=v2}, form-encoded pairs of URI-encoded keys and values. */
    static Map<String, String> parseMetadata(String query) {
        Map<String, String> pairs = new LinkedHashMap<>();
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw HttpError.json(400, error(400, "invalid metadata filter '" + pair + "': expected key=value"));
            }
            pairs.put(uriDecode(formDecode(pair.substring(0, eq))), uriDecode(formDecode(pair.substring(eq + 1))));
        }
        return pairs;
    }

    private static String formDecode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    private static String uriDecode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    static ObjectNode error(int code, String message) {
        ObjectNode node = Json.object();
        node.put("code", code);
        node.put("message", message);
        return node;
    }

    private static String token() {
        return HexFormat.of().formatHex(randomBytes(16));
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    /** Builds a {@link FakeE2B}. */
    public static final class Builder {
        private String apiKey = "e2b_" + HexFormat.of().formatHex(randomBytes(20));
        private String domain;
        private String image = SandboxHost.DEFAULT_IMAGE;
        private final Map<String, String> templates = new LinkedHashMap<>();

        private Builder() {
        }

        public Builder apiKey(String value) {
            this.apiKey = value;
            return this;
        }

        /** The {@code domain} create and connect answer (null by default: clients use their own). */
        public Builder domain(String value) {
            this.domain = value;
            return this;
        }

        /** The image of template {@code base} (default the test image). */
        public Builder image(String value) {
            this.image = value;
            return this;
        }

        /** Another template, backed by a local image. */
        public Builder template(String templateId, String image) {
            templates.put(templateId, image);
            return this;
        }

        public FakeE2B start() {
            templates.putIfAbsent("base", image);
            return new FakeE2B(this);
        }
    }
}
