package dev.agentruntime.spi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.Action;
import dev.agentruntime.ActionFailedException;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.Observation;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.internal.WireFormatException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import okhttp3.Call;
import okhttp3.ConnectionPool;
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
 * The HTTP client to one action server (ours or OpenHands'): pooled keep-alive connections, the
 * {@code X-Session-API-Key} header and the endpoint's extra headers on every call (transfers included), a per-action call timeout of action timeout + 5 s, and failures mapped to the
 * library's typed exceptions. Retries only where a retry cannot run a command twice: {@code /execute_action} and
 * uploads are retried only when the connection could not be established (nothing was sent); reads are retried on
 * any I/O failure.
 */
public final class ActionServerClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ActionServerClient.class);
    private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");
    private static final Duration ACTION_GRACE = Duration.ofSeconds(5);
    private static final int CONNECT_RETRIES = 3;
    private static final Duration ALIVE_PROBE_TIMEOUT = Duration.ofSeconds(5);

    /**
     * How long an idle pooled connection is kept. It must be shorter than the server's own idle timeout: when the
     * server closes an idle keep-alive connection, OkHttp only notices before reusing it if the connection was idle
     * for 10 s or more; otherwise the next POST goes out on a dead socket and fails as "unexpected end of stream",
     * which we may not retry (a POST may have run). OpenHands' server runs uvicorn, whose keep-alive timeout is 5 s.
     */
    static final Duration POOL_KEEP_ALIVE = Duration.ofSeconds(4);

    /**
     * One connection pool and dispatcher shared by all clients, as OkHttp recommends; each client derives its own
     * settings from it. It holds no per-runtime state.
     */
    private static final OkHttpClient SHARED = new OkHttpClient.Builder()
            .connectionPool(new ConnectionPool(5, POOL_KEEP_ALIVE.toMillis(), TimeUnit.MILLISECONDS))
            .connectTimeout(Duration.ofSeconds(5))
            .readTimeout(Duration.ZERO)
            .writeTimeout(Duration.ofMinutes(5))
            .build();

    /**
     * Turns an action server's HTTP error answer into the exception to throw, for backends whose servers sit behind
     * something with its own error codes (a gateway that answers 503 for a paused sandbox, 404 for a gone one).
     * Empty keeps the default mapping.
     */
    @FunctionalInterface
    public interface FailureMapper {

        /** The default mapping for every answer. */
        FailureMapper DEFAULT = (call, status, header, body) -> java.util.Optional.empty();

        /**
         * @param call   the endpoint called, e.g. {@code execute_action}
         * @param status the HTTP status
         * @param header reads a response header by name (case-insensitive), null when absent
         * @param body   the response body text
         */
        java.util.Optional<AgentRuntimeException> map(String call, int status,
                java.util.function.Function<String, String> header, String body);
    }

    private final ServerEndpoint endpoint;
    private final HttpUrl baseUrl;
    private final String runtimeId;
    private final OkHttpClient http;
    private final FailureMapper failureMapper;
    private final OkHttpClient base;
    /** The action path's own HTTP client (plain HTTP, no proxy, the shared base); null: OkHttp for everything. */
    private final LeanHttp lean;
    private final String executePath;

    /**
     * @param endpoint  where the server answers: base URL (possibly with a path prefix), session key, extra headers
     * @param runtimeId the session id, for error messages
     */
    public ActionServerClient(ServerEndpoint endpoint, String runtimeId) {
        this(endpoint, runtimeId, SHARED);
    }

    /** For tests: derive from {@code base} (e.g. one with its own connection pool) instead of the shared client. */
    ActionServerClient(ServerEndpoint endpoint, String runtimeId, OkHttpClient base) {
        this(endpoint, runtimeId, base, FailureMapper.DEFAULT);
    }

    private ActionServerClient(ServerEndpoint endpoint, String runtimeId, OkHttpClient base,
                               FailureMapper failureMapper) {
        this.failureMapper = java.util.Objects.requireNonNull(failureMapper, "failureMapper");
        this.base = base;
        this.endpoint = endpoint;
        this.baseUrl = HttpUrl.get(endpoint.baseUrl().toString());
        this.runtimeId = runtimeId;
        this.executePath = url("execute_action").encodedPath();
        List<String[]> fixed = new ArrayList<>();
        endpoint.sessionApiKey().ifPresent(key -> fixed.add(new String[] {ServerEndpoint.SESSION_KEY_HEADER,
                key.reveal()}));
        for (ServerEndpoint.Header header : endpoint.headers()) {
            fixed.add(new String[] {header.name(), header.value().reveal()});
        }
        this.lean = base == SHARED && LeanHttp.usable(baseUrl)
                ? new LeanHttp(baseUrl, fixed, POOL_KEEP_ALIVE.toNanos()) : null;
        this.http = base.newBuilder()
                // A pooled connection that went stale must not silently re-send a POST that may have run.
                .retryOnConnectionFailure(false)
                .addInterceptor(chain -> {
                    Request.Builder request = chain.request().newBuilder();
                    endpoint.sessionApiKey().ifPresent(key ->
                            request.header(ServerEndpoint.SESSION_KEY_HEADER, key.reveal()));
                    for (ServerEndpoint.Header header : endpoint.headers()) {
                        request.header(header.name(), header.value().reveal());
                    }
                    return chain.proceed(request.build());
                })
                .build();
    }

    /**
     * The same client with {@code mapper} consulted first for every HTTP error answer. The connection pool stays
     * shared.
     */
    public ActionServerClient withFailureMapper(FailureMapper mapper) {
        return new ActionServerClient(endpoint, runtimeId, base, mapper);
    }

    /** The endpoint this client talks to. */
    public ServerEndpoint endpoint() {
        return endpoint;
    }

    public URI baseUrl() {
        return baseUrl.uri();
    }

    /** One {@code GET /alive}: true on HTTP 2xx, false on any failure. */
    public boolean isAlive() {
        return isAlive(ALIVE_PROBE_TIMEOUT);
    }

    private boolean isAlive(Duration timeout) {
        Request request = new Request.Builder().url(url("alive")).get().build();
        Call call = http.newCall(request);
        call.timeout().timeout(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
        try (Response response = call.execute()) {
            return response.isSuccessful();
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Polls {@code /alive} with a short back-off until it answers, the deadline passes, or {@code stillStarting}
     * says the sandbox has died.
     *
     * Each probe waits at most until the deadline, so a server that accepts connections but never answers cannot
     * stretch the one overall deadline.
     *
     * @throws RuntimeTimeoutException when the deadline passes, with {@code diagnostics} in the message
     * @throws RuntimeStartupException when {@code stillStarting} turns false, with {@code diagnostics} in the message
     */
    public void awaitAlive(Instant deadline, BooleanSupplier stillStarting, Supplier<String> diagnostics) {
        long pauseMillis = 5;
        while (true) {
            Duration left = Duration.between(Instant.now(), deadline);
            if (isAlive(left.compareTo(ALIVE_PROBE_TIMEOUT) < 0 ? left : ALIVE_PROBE_TIMEOUT)) {
                return;
            }
            if (!stillStarting.getAsBoolean()) {
                throw new RuntimeStartupException("Action server of sandbox " + runtimeId + " at " + baseUrl
                        + " stopped before it became ready. " + diagnostics.get());
            }
            if (Instant.now().isAfter(deadline)) {
                throw new RuntimeTimeoutException("Action server of sandbox " + runtimeId + " at " + baseUrl
                        + " did not answer /alive before the startup deadline. " + diagnostics.get());
            }
            try {
                Thread.sleep(pauseMillis); // back-off between readiness probes of a remote process
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RuntimeUnavailableException("Interrupted while waiting for sandbox " + runtimeId, e);
            }
            pauseMillis = Math.min(pauseMillis * 2, 100);
        }
    }

    /**
     * Sends an action to {@code /execute_action} and decodes the observation.
     *
     * @param defaultTimeout the hard timeout used when the action carries none (sent on the wire, like OpenHands)
     */
    public Observation execute(Action action, Duration defaultTimeout) {
        return execute(action, defaultTimeout, null);
    }

    /**
     * Sends an action to {@code /execute_action}; with a listener, asks for the streamed answer
     * ({@code Accept: application/x-ndjson}, see docs/PROTOCOL.md) and passes output chunks to it as they arrive.
     * A server that does not stream answers with the plain observation, which is returned as it is.
     *
     * @param defaultTimeout the hard timeout used when the action carries none (sent on the wire, like OpenHands)
     * @param listener       receives output chunks on this thread; null asks for the plain answer
     */
    public Observation execute(Action action, Duration defaultTimeout, dev.agentruntime.OutputListener listener) {
        ObjectNode actionJson = WireCodec.encodeAction(action);
        Duration timeout = action.timeout().orElse(defaultTimeout);
        if (action.timeout().isEmpty()) {
            actionJson.put("timeout", timeout.toMillis() / 1000.0);
        }
        ObjectNode body = WireCodec.MAPPER.createObjectNode();
        body.set("action", actionJson);
        String json = WireCodec.toJson(body);
        if (log.isTraceEnabled()) {
            log.trace("sandbox {} -> {}", runtimeId, json);
        }
        Duration callTimeout = timeout.plus(ACTION_GRACE);
        if (listener == null && lean != null && json.length() <= LEAN_MAX_REQUEST_CHARS) {
            return executeLean(action, json, timeout, callTimeout); // a streamed answer stays on OkHttp
        }
        Request.Builder builder = new Request.Builder().url(url("execute_action"))
                .post(RequestBody.create(json, JSON));
        if (listener != null) {
            builder.header("Accept", dev.agentruntime.internal.OutputStreamFormat.MEDIA_TYPE + ", application/json");
        }
        Request request = builder.build();
        try (Response response = send(request, callTimeout, false, "execute_action")) {
            String text = listener != null && response.isSuccessful() && dev.agentruntime.internal.OutputStreamFormat.isStream(
                    response.header("Content-Type")) ? readStream(response, listener) : bodyText(response);
            if (log.isTraceEnabled()) {
                log.trace("sandbox {} <- {} {}", runtimeId, response.code(), text);
            }
            if (!response.isSuccessful()) {
                throw httpFailure("execute_action", response, text);
            }
            return decodeAnswer(action, text, response.code());
        } catch (IOException e) {
            throw executeFailure(e, timeout);
        }
    }

    /** Larger requests (a big file write) go through OkHttp, whose write timeout bounds a server that stops reading. */
    static final int LEAN_MAX_REQUEST_CHARS = 256 * 1024;

    /** {@link #execute} on the lean client: the same answers, errors and retry rules as the OkHttp path. */
    private Observation executeLean(Action action, String json, Duration timeout, Duration callTimeout) {
        byte[] bytes = json.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        long deadline = System.nanoTime() + callTimeout.toNanos();
        try {
            LeanHttp.Answer answer = null;
            IOException last = null;
            for (int attempt = 1; attempt <= CONNECT_RETRIES; attempt++) {
                try {
                    answer = lean.post(executePath, bytes, deadline);
                    if (answer.code() != 503 || attempt == CONNECT_RETRIES || !answer.body().contains("busy")) {
                        break;
                    }
                    // our server said it did not read the request (too busy with large ones): safe to send again
                    answer = null;
                    last = new IOException("HTTP 503 busy");
                    pauseBeforeRetry(attempt);
                } catch (ConnectException e) {
                    last = e; // nothing reached the server: always safe to try again
                    log.debug("sandbox {}: execute_action attempt {} failed: {}", runtimeId, attempt, e.toString());
                }
            }
            if (answer == null) {
                if (last instanceof ConnectException) {
                    throw new RuntimeUnavailableException("Cannot connect to the action server of sandbox " + runtimeId
                            + " at " + baseUrl + " for execute_action (" + last.getMessage() + "). Check that the"
                            + " sandbox is running and the port is reachable.", last);
                }
                throw last;
            }
            String text = answer.body();
            if (log.isTraceEnabled()) {
                log.trace("sandbox {} <- {} {}", runtimeId, answer.code(), text);
            }
            if (answer.code() < 200 || answer.code() >= 300) {
                throw httpFailure("execute_action", answer.code(), answer::header, text);
            }
            return decodeAnswer(action, text, answer.code());
        } catch (IOException e) {
            throw executeFailure(e, timeout);
        }
    }

    /** The observation in a successful {@code /execute_action} answer, or why it is not one. */
    private Observation decodeAnswer(Action action, String text, int code) {
        try {
            return markHidden(action, WireCodec.decodeObservation(WireCodec.parse(text)));
        } catch (WireFormatException e) {
            throw new ActionFailedException("Sandbox " + runtimeId + " answered /execute_action with something"
                    + " that is not an observation: " + e.getMessage(), code);
        }
    }

    /** An I/O failure of {@code /execute_action}: past its deadline, or a connection that broke mid-action. */
    private AgentRuntimeException executeFailure(IOException e, Duration timeout) {
        if (e instanceof InterruptedIOException) {
            return new RuntimeTimeoutException("Runtime failed to return execute_action before the requested timeout"
                    + " of " + timeout.toMillis() / 1000.0 + "s (sandbox " + runtimeId + ", " + baseUrl + ")", e);
        }
        return new RuntimeDisconnectedException("Connection to sandbox " + runtimeId + " at " + baseUrl
                + " broke during execute_action (" + e + "); the action may or may not have run. Check that the"
                + " sandbox is still running.", e);
    }

    /**
     * Reads a streamed answer: output events go to the listener as they arrive; returns the final line, the
     * observation JSON exactly as a plain answer's body. An error event becomes the HTTP failure it stands for.
     */
    private String readStream(Response response, dev.agentruntime.OutputListener listener) throws IOException {
        ResponseBody body = response.body();
        if (body == null) {
            throw new IOException("the streamed answer has no body");
        }
        okio.BufferedSource source = body.source();
        String line;
        while ((line = source.readUtf8Line()) != null) {
            if (line.isEmpty()) {
                continue;
            }
            dev.agentruntime.internal.OutputStreamFormat.Event event = dev.agentruntime.internal.OutputStreamFormat.parse(line);
            if (event == null) {
                return line; // the observation: always the last line
            }
            if (event.isOutput()) {
                if (!event.text().isEmpty()) {
                    listener.onOutput(event.text());
                }
            } else if (event.isError()) {
                throw httpFailure("execute_action", event.status(), response::header,
                        dev.agentruntime.internal.OutputStreamFormat.detailJson(event.text()));
            }
        }
        throw new java.io.EOFException("the streamed answer ended before its observation");
    }

    /** Like OpenHands' client: the output of a hidden command is flagged hidden, whatever the server said. */
    private static Observation markHidden(Action action, Observation observation) {
        if (action instanceof CmdRunAction run && run.hidden()
                && observation instanceof CmdOutputObservation output && !output.hidden()) {
            return new CmdOutputObservation(output.content(), output.command(), output.metadata(), true);
        }
        return observation;
    }

    /** {@code POST /list_files}; null lists the server's working directory. */
    public List<String> listFiles(String path) {
        ObjectNode body = WireCodec.MAPPER.createObjectNode();
        if (path != null) {
            body.put("path", path);
        }
        Request request = new Request.Builder().url(url("list_files"))
                .post(RequestBody.create(WireCodec.toJson(body), JSON)).build();
        try (Response response = send(request, Duration.ofSeconds(30), true, "list_files")) {
            String text = bodyText(response);
            if (!response.isSuccessful()) {
                throw httpFailure("list_files", response, text);
            }
            JsonNode array;
            try {
                array = WireCodec.parse(text);
            } catch (WireFormatException e) {
                array = null;
            }
            if (array == null || !array.isArray()) {
                throw new AgentRuntimeException("Sandbox " + runtimeId + " (" + baseUrl + ") answered list_files with"
                        + " something that is not a JSON array of names: " + abbreviate(text)
                        + ". Check that the server is an agent-runtime or OpenHands action server.", false);
            }
            List<String> names = new ArrayList<>();
            for (JsonNode name : array) {
                names.add(name.asText());
            }
            return names;
        } catch (IOException e) {
            throw ioFailure("list_files", e);
        }
    }

    /**
     * Uploads with {@code POST /upload_file}, streaming: a file is sent as it is read, a directory is zipped on the
     * fly (entry names keep the directory's own name, as OpenHands does) and extracted by the server.
     *
     * @param hostSrc     an existing host file or directory
     * @param destination the absolute sandbox directory (created by the server when missing)
     * @param recursive   true to send a directory tree
     */
    public void upload(Path hostSrc, String destination, boolean recursive) {
        hostSrc = hostSrc.toAbsolutePath().normalize(); // "dir" or "." must still name the directory in the zip
        boolean tree = recursive && Files.isDirectory(hostSrc);
        if (!recursive && Files.isDirectory(hostSrc)) {
            // Sent as a file it would fail half-way through the request and look like a broken connection.
            throw new IllegalArgumentException(hostSrc + " is a directory: upload it with recursive=true");
        }
        String fileName = hostSrc.getFileName() + (tree ? ".zip" : "");
        RequestBody content = tree ? new ZipTreeBody(hostSrc)
                : RequestBody.create(hostSrc.toFile(), MediaType.get("application/octet-stream"));
        HttpUrl target = url("upload_file").newBuilder()
                .addQueryParameter("destination", destination)
                .addQueryParameter("recursive", Boolean.toString(tree))
                .build();
        MultipartBody body = new MultipartBody.Builder().setType(MultipartBody.FORM)
                .addFormDataPart("file", fileName, content).build();
        Request request = new Request.Builder().url(target).post(body).build();
        try (Response response = send(request, Duration.ofHours(1), false, "upload_file")) {
            String text = bodyText(response);
            if (!response.isSuccessful()) {
                throw httpFailure("upload_file", response, text);
            }
        } catch (IOException e) {
            throw ioFailure("upload_file", e);
        }
    }

    /** Streams {@code GET /download_files?path=} (a zip) into {@code target}. */
    public void download(String path, Path target) {
        HttpUrl source = url("download_files").newBuilder().addQueryParameter("path", path).build();
        Request request = new Request.Builder().url(source).get().build();
        try (Response response = send(request, Duration.ofHours(1), true, "download_files")) {
            if (!response.isSuccessful()) {
                throw httpFailure("download_files", response, bodyText(response));
            }
            ResponseBody body = response.body();
            if (body == null) {
                throw new RuntimeDisconnectedException("Sandbox " + runtimeId + " sent no body for download_files");
            }
            Files.copy(body.byteStream(), target, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw ioFailure("download_files", e);
        }
    }

    /** {@code GET /server_info} as raw JSON text (uptime, idle time, resources). */
    public String serverInfo() {
        Request request = new Request.Builder().url(url("server_info")).get().build();
        try (Response response = send(request, Duration.ofSeconds(10), true, "server_info")) {
            String text = bodyText(response);
            if (!response.isSuccessful()) {
                throw httpFailure("server_info", response, text);
            }
            return text;
        } catch (IOException e) {
            throw ioFailure("server_info", e);
        }
    }

    @Override
    public void close() {
        // OkHttp's pool is shared; idle connections to this server are evicted by it. The lean client's are ours.
        if (lean != null) {
            lean.close();
        }
    }

    private Response send(Request request, Duration callTimeout, boolean idempotent, String what) throws IOException {
        IOException last = null;
        for (int attempt = 1; attempt <= CONNECT_RETRIES; attempt++) {
            Call call = http.newCall(request);
            call.timeout().timeout(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
            try {
                Response response = call.execute();
                if (response.code() != 503 || attempt == CONNECT_RETRIES || !refusedUnread(response)) {
                    return response;
                }
                // our server said it did not read the request (too busy with large ones): safe to send again
                response.close();
                last = new IOException("HTTP 503 busy");
                pauseBeforeRetry(attempt);
                continue;
            } catch (ConnectException e) {
                last = e; // nothing reached the server: always safe to try again
            } catch (InterruptedIOException e) {
                throw e;
            } catch (IOException e) {
                if (!idempotent) {
                    throw e;
                }
                last = e;
            }
            log.debug("sandbox {}: {} attempt {} failed: {}", runtimeId, what, attempt, last.toString());
        }
        if (last instanceof ConnectException) {
            throw new RuntimeUnavailableException("Cannot connect to the action server of sandbox " + runtimeId
                    + " at " + baseUrl + " for " + what + " (" + last.getMessage() + "). Check that the sandbox is"
                    + " running and the port is reachable.", last);
        }
        throw last;
    }

    /** A 503 from our server's admission control: its body says the request was not read. */
    private static boolean refusedUnread(Response response) throws IOException {
        return response.peekBody(4096).string().contains("busy");
    }

    private static void pauseBeforeRetry(int attempt) throws InterruptedIOException {
        try {
            Thread.sleep(50L * attempt); // back-off before re-sending a request the server did not read
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while retrying");
        }
    }

    private AgentRuntimeException ioFailure(String what, IOException e) {
        if (e instanceof InterruptedIOException) {
            return new RuntimeTimeoutException("Sandbox " + runtimeId + " did not finish " + what + " in time", e);
        }
        if (e instanceof java.nio.file.FileSystemException) {
            throw new UncheckedIOException("Local file error during " + what + " for sandbox " + runtimeId + ": " + e.getMessage(), e);
        }
        return new RuntimeDisconnectedException("Connection to sandbox " + runtimeId + " at " + baseUrl
                + " broke during " + what + ": " + e, e);
    }

    private AgentRuntimeException httpFailure(String what, Response response, String body) {
        return httpFailure(what, response.code(), response::header, body);
    }

    private AgentRuntimeException httpFailure(String what, int code, java.util.function.Function<String, String> header,
                                              String body) {
        java.util.Optional<AgentRuntimeException> mapped = failureMapper.map(what, code, header, body);
        if (mapped.isPresent()) {
            return mapped.get();
        }
        String detail = detail(body);
        String where = "sandbox " + runtimeId + " (" + baseUrl + ") " + what;
        if (code == 401 || code == 403) {
            return new ActionFailedException(where + " rejected the session API key (HTTP " + code + ": " + detail
                    + "). Check RuntimeConfig.sessionApiKey against the server's SESSION_API_KEY.", code);
        }
        if (code == 404 && !"download_files".equals(what)) {
            return new RuntimeNotFoundException(where + ": endpoint or sandbox not found (HTTP 404: " + detail + ")");
        }
        if (code == 502 || code == 503 || code == 504) {
            return new RuntimeUnavailableException(where + " is temporarily unavailable (HTTP " + code + ": " + detail
                    + "); try again.");
        }
        if (code >= 400 && code < 500) {
            return new ActionFailedException(where + " refused the request (HTTP " + code + "): " + detail, code);
        }
        return new AgentRuntimeException(where + " failed on the server (HTTP " + code + "): " + detail, false);
    }

    /**
     * The useful part of an error body: {@code detail} (a string from our server and OpenHands' HTTPExceptions, a list
     * of objects from a FastAPI validation error), plus OpenHands' {@code errors} on a 422; else the raw text.
     */
    private static String detail(String body) {
        try {
            JsonNode node = WireCodec.parse(body);
            if (node.has("detail")) {
                String text = textOf(node.get("detail"));
                if (node.hasNonNull("errors")) {
                    text += " " + textOf(node.get("errors"));
                }
                return abbreviate(text);
            }
        } catch (RuntimeException ignored) {
            // not JSON: fall back to the raw text
        }
        return abbreviate(body);
    }

    private static String textOf(JsonNode node) {
        return node.isTextual() ? node.asText() : node.toString();
    }

    private static String abbreviate(String text) {
        return text.length() > 500 ? text.substring(0, 500) + "..." : text;
    }

    private static String bodyText(Response response) throws IOException {
        ResponseBody body = response.body();
        return body == null ? "" : body.string();
    }

    private HttpUrl url(String endpoint) {
        return baseUrl.newBuilder().addPathSegment(endpoint).build();
    }
}
