package dev.agentruntime.thirdparty.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.Secret;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.spi.ControlPlaneErrors;
import dev.agentruntime.spi.Retry;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import okhttp3.Call;
import okhttp3.ConnectionPool;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JSON over HTTP to a vendor's control plane, done once for every vendor backend: the auth and fixed headers on
 * every call, one call timeout, answers that are not 2xx mapped through {@link ControlPlaneErrors} (messages name the
 * call, the sandbox and what to check), transient failures retried with {@link Retry} (waiting what the vendor asked
 * for), and request and response bodies logged at TRACE with secret-looking fields redacted.
 *
 * <p>A call that is not idempotent is retried only when it certainly did not run: a connection that could not be
 * made, or a 429. An idempotent one (GET, DELETE, or a POST carrying an idempotency key) is retried on every transient
 * failure.
 */
public final class VendorHttp {

    private static final Logger log = LoggerFactory.getLogger(VendorHttp.class);
    public static final MediaType JSON = MediaType.get("application/json; charset=utf-8");
    private static final Pattern SECRET_FIELD = Pattern.compile(
            "(\"[^\"]*(?i:token|secret|password|api[-_]?key|authorization|jwt|credential)[^\"]*\"\\s*:\\s*)\"[^\"]*\"");

    /** One pool for every vendor client, as OkHttp recommends. */
    private static final OkHttpClient SHARED = new OkHttpClient.Builder()
            .connectionPool(new ConnectionPool(10, 4, TimeUnit.MINUTES))
            .connectTimeout(Duration.ofSeconds(10))
            .readTimeout(Duration.ZERO)
            .writeTimeout(Duration.ofMinutes(5))
            .retryOnConnectionFailure(false)
            .build();

    private final String vendor;
    private final HttpUrl base;
    private final OkHttpClient http;
    private final Map<String, Secret> headers;
    private final String checkHint;
    private final Duration callTimeout;
    private final int attempts;
    private final RetryRule retryRule;

    /**
     * A vendor's own word on whether a failed answer is worth another attempt, beyond the default mapping (408, 429
     * and 5xx are transient): e.g. Runloop's {@code x-should-retry} header and its retried 409s.
     */
    @FunctionalInterface
    public interface RetryRule {
        /**
         * @return true to retry (the call carries an idempotency key or certainly did not run), false never to
         *         retry, empty to leave it to the default mapping
         */
        java.util.Optional<Boolean> retry(int status, java.util.function.Function<String, String> header);
    }

    private VendorHttp(Builder b) {
        this.vendor = b.vendor;
        this.base = HttpUrl.get(b.baseUrl.toString());
        this.headers = Map.copyOf(b.headers);
        this.checkHint = b.checkHint;
        this.callTimeout = b.callTimeout;
        this.attempts = b.attempts;
        this.retryRule = b.retryRule;
        this.http = b.client.newBuilder().retryOnConnectionFailure(false).build();
    }

    public static Builder builder(String vendor, URI baseUrl) {
        return new Builder(vendor, baseUrl);
    }

    /** The vendor's base URL. */
    public HttpUrl baseUrl() {
        return base;
    }

    /** A URL below the base URL: {@code path} is relative and may hold several segments (each is encoded). */
    public HttpUrl url(String path) {
        return urlBuilder(path).build();
    }

    /** The same with query parameters (in order; null values are skipped). */
    public HttpUrl url(String path, Map<String, String> query) {
        HttpUrl.Builder url = urlBuilder(path);
        query.forEach((name, value) -> {
            if (value != null) {
                url.addQueryParameter(name, value);
            }
        });
        return url.build();
    }

    /** A URL builder below the base URL, for repeated or unusual query parameters. */
    public HttpUrl.Builder urlBuilder(String path) {
        HttpUrl.Builder url = base.newBuilder();
        for (String segment : path.split("/")) {
            if (!segment.isEmpty()) {
                url.addPathSegment(segment);
            }
        }
        return url;
    }

    /**
     * One request and its JSON answer (null for an empty body).
     *
     * @param method     GET, POST, PUT, PATCH or DELETE
     * @param url        from {@link #url(String)}
     * @param body       the JSON body, or null
     * @param sandbox    the sandbox concerned, for messages, or null
     * @param idempotent whether running it twice is harmless (then every transient failure is retried)
     * @param extra      more headers for this call (e.g. an idempotency key reused across retries)
     */
    public JsonNode json(String method, HttpUrl url, JsonNode body, String sandbox, boolean idempotent,
                         Map<String, String> extra) {
        String text = text(method, url, body == null ? null : RequestBody.create(WireCodec.toJson(body), JSON),
                sandbox, idempotent, extra);
        return text.isBlank() ? null : parse(text, method, url);
    }

    /** Like {@link #json} for a GET. */
    public JsonNode get(HttpUrl url, String sandbox) {
        return json("GET", url, null, sandbox, true, Map.of());
    }

    /** One request whose answer is text (or ignored). */
    public String text(String method, HttpUrl url, RequestBody body, String sandbox, boolean idempotent,
                       Map<String, String> extra) {
        try (Response response = send(method, url, body, sandbox, idempotent, extra, callTimeout)) {
            return bodyText(response);
        } catch (IOException e) {
            throw broken(method, url, sandbox, e);
        }
    }

    /**
     * Opens a streaming answer (server-sent events, Connect envelopes, a download); the caller reads and closes it.
     * Non-2xx answers are mapped to errors before this returns.
     *
     * @param timeout how long the whole exchange may take ({@link Duration#ZERO}: no limit)
     */
    public Response stream(String method, HttpUrl url, RequestBody body, String sandbox, Map<String, String> extra,
                           Duration timeout) {
        return send(method, url, body, sandbox, false, extra, timeout);
    }

    /**
     * Like {@link #stream(String, HttpUrl, RequestBody, String, Map, Duration)}, for an answer whose headers matter
     * (a cursor in {@code X-Next-Token}): an idempotent call is retried on every transient failure.
     */
    public Response stream(String method, HttpUrl url, RequestBody body, String sandbox, boolean idempotent,
                           Map<String, String> extra, Duration timeout) {
        return send(method, url, body, sandbox, idempotent, extra, timeout);
    }

    private Response send(String method, HttpUrl url, RequestBody body, String sandbox, boolean idempotent,
                          Map<String, String> extra, Duration timeout) {
        String what = method + " " + url.encodedPath();
        Request.Builder request = new Request.Builder().url(url).method(method, body == null && requiresBody(method)
                ? RequestBody.create(new byte[0], null) : body);
        headers.forEach((name, value) -> request.header(name, value.reveal()));
        extra.forEach(request::header);
        Request built = request.build();
        return Retry.of(vendor + " " + what, Instant.now().plus(timeout.isZero() ? Duration.ofHours(1)
                : timeout.multipliedBy(attempts))).attempts(attempts).call(() -> once(built, what, sandbox, idempotent,
                timeout));
    }

    private Response once(Request request, String what, String sandbox, boolean idempotent, Duration timeout) {
        Call call = http.newCall(request);
        if (!timeout.isZero()) {
            call.timeout().timeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        if (log.isTraceEnabled()) {
            log.trace("{} -> {} {}", vendor, what, sandbox == null ? "" : "(sandbox " + sandbox + ")");
        }
        Response response;
        try {
            response = call.execute();
        } catch (ConnectException | UnknownHostException e) {
            throw new RuntimeUnavailableException(vendor + " " + what + (sandbox == null ? "" : " for sandbox "
                    + sandbox) + ": cannot connect to " + request.url().host() + ":" + request.url().port() + " ("
                    + e.getMessage() + "). Check the API URL and the network.", e);
        } catch (InterruptedIOException e) {
            throw new RuntimeTimeoutException(vendor + " " + what + (sandbox == null ? "" : " for sandbox " + sandbox)
                    + " did not answer within " + timeout.toMillis() + " ms", e);
        } catch (IOException e) {
            AgentRuntimeException failure = broken(request.method(), request.url(), sandbox, e);
            throw idempotent ? failure : new BackendException(failure.getMessage(), false, null, e);
        }
        if (response.isSuccessful()) {
            return response;
        }
        String text;
        try (response) {
            text = bodyText(response);
        } catch (IOException e) {
            text = "";
        }
        if (log.isTraceEnabled()) {
            log.trace("{} <- {} {}: {}", vendor, response.code(), what, redact(text));
        }
        AgentRuntimeException error = ControlPlaneErrors.fromHttp(vendor, what, sandbox, response.code(),
                response::header, text, checkHint);
        java.util.Optional<Boolean> rule = retryRule == null ? java.util.Optional.empty()
                : retryRule.retry(response.code(), response::header);
        if (rule.isPresent() && rule.get() != error.isTransient()) {
            error = rule.get()
                    ? BackendException.transientFailure(error.getMessage(),
                            ControlPlaneErrors.retryAfter(response::header).orElse(null), error)
                    : new BackendException(error.getMessage(), false, null, error);
        }
        if (!idempotent && error.isTransient() && response.code() != 429) {
            // it may have run on the vendor's side: sending it again could do it twice
            throw new BackendException(error.getMessage() + " The call may have taken effect, so it was not retried.",
                    false, null, error);
        }
        throw error;
    }

    private String bodyText(Response response) throws IOException {
        ResponseBody body = response.body();
        String text = body == null ? "" : body.string();
        if (log.isTraceEnabled() && response.isSuccessful()) {
            log.trace("{} <- {} {}", vendor, response.code(), redact(text));
        }
        return text;
    }

    private JsonNode parse(String text, String method, HttpUrl url) {
        try {
            return WireCodec.parse(text);
        } catch (RuntimeException e) {
            throw new BackendException(vendor + " " + method + " " + url.encodedPath() + " answered something that is"
                    + " not JSON: " + ControlPlaneErrors.detail(text));
        }
    }

    private AgentRuntimeException broken(String method, HttpUrl url, String sandbox, IOException e) {
        return new RuntimeUnavailableException(vendor + " " + method + " " + url.encodedPath()
                + (sandbox == null ? "" : " for sandbox " + sandbox) + ": the connection broke (" + e + ")", e);
    }

    private static boolean requiresBody(String method) {
        return method.equals("POST") || method.equals("PUT") || method.equals("PATCH");
    }

    /** The text with the values of secret-looking JSON fields ({@code token}, {@code apiKey}, ...) replaced. */
    public static String redact(String text) {
        return SECRET_FIELD.matcher(text).replaceAll("$1\"REDACTED\"");
    }

    /** A new JSON object, for request bodies. */
    public static ObjectNode object() {
        return WireCodec.MAPPER.createObjectNode();
    }

    /** Builds a {@link VendorHttp}. */
    public static final class Builder {
        private final String vendor;
        private final URI baseUrl;
        private final Map<String, Secret> headers = new LinkedHashMap<>();
        private OkHttpClient client = SHARED;
        private String checkHint;
        private Duration callTimeout = Duration.ofSeconds(60);
        private int attempts = 4;
        private RetryRule retryRule;

        private Builder(String vendor, URI baseUrl) {
            this.vendor = Objects.requireNonNull(vendor, "vendor");
            this.baseUrl = Objects.requireNonNull(baseUrl, "baseUrl");
        }

        public Builder header(String name, String value) {
            headers.put(name, Secret.of(value));
            return this;
        }

        public Builder secretHeader(String name, Secret value) {
            headers.put(name, value);
            return this;
        }

        /** {@code Authorization: Bearer <token>}. */
        public Builder bearer(Secret token) {
            return secretHeader("Authorization", Secret.of("Bearer " + token.reveal()));
        }

        /** What to check when the vendor refuses the credentials, e.g. {@code "Check E2B_API_KEY."}. */
        public Builder checkHint(String value) {
            this.checkHint = value;
            return this;
        }

        public Builder callTimeout(Duration value) {
            this.callTimeout = value;
            return this;
        }

        /** How many attempts a retryable call gets in all (default 4). */
        public Builder attempts(int value) {
            this.attempts = value;
            return this;
        }

        /** The vendor's own retry rule (default: none, the default mapping decides). */
        public Builder retryRule(RetryRule value) {
            this.retryRule = value;
            return this;
        }

        /** Escape hatch for tests or a user's own client (its pool and TLS settings are used). */
        public Builder client(OkHttpClient value) {
            this.client = value;
            return this;
        }

        public VendorHttp build() {
            return new VendorHttp(this);
        }
    }
}
