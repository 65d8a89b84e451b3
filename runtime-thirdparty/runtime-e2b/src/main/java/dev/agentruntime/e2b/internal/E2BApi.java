package dev.agentruntime.e2b.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.BackendConflictException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.Secret;
import dev.agentruntime.e2b.E2BConfig;
import dev.agentruntime.thirdparty.internal.VendorHttp;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Response;

/**
 * E2B's control plane (REST + JSON, {@code X-API-KEY}), the calls the backend needs: create ({@code POST
 * /v2/sandboxes}), get, list with the metadata filter and cursor paging, pause, connect (which resumes a paused
 * sandbox), set timeout and kill. Non-2xx answers become the kit's errors with the sandbox named; E2B's error body
 * {@code {"code","message","error_code"?}} gives the detail.
 */
public final class E2BApi {

    static final String VENDOR = "E2B";
    private static final int PAGE_LIMIT = 100;

    private final VendorHttp http;

    public E2BApi(E2BConfig config) {
        this(config, null);
    }

    /** With the user's own OkHttp client (tests, proxies); null for the shared one. */
    public E2BApi(E2BConfig config, OkHttpClient client) {
        VendorHttp.Builder b = VendorHttp.builder(VENDOR, config.apiUrl())
                .secretHeader("X-API-KEY", config.apiKey())
                .checkHint("Check E2B_API_KEY (option api.key) and that it belongs to the team the sandbox is in.")
                .callTimeout(config.requestTimeout());
        if (client != null) {
            b.client(client);
        }
        this.http = b.build();
    }

    /** What a new sandbox is made of. */
    public record CreateRequest(String template, Duration timeout, boolean autoPause, Map<String, String> metadata,
                                Map<String, String> envVars, Optional<Boolean> internetAccess,
                                Optional<Boolean> publicTraffic, List<String> allowOut, List<String> denyOut) {
    }

    /**
     * A sandbox as create and connect describe it.
     *
     * @param domain        the base domain of the sandbox's hosts, when E2B names one
     * @param envdToken     envd's {@code X-Access-Token} (v2 sandboxes are always secured)
     * @param trafficToken  the {@code e2b-traffic-access-token} its ports demand when public traffic is off
     */
    public record Sandbox(String sandboxId, String templateId, String envdVersion, Optional<Secret> envdToken,
                          Optional<Secret> trafficToken, Optional<String> domain) {
        @Override
        public String toString() {
            return "Sandbox[" + sandboxId + ", template " + templateId + ", envd " + envdVersion + "]";
        }
    }

    /** A sandbox as get and list describe it. */
    public record Listed(String sandboxId, String templateId, String state, Map<String, String> metadata,
                         Optional<String> endAt) {
    }

    /** {@code POST /v2/sandboxes}: 201 and the new sandbox. A 429 is retried; other failures are not (no doubles). */
    public Sandbox create(CreateRequest request) {
        ObjectNode body = VendorHttp.object();
        body.put("templateID", request.template());
        body.put("timeout", seconds(request.timeout()));
        body.put("autoPause", request.autoPause());
        body.set("metadata", stringMap(request.metadata()));
        body.set("envVars", stringMap(request.envVars()));
        request.internetAccess().ifPresent(v -> body.put("allow_internet_access", v));
        if (request.publicTraffic().isPresent() || !request.allowOut().isEmpty() || !request.denyOut().isEmpty()) {
            ObjectNode network = body.putObject("network");
            request.publicTraffic().ifPresent(v -> network.put("allowPublicTraffic", v));
            if (!request.allowOut().isEmpty()) {
                ArrayNode allow = network.putArray("allowOut");
                request.allowOut().forEach(allow::add);
            }
            if (!request.denyOut().isEmpty()) {
                ArrayNode deny = network.putArray("denyOut");
                request.denyOut().forEach(deny::add);
            }
        }
        JsonNode created = http.json("POST", http.url("v2/sandboxes"), body, null, false, Map.of());
        return sandbox(created, "POST /v2/sandboxes", null);
    }

    /** {@code GET /sandboxes/{id}}. */
    public Listed get(String sandboxId) {
        return listed(http.get(http.url("sandboxes/" + sandboxId), sandboxId));
    }

    /**
     * {@code GET /v2/sandboxes?metadata=...&state=running,paused}, every page ({@code X-Next-Token}).
     *
     * @param metadata only sandboxes whose metadata has all these entries
     */
    public List<Listed> list(Map<String, String> metadata) {
        List<Listed> all = new ArrayList<>();
        String next = null;
        do {
            HttpUrl.Builder url = http.urlBuilder("v2/sandboxes");
            if (!metadata.isEmpty()) {
                url.addQueryParameter("metadata", metadataQuery(metadata));
            }
            url.addQueryParameter("state", "running,paused");
            url.addQueryParameter("limit", Integer.toString(PAGE_LIMIT));
            if (next != null) {
                url.addQueryParameter("nextToken", next);
            }
            try (Response response = http.stream("GET", url.build(), null, null, true, Map.of(),
                    Duration.ofSeconds(60))) {
                String text = response.body().string();
                JsonNode page = dev.agentruntime.internal.WireCodec.parse(text.isBlank() ? "[]" : text);
                if (!page.isArray()) {
                    throw new BackendException("E2B GET /v2/sandboxes answered something that is not a list");
                }
                page.forEach(item -> all.add(listed(item)));
                String token = response.header("X-Next-Token");
                next = token == null || token.isBlank() ? null : token;
            } catch (java.io.IOException e) {
                throw new dev.agentruntime.RuntimeUnavailableException("E2B GET /v2/sandboxes: the answer broke off ("
                        + e + ")", e);
            }
        } while (next != null);
        return all;
    }

    /**
     * {@code POST /sandboxes/{id}/pause}: memory and processes are kept.
     *
     * @return false when it was paused already (E2B answers 409)
     */
    public boolean pause(String sandboxId) {
        try {
            http.json("POST", http.url("sandboxes/" + sandboxId + "/pause"), null, sandboxId, false, Map.of());
            return true;
        } catch (BackendConflictException e) {
            return false;
        }
    }

    /**
     * {@code POST /v2/sandboxes/{id}/connect {"timeout"}}: resumes a paused sandbox (201) or only extends a running
     * one's timeout (200); either way the answer carries the tokens to reach it.
     */
    public Sandbox connect(String sandboxId, Duration timeout) {
        ObjectNode body = VendorHttp.object();
        body.put("timeout", seconds(timeout));
        JsonNode answer = http.json("POST", http.url("v2/sandboxes/" + sandboxId + "/connect"), body, sandboxId, true,
                Map.of());
        return sandbox(answer, "POST /v2/sandboxes/" + sandboxId + "/connect", sandboxId);
    }

    /** {@code POST /sandboxes/{id}/timeout {"timeout"}}: the sandbox now ends {@code timeout} from now. */
    public void setTimeout(String sandboxId, Duration timeout) {
        ObjectNode body = VendorHttp.object();
        body.put("timeout", seconds(timeout));
        http.json("POST", http.url("sandboxes/" + sandboxId + "/timeout"), body, sandboxId, true, Map.of());
    }

    /**
     * {@code DELETE /sandboxes/{id}}.
     *
     * @return false when there was no such sandbox (404)
     */
    public boolean kill(String sandboxId) {
        try {
            http.json("DELETE", http.url("sandboxes/" + sandboxId), null, sandboxId, true, Map.of());
            return true;
        } catch (RuntimeNotFoundException e) {
            return false;
        }
    }

    /**
     * The {@code metadata} query value the official SDKs send: {@code k=v&k2=v2}, each key and value URI-encoded, the
     * whole form-encoded (the query parameter itself is then encoded once more by the URL).
     */
    static String metadataQuery(Map<String, String> metadata) {
        return metadata.entrySet().stream()
                .map(e -> form(uri(e.getKey())) + "=" + form(uri(e.getValue())))
                .collect(Collectors.joining("&"));
    }

    private static String uri(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20").replace("%21", "!")
                .replace("%27", "'").replace("%28", "(").replace("%29", ")").replace("%7E", "~");
    }

    private static String form(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }

    private static long seconds(Duration duration) {
        return Math.max(1, (duration.toMillis() + 999) / 1000);
    }

    private static ObjectNode stringMap(Map<String, String> map) {
        ObjectNode node = VendorHttp.object();
        map.forEach(node::put);
        return node;
    }

    private static Sandbox sandbox(JsonNode node, String call, String sandboxId) {
        if (node == null || !node.hasNonNull("sandboxID")) {
            throw new BackendException("E2B " + call + (sandboxId == null ? "" : " for sandbox " + sandboxId)
                    + " answered without a sandboxID");
        }
        return new Sandbox(node.get("sandboxID").asText(), text(node, "templateID").orElse(""),
                text(node, "envdVersion").orElse("0.0.0"), text(node, "envdAccessToken").map(Secret::of),
                text(node, "trafficAccessToken").map(Secret::of), text(node, "domain"));
    }

    private static Listed listed(JsonNode node) {
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode m = node.path("metadata");
        m.fields().forEachRemaining(e -> metadata.put(e.getKey(), e.getValue().asText()));
        return new Listed(node.path("sandboxID").asText(), text(node, "templateID").orElse(""),
                text(node, "state").orElse("running"), metadata, text(node, "endAt"));
    }

    private static Optional<String> text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() || value.asText().isEmpty() ? Optional.empty()
                : Optional.of(value.asText());
    }
}
