package dev.agentruntime.remote.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.Secret;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.remote.RemoteRuntimeConfig;
import dev.agentruntime.spi.ControlPlaneErrors;
import dev.agentruntime.spi.Retry;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Supplier;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.MultipartBody;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenHands' Remote Runtime API (the calls of {@code remote_runtime.py} and {@code builder/remote.py}): every call
 * carries {@code X-API-Key}, waits at most the configured API timeout, and is retried only when the server answers
 * 429 (three attempts, waiting its {@code Retry-After} or an exponential 4-60 s back-off, as OpenHands does: a
 * {@code POST /start} that failed with a 5xx may have started something, so it is not sent again). Other answers map
 * through {@link ControlPlaneErrors}.
 */
public final class RemoteApi implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RemoteApi.class);
    public static final String API_KEY_HEADER = "X-API-Key";
    private static final String BACKEND = "Remote runtime API";
    private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");
    private static final int ATTEMPTS = 3;

    /** A runtime as {@code /start}, {@code /sessions/{sid}} and {@code /list} describe it. */
    public record RemoteRuntimeInfo(String runtimeId, Optional<String> sessionId, Optional<String> status,
                                    Optional<URI> url, Map<String, Integer> workHosts, Optional<Secret> sessionApiKey,
                                    Optional<Instant> createdAt) {
    }

    /** {@code GET /runtime/{id}}. */
    public record PodStatus(String runtimeId, String podStatus, int restartCount, List<String> restartReasons) {
    }

    /** {@code GET /image_exists}. */
    public record ImageInfo(boolean exists, Optional<String> uploadTime, OptionalLong sizeBytes) {
    }

    /** {@code GET /build_status}: {@code SUCCESS} (with the image), a failure word (with the error), or in progress. */
    public record BuildStatus(String status, Optional<String> image, Optional<String> error) {
        public boolean succeeded() {
            return status.equals("SUCCESS");
        }

        public boolean failed() {
            return List.of("FAILURE", "INTERNAL_ERROR", "TIMEOUT", "CANCELLED", "EXPIRED").contains(status);
        }
    }

    /** A 429: the only answer that is tried again. */
    static final class RateLimited extends BackendException {
        RateLimited(BackendException answer) {
            super(answer.getMessage(), true, answer.retryAfter().orElse(null), null);
        }
    }

    private final HttpUrl base;
    private final Secret apiKey;
    private final OkHttpClient http;
    private final Duration apiTimeout;
    private final Duration firstBackoff;

    public RemoteApi(RemoteRuntimeConfig config) {
        this(config, Duration.ofSeconds(4));
    }

    /** For tests: a shorter first back-off when a 429 names no wait. */
    public RemoteApi(RemoteRuntimeConfig config, Duration firstBackoff) {
        HttpUrl parsed = HttpUrl.parse(config.apiUrl().toString());
        if (parsed == null) {
            throw new dev.agentruntime.InvalidConfigException("Not an HTTP URL: " + config.apiUrl());
        }
        this.base = parsed;
        this.apiKey = config.apiKey();
        this.apiTimeout = config.apiTimeout();
        this.firstBackoff = firstBackoff;
        this.http = new OkHttpClient.Builder()
                .callTimeout(config.apiTimeout())
                .readTimeout(config.apiTimeout())
                .connectTimeout(Duration.ofSeconds(10))
                .build();
    }

    public URI baseUrl() {
        return base.uri();
    }

    // ------------------------------------------------------------------------------------------- sessions ---

    /** {@code GET /sessions/{sid}}: the session's runtime, empty on 404. */
    public Optional<RemoteRuntimeInfo> session(String sessionId) {
        try {
            JsonNode body = send("GET /sessions/" + sessionId, sessionId,
                    () -> get(url("sessions", sessionId)));
            return Optional.of(runtimeInfo(body, "GET /sessions/" + sessionId));
        } catch (RuntimeNotFoundException e) {
            return Optional.empty();
        }
    }

    /** {@code POST /start} with the given body; the answer names the runtime, its URL and its session key. */
    public RemoteRuntimeInfo start(ObjectNode body, String sessionId) {
        JsonNode answer = send("POST /start", sessionId, () -> post(url("start"), body));
        RemoteRuntimeInfo info = runtimeInfo(answer, "POST /start");
        if (info.url().isEmpty()) {
            throw new BackendException(BACKEND + " POST /start for session " + sessionId + " answered without a url: "
                    + abbreviate(answer.toString()));
        }
        return info;
    }

    /** {@code GET /runtime/{runtime_id}}: the pod's status. */
    public PodStatus runtime(String runtimeId) {
        JsonNode body = send("GET /runtime/" + runtimeId, runtimeId, () -> get(url("runtime", runtimeId)));
        String id = text(body, "runtime_id").orElseThrow(() -> malformed("GET /runtime/" + runtimeId, "runtime_id",
                body));
        String pod = text(body, "pod_status").orElseThrow(() -> malformed("GET /runtime/" + runtimeId, "pod_status",
                body));
        List<String> reasons = new ArrayList<>();
        JsonNode r = body.get("restart_reasons");
        if (r != null && r.isArray()) {
            r.forEach(reason -> reasons.add(reason.isTextual() ? reason.asText() : reason.toString()));
        }
        return new PodStatus(id, pod, body.path("restart_count").asInt(0), List.copyOf(reasons));
    }

    public void pause(String runtimeId) {
        control("pause", runtimeId);
    }

    public void resume(String runtimeId) {
        control("resume", runtimeId);
    }

    public void stop(String runtimeId) {
        control("stop", runtimeId);
    }

    private void control(String verb, String runtimeId) {
        ObjectNode body = WireCodec.MAPPER.createObjectNode().put("runtime_id", runtimeId);
        send("POST /" + verb, runtimeId, () -> post(url(verb), body));
    }

    /** {@code GET /list}: every runtime the key can see. */
    public List<RemoteRuntimeInfo> list() {
        JsonNode body = send("GET /list", null, () -> get(url("list")));
        JsonNode runtimes = body.get("runtimes");
        if (runtimes == null || !runtimes.isArray()) {
            throw malformed("GET /list", "runtimes", body);
        }
        List<RemoteRuntimeInfo> all = new ArrayList<>();
        for (JsonNode runtime : runtimes) {
            all.add(runtimeInfo(runtime, "GET /list"));
        }
        return all;
    }

    // --------------------------------------------------------------------------------------------- images ---

    /** {@code GET /registry_prefix}. */
    public String registryPrefix() {
        JsonNode body = send("GET /registry_prefix", null, () -> get(url("registry_prefix")));
        return text(body, "registry_prefix").orElseThrow(() -> malformed("GET /registry_prefix", "registry_prefix",
                body));
    }

    /** {@code GET /image_exists?image=}. */
    public ImageInfo imageExists(String image) {
        HttpUrl target = url("image_exists").newBuilder().addQueryParameter("image", image).build();
        JsonNode body = send("GET /image_exists", null, () -> get(target));
        JsonNode exists = body.get("exists");
        if (exists == null || !exists.isBoolean()) {
            throw malformed("GET /image_exists", "exists", body);
        }
        JsonNode details = body.path("image");
        return new ImageInfo(exists.asBoolean(), text(details, "upload_time"),
                details.hasNonNull("image_size_bytes") ? OptionalLong.of(details.get("image_size_bytes").asLong())
                        : OptionalLong.empty());
    }

    /**
     * {@code POST /build}: multipart {@code context} = {@code context.tar.gz} holding the base64 text of the
     * tar.gz, {@code target_image}, one {@code tags} field per extra tag.
     *
     * @return the build id
     */
    public String build(byte[] contextTarGz, String targetImage, List<String> tags) {
        byte[] base64 = Base64.getEncoder().encode(contextTarGz);
        MultipartBody.Builder form = new MultipartBody.Builder().setType(MultipartBody.FORM)
                .addFormDataPart("context", "context.tar.gz", RequestBody.create(base64, MediaType.get("text/plain")))
                .addFormDataPart("target_image", targetImage);
        for (String tag : tags) {
            form.addFormDataPart("tags", tag);
        }
        MultipartBody body = form.build();
        JsonNode answer = send("POST /build", null, () -> request(new Request.Builder().url(url("build"))
                .post(body)));
        return text(answer, "build_id").orElseThrow(() -> malformed("POST /build", "build_id", answer));
    }

    /** {@code GET /build_status?build_id=}. */
    public BuildStatus buildStatus(String buildId) {
        HttpUrl target = url("build_status").newBuilder().addQueryParameter("build_id", buildId).build();
        JsonNode body = send("GET /build_status", null, () -> get(target));
        String status = text(body, "status").orElseThrow(() -> malformed("GET /build_status", "status", body));
        return new BuildStatus(status, text(body, "image"), text(body, "error"));
    }

    @Override
    public void close() {
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }

    // ------------------------------------------------------------------------------------------ transport ---

    private record Answer(int status, Map<String, String> headers, String body) {
    }

    private JsonNode send(String call, String subject, Supplier<Answer> exchange) {
        Instant deadline = Instant.now().plus(apiTimeout.multipliedBy(ATTEMPTS));
        return Retry.of(BACKEND + " " + call, deadline).attempts(ATTEMPTS).backoff(firstBackoff, Duration.ofSeconds(60))
                .onlyWhen(e -> e instanceof RateLimited)
                .call(() -> {
                    Answer answer = exchange.get();
                    if (answer.status() / 100 != 2) {
                        AgentRuntimeException failure = ControlPlaneErrors.fromHttp(BACKEND, call, subject,
                                answer.status(), name -> answer.headers().get(name.toLowerCase(java.util.Locale.ROOT)),
                                answer.body(), "Check the API key (api.key, SANDBOX_API_KEY) against the server's"
                                        + " keys.");
                        if (answer.status() == 429 && failure instanceof BackendException limited) {
                            throw new RateLimited(limited);
                        }
                        if (call.equals("POST /start") && answer.status() >= 500) {
                            // the server's account of a failed start (its sandbox's last log lines) is the point:
                            // keep all of it, not the first 500 characters
                            throw new dev.agentruntime.RuntimeStartupException(BACKEND + " POST /start for session "
                                    + subject + " failed (HTTP " + answer.status() + "): "
                                    + fullDetail(answer.body()));
                        }
                        throw failure;
                    }
                    if (answer.body().isBlank()) {
                        return WireCodec.MAPPER.createObjectNode();
                    }
                    try {
                        return WireCodec.parse(answer.body());
                    } catch (RuntimeException e) {
                        throw new BackendException(BACKEND + " " + call + " answered HTTP " + answer.status()
                                + " with something that is not JSON: " + abbreviate(answer.body()) + ". Check that "
                                + base + " is a Remote Runtime API.");
                    }
                });
    }

    private Answer get(HttpUrl url) {
        return request(new Request.Builder().url(url).get());
    }

    private Answer post(HttpUrl url, JsonNode body) {
        return request(new Request.Builder().url(url).post(RequestBody.create(WireCodec.toJson(body), JSON)));
    }

    private Answer request(Request.Builder builder) {
        Request request = builder.header(API_KEY_HEADER, apiKey.reveal()).build();
        log.debug("{} {} {}", BACKEND, request.method(), request.url().encodedPath());
        try (Response response = http.newCall(request).execute()) {
            ResponseBody body = response.body();
            String text = body == null ? "" : new String(body.bytes(), StandardCharsets.UTF_8);
            Map<String, String> headers = new LinkedHashMap<>();
            for (String name : response.headers().names()) {
                headers.put(name.toLowerCase(java.util.Locale.ROOT), response.header(name));
            }
            return new Answer(response.code(), headers, text);
        } catch (IOException e) {
            throw new RuntimeUnavailableException("Cannot reach the " + BACKEND + " at " + base + " for "
                    + request.method() + " " + request.url().encodedPath() + " (" + e + "). Check api.url and that"
                    + " the server runs.", e);
        }
    }

    private HttpUrl url(String... segments) {
        HttpUrl.Builder b = base.newBuilder();
        for (String segment : segments) {
            b.addPathSegment(segment);
        }
        return b.build();
    }

    private static RemoteRuntimeInfo runtimeInfo(JsonNode body, String call) {
        String runtimeId = text(body, "runtime_id").orElseThrow(() -> malformed(call, "runtime_id", body));
        Map<String, Integer> hosts = new LinkedHashMap<>();
        JsonNode work = body.get("work_hosts");
        if (work != null && work.isObject()) {
            work.fields().forEachRemaining(e -> hosts.put(e.getKey(), e.getValue().asInt()));
        }
        Optional<URI> url = text(body, "url").map(u -> {
            try {
                return URI.create(u);
            } catch (IllegalArgumentException e) {
                throw new BackendException(BACKEND + " " + call + " answered a url that is not a URI: " + u);
            }
        });
        Optional<Instant> created = text(body, "created_at").flatMap(at -> {
            try {
                return Optional.of(Instant.parse(at));
            } catch (java.time.format.DateTimeParseException e) {
                return Optional.empty(); // an extra of our gateway's; another server may write it otherwise
            }
        });
        return new RemoteRuntimeInfo(runtimeId, text(body, "session_id"), text(body, "status"), url,
                Map.copyOf(hosts), text(body, "session_api_key").filter(k -> !k.isEmpty()).map(Secret::of), created);
    }

    private static String fullDetail(String body) {
        try {
            JsonNode node = WireCodec.parse(body);
            JsonNode detail = node.get("detail");
            if (detail != null && !detail.isNull()) {
                String text = detail.isTextual() ? detail.asText() : detail.toString();
                return text.length() > 16_000 ? text.substring(0, 16_000) + "..." : text;
            }
        } catch (RuntimeException notJson) {
            // fall through to the raw text
        }
        return body.length() > 16_000 ? body.substring(0, 16_000) + "..." : body;
    }

    private static Optional<String> text(JsonNode body, String field) {
        JsonNode value = body == null ? null : body.get(field);
        return value == null || value.isNull() ? Optional.empty() : Optional.of(value.asText());
    }

    private static BackendException malformed(String call, String field, JsonNode body) {
        return new BackendException(BACKEND + " " + call + " answered without '" + field + "': "
                + abbreviate(String.valueOf(body)));
    }

    private static String abbreviate(String text) {
        return text.length() > 300 ? text.substring(0, 300) + "..." : text;
    }
}
