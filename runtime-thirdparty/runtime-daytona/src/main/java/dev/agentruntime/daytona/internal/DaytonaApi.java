package dev.agentruntime.daytona.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.Secret;
import dev.agentruntime.daytona.DaytonaConfig;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.thirdparty.internal.VendorHttp;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Daytona's control plane ({@code /api}): sandboxes created, looked up, listed by labels, started, stopped, paused,
 * kept active and deleted, and their preview URLs. Every call carries the account's {@code Authorization} (and
 * {@code X-Daytona-Organization-ID} with a JWT), {@code X-Daytona-Source} and {@code X-Daytona-SDK-Version}; errors are
 * mapped by {@link VendorHttp} with the sandbox named; 429s wait what Daytona's rate-limit headers say.
 */
public final class DaytonaApi {

    private static final Logger log = LoggerFactory.getLogger(DaytonaApi.class);
    /** The SDK protocol version we speak; the toolbox answers session logs as JSON from 0.167.0 on. */
    public static final String SDK_VERSION = "0.218.0";
    public static final String SOURCE = "agent-runtime-java";
    /** Page size of list calls (Daytona allows 1..200). */
    static final int PAGE_SIZE = 100;
    private static final String CHECK = "Check DAYTONA_API_KEY (or DAYTONA_JWT_TOKEN with DAYTONA_ORGANIZATION_ID) "
            + "and DAYTONA_API_URL.";

    /** One client for every Daytona call of this JVM; Daytona's rate-limit headers become {@code Retry-After}. */
    private static final OkHttpClient CLIENT = new OkHttpClient.Builder()
            .addInterceptor(new RateLimitHeaders())
            .connectTimeout(10, TimeUnit.SECONDS)
            .readTimeout(0, TimeUnit.SECONDS)
            .writeTimeout(5, TimeUnit.MINUTES)
            .build();

    private final DaytonaConfig config;
    private final VendorHttp http;
    private final OkHttpClient client;
    private final Map<String, Secret> headers;

    public DaytonaApi(DaytonaConfig config) {
        this(config, CLIENT);
    }

    /** With a client of the caller's (tests, proxies); Daytona's rate-limit headers are read all the same. */
    public DaytonaApi(DaytonaConfig config, OkHttpClient client) {
        this.config = config;
        this.client = client.interceptors().stream().anyMatch(RateLimitHeaders.class::isInstance) ? client
                : client.newBuilder().addInterceptor(new RateLimitHeaders()).build();
        Map<String, Secret> h = new LinkedHashMap<>();
        h.put("Authorization", Secret.of("Bearer " + config.apiKey().or(config::jwtToken).orElseThrow().reveal()));
        if (config.apiKey().isEmpty()) {
            h.put("X-Daytona-Organization-ID", Secret.of(config.organizationId().orElseThrow()));
        }
        h.put("X-Daytona-Source", Secret.of(SOURCE));
        h.put("X-Daytona-SDK-Version", Secret.of(SDK_VERSION));
        this.headers = Map.copyOf(h);
        this.http = vendorHttp(config.apiUrl());
    }

    /** A client of {@code base} with this account's headers (the API, or a sandbox's toolbox). */
    VendorHttp vendorHttp(URI base) {
        return vendorHttp(base, config.callTimeout());
    }

    private VendorHttp vendorHttp(URI base, Duration callTimeout) {
        VendorHttp.Builder b = VendorHttp.builder("Daytona", base).client(client).checkHint(CHECK)
                .callTimeout(callTimeout);
        headers.forEach(b::secretHeader);
        return b.build();
    }

    public DaytonaConfig config() {
        return config;
    }

    /** The toolbox of {@code sandbox}: {@code <toolboxProxyUrl>/<id>}. */
    public DaytonaToolbox toolbox(DaytonaSandbox sandbox) {
        String proxy = sandbox.toolboxProxyUrl().orElseGet(() -> toolboxProxyUrl(sandbox.id()));
        String base = (proxy.endsWith("/") ? proxy : proxy + "/") + sandbox.id();
        URI uri = URI.create(base);
        return new DaytonaToolbox(sandbox.id(), vendorHttp(uri), timeout -> vendorHttp(uri, timeout));
    }

    /** {@code GET /sandbox/{id}/toolbox-proxy-url}, for sandboxes whose JSON did not carry it. */
    String toolboxProxyUrl(String id) {
        JsonNode answer = http.get(http.url("sandbox/" + id + "/toolbox-proxy-url"), id);
        String url = answer == null ? "" : answer.path("url").asText("");
        if (url.isBlank()) {
            throw new BackendException("Daytona GET /sandbox/" + id + "/toolbox-proxy-url answered no url");
        }
        return url;
    }

    /** {@code POST /sandbox}: the answer may still be {@code creating} or {@code pending_build}. */
    public DaytonaSandbox create(ObjectNode body, String sessionId) {
        // not idempotent: a create that may have run is not sent again (a 429 certainly did not run)
        JsonNode answer = http.json("POST", http.url("sandbox"), body, "of session " + sessionId, false, Map.of());
        if (answer == null || answer.path("id").asText("").isEmpty()) {
            throw new BackendException("Daytona POST /sandbox for session " + sessionId + " answered no sandbox id");
        }
        DaytonaSandbox sandbox = DaytonaSandbox.parse(answer);
        log.info("Daytona sandbox {} created for session {} (state {})", sandbox.id(), sessionId, sandbox.state());
        return sandbox;
    }

    /** {@code GET /sandbox/{id}}. */
    public DaytonaSandbox get(String id) {
        return DaytonaSandbox.parse(http.get(http.url("sandbox/" + id), id));
    }

    /** Like {@link #get}, empty when Daytona does not know the sandbox. */
    public Optional<DaytonaSandbox> find(String id) {
        try {
            return Optional.of(get(id));
        } catch (RuntimeNotFoundException e) {
            return Optional.empty();
        }
    }

    /** {@code GET /sandbox?labels=<json>&cursor=&limit=}, every page. */
    public List<DaytonaSandbox> list(Map<String, String> labels) {
        List<DaytonaSandbox> all = new ArrayList<>();
        String cursor = null;
        for (int page = 0; page < 10_000; page++) {
            HttpUrl.Builder url = http.urlBuilder("sandbox")
                    .addQueryParameter("limit", Integer.toString(PAGE_SIZE))
                    .addQueryParameter("labels", WireCodec.toJson(WireCodec.MAPPER.valueToTree(new TreeMap<>(labels))));
            if (cursor != null) {
                url.addQueryParameter("cursor", cursor);
            }
            JsonNode answer = http.get(url.build(), null);
            if (answer == null || !answer.path("items").isArray()) {
                throw new BackendException("Daytona GET /sandbox answered no items list");
            }
            answer.path("items").forEach(item -> all.add(DaytonaSandbox.parse(item)));
            JsonNode next = answer.get("nextCursor");
            if (next == null || next.isNull() || next.asText().isEmpty()) {
                return all;
            }
            cursor = next.asText();
        }
        throw new BackendException("Daytona GET /sandbox kept answering more pages (over 10000); giving up");
    }

    /** {@code POST /sandbox/{id}/start}: start or resume. */
    public void start(String id) {
        lifecycle(id, "start");
    }

    /** {@code POST /sandbox/{id}/stop}. */
    public void stop(String id) {
        lifecycle(id, "stop");
    }

    /** {@code POST /sandbox/{id}/pause}: only some sandbox classes can. */
    public void pause(String id) {
        lifecycle(id, "pause");
    }

    private void lifecycle(String id, String action) {
        // asking for a state twice is harmless: Daytona answers the second one with the state it is in
        http.json("POST", http.url("sandbox/" + id + "/" + action), null, id, true, Map.of());
    }

    /** {@code POST /sandbox/{id}/last-activity}: resets the auto-stop timer. */
    public void refreshActivity(String id) {
        http.json("POST", http.url("sandbox/" + id + "/last-activity"), null, id, true, Map.of());
    }

    /**
     * {@code DELETE /sandbox/{id}}.
     *
     * @return false when Daytona did not know it (already gone)
     */
    public boolean delete(String id) {
        try {
            http.json("DELETE", http.url("sandbox/" + id), null, id, true, Map.of());
            log.info("Daytona sandbox {} deleted", id);
            return true;
        } catch (RuntimeNotFoundException e) {
            return false;
        }
    }

    /** A port's preview URL and the token that opens it ({@code X-Daytona-Preview-Token}). */
    public record Preview(URI url, Secret token) {
    }

    /** {@code GET /sandbox/{id}/ports/{port}/preview-url}. */
    public Preview previewUrl(String id, int port) {
        JsonNode answer = http.get(http.url("sandbox/" + id + "/ports/" + port + "/preview-url"), id);
        String url = answer == null ? "" : answer.path("url").asText("");
        String token = answer == null ? "" : answer.path("token").asText("");
        if (url.isBlank() || token.isBlank()) {
            throw new BackendException("Daytona GET /sandbox/" + id + "/ports/" + port + "/preview-url answered no "
                    + "url or token");
        }
        return new Preview(URI.create(url), Secret.of(token));
    }

    /** {@code GET /sandbox/{id}/ports/{port}/signed-preview-url?expiresInSeconds=}: the token is in the URL itself. */
    public URI signedPreviewUrl(String id, int port, Duration expiresIn) {
        HttpUrl url = http.urlBuilder("sandbox/" + id + "/ports/" + port + "/signed-preview-url")
                .addQueryParameter("expiresInSeconds", Long.toString(expiresIn.toSeconds())).build();
        JsonNode answer = http.get(url, id);
        String signed = answer == null ? "" : answer.path("url").asText("");
        if (signed.isBlank()) {
            throw new BackendException("Daytona GET /sandbox/" + id + "/ports/" + port + "/signed-preview-url "
                    + "answered no url");
        }
        return URI.create(signed);
    }

    /**
     * Polls {@code GET /sandbox/{id}} (every 100 ms, growing to 1 s, as Daytona's SDKs do) until {@code done} holds;
     * {@code error} and {@code build_failed} end the wait at once with Daytona's reason.
     *
     * @param what what is awaited, for messages ("to start")
     */
    public DaytonaSandbox await(String id, Predicate<DaytonaSandbox> done, Instant deadline, String what) {
        Duration interval = Duration.ofMillis(100);
        DaytonaSandbox last = null;
        while (true) {
            last = get(id);
            if (done.test(last)) {
                return last;
            }
            if (last.failed()) {
                throw new RuntimeStartupException("Daytona sandbox " + id + " failed " + what + ": it is in state "
                        + last.describeState() + (DaytonaSandbox.BUILD_FAILED.equals(last.state())
                        ? ". Check the image and its Dockerfile." : "."));
            }
            if (last.gone()) {
                throw new RuntimeNotFoundException("Daytona sandbox " + id + " is " + last.state() + " while waiting "
                        + what);
            }
            if (Instant.now().plus(interval).isAfter(deadline)) {
                throw new RuntimeTimeoutException("Daytona sandbox " + id + " did not get " + what + " in time: it is "
                        + "still in state " + last.describeState());
            }
            try {
                Thread.sleep(interval.toMillis()); // the polling interval of Daytona's own SDKs, deadline-bounded
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RuntimeTimeoutException("Interrupted while waiting for Daytona sandbox " + id + " " + what,
                        e);
            }
            interval = interval.multipliedBy(2).compareTo(Duration.ofSeconds(1)) > 0 ? Duration.ofSeconds(1)
                    : interval.multipliedBy(2);
        }
    }

    /** Waits for {@code started}. */
    public DaytonaSandbox awaitStarted(String id, Instant deadline) {
        return await(id, s -> DaytonaSandbox.STARTED.equals(s.state()), deadline, "to start");
    }
}
