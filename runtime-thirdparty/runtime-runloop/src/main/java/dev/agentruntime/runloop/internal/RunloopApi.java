package dev.agentruntime.runloop.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.Secret;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.spi.ControlPlaneErrors;
import dev.agentruntime.thirdparty.internal.VendorHttp;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Predicate;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.MultipartBody;
import okhttp3.OkHttpClient;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runloop's REST API ({@code /v1}, JSON snake_case, {@code Authorization: Bearer}), the calls the backend makes:
 * devboxes (create, get, list, long-poll {@code wait_for_status}, suspend, resume, keep-alive, shutdown, tunnels),
 * executions ({@code execute} with a UUIDv7 {@code command_id}, {@code execute_async}, long-poll, SSE output with
 * offset resume, stdin, kill) and files.
 *
 * <p>Retries follow Runloop's rules: 408, 409, 429 and 5xx, or whatever {@code x-should-retry} says, waiting
 * {@code retry-after-ms} / {@code retry-after}; every non-GET call carries an {@code x-request-id} that its retries
 * reuse, so Runloop runs it once. A long-poll that ends in 408 ("nothing yet") is simply asked again until the
 * caller's deadline.
 */
public final class RunloopApi {

    private static final Logger log = LoggerFactory.getLogger(RunloopApi.class);
    public static final String VENDOR = "Runloop";
    /** Runloop holds a devbox long-poll at most this long. */
    public static final int DEVBOX_HOLD_SECONDS = 30;
    /** Runloop holds an execution long-poll at most this long ({@code EXEC_LONG_POLL_SERVER_MAX_SECONDS}). */
    public static final int EXECUTION_HOLD_SECONDS = 25;
    private static final MediaType OCTETS = MediaType.get("application/octet-stream");
    private static final int STREAM_RECONNECTS = 5;
    private static final Duration REPOLL_PAUSE = Duration.ofMillis(200);

    private final VendorHttp api;
    private final VendorHttp poll;
    private final VendorHttp transfer;

    private RunloopApi(VendorHttp api, VendorHttp poll, VendorHttp transfer) {
        this.api = api;
        this.poll = poll;
        this.transfer = transfer;
    }

    /**
     * @param client an OkHttp client to derive from (its pool, TLS, proxies), or null for the shared one
     */
    public static RunloopApi create(URI baseUrl, Secret apiKey, OkHttpClient client) {
        URI v1 = URI.create(baseUrl.toString().replaceAll("/+$", "") + "/v1/");
        return new RunloopApi(http(v1, apiKey, client, Duration.ofSeconds(60), 6),
                http(v1, apiKey, client, Duration.ofSeconds(DEVBOX_HOLD_SECONDS + 15), 1),
                http(v1, apiKey, client, Duration.ofMinutes(10), 6));
    }

    private static VendorHttp http(URI base, Secret key, OkHttpClient client, Duration timeout, int attempts) {
        VendorHttp.Builder b = VendorHttp.builder(VENDOR, base).bearer(key)
                .header("User-Agent", "agent-runtime-runloop/" + dev.agentruntime.spi.SessionLabels
                        .currentLibraryVersion())
                .checkHint("Check RUNLOOP_API_KEY (option api.key) and RUNLOOP_BASE_URL (option base.url).")
                .callTimeout(timeout).attempts(attempts).retryRule(RunloopApi::retryRule);
        if (client != null) {
            b.client(client);
        }
        return b.build();
    }

    /** Runloop's retry rule: {@code x-should-retry} wins; else 408, 409 (lock timeouts), 429 and 5xx. */
    static Optional<Boolean> retryRule(int status, java.util.function.Function<String, String> header) {
        String should = header.apply("x-should-retry");
        if ("true".equalsIgnoreCase(should)) {
            return Optional.of(true);
        }
        if ("false".equalsIgnoreCase(should)) {
            return Optional.of(false);
        }
        return status == 408 || status == 409 || status == 429 || status >= 500 ? Optional.of(true) : Optional.empty();
    }

    /** A fresh idempotency key for one logical call (its retries reuse it). */
    static Map<String, String> requestId() {
        return Map.of("x-request-id", "agent-runtime-retry-" + UUID.randomUUID());
    }

    private JsonNode post(VendorHttp http, String path, JsonNode body, String devbox) {
        return http.json("POST", http.url(path), body, devbox, true, requestId());
    }

    private JsonNode post(VendorHttp http, HttpUrl url, JsonNode body, String devbox) {
        return http.json("POST", url, body, devbox, true, requestId());
    }

    // -------------------------------------------------------------------------------------------- devboxes ---

    /** {@code POST /v1/devboxes}: the devbox as created (usually {@code provisioning}). */
    public Devbox create(ObjectNode body) {
        return Devbox.of(post(api, "devboxes", body, null));
    }

    /**
     * {@code POST /v1/devboxes/create_and_await_running}, as the official SDKs create: Runloop holds the answer until
     * the devbox runs (or its hold ends; then it is still booting and {@link #waitForStatus} goes on).
     */
    public Devbox createAndAwaitRunning(ObjectNode body) {
        return Devbox.of(post(transfer, "devboxes/create_and_await_running", body, null));
    }

    public Devbox get(String id) {
        return Devbox.of(api.get(api.url("devboxes/" + id), id));
    }

    /** One page of {@code GET /v1/devboxes}, oldest cursor first. */
    public record Page(List<Devbox> devboxes, boolean hasMore) {
    }

    public Page list(int limit, String startingAfter, String status) {
        Map<String, String> query = new LinkedHashMap<>();
        query.put("limit", Integer.toString(limit));
        query.put("starting_after", startingAfter);
        query.put("status", status);
        query.put("include_total_count", "false");
        JsonNode answer = api.get(api.url("devboxes", query), null);
        List<Devbox> devboxes = new ArrayList<>();
        answer.path("devboxes").forEach(node -> devboxes.add(Devbox.of(node)));
        return new Page(devboxes, answer.path("has_more").asBoolean(false));
    }

    /** Every devbox (paged with {@code starting_after}) that {@code filter} accepts. */
    public List<Devbox> listAll(Predicate<Devbox> filter) {
        List<Devbox> found = new ArrayList<>();
        String after = null;
        for (int pages = 0; pages < 10_000; pages++) {
            Page page = list(100, after, null);
            page.devboxes().stream().filter(filter).forEach(found::add);
            if (!page.hasMore() || page.devboxes().isEmpty()) {
                break;
            }
            after = page.devboxes().get(page.devboxes().size() - 1).id();
        }
        return found;
    }

    /**
     * Long-polls {@code POST /v1/devboxes/{id}/wait_for_status} until the devbox is in one of {@code statuses},
     * asking again after every 408 (Runloop's "not yet") and after transient failures, until {@code deadline}.
     *
     * @throws RuntimeTimeoutException when the deadline passes first
     */
    public Devbox waitForStatus(String id, Collection<String> statuses, Instant deadline) {
        ObjectNode body = VendorHttp.object();
        ArrayNode list = body.putArray("statuses");
        statuses.forEach(list::add);
        HttpUrl url = poll.url("devboxes/" + id + "/wait_for_status");
        return Devbox.of(longPoll(url, body, id, DEVBOX_HOLD_SECONDS, deadline, "devbox " + id + " to be "
                + String.join("|", statuses)));
    }

    private JsonNode longPoll(HttpUrl url, ObjectNode body, String devbox, int hold, Instant deadline, String what) {
        while (true) {
            long left = Duration.between(Instant.now(), deadline).toSeconds();
            if (left < 1) {
                throw new RuntimeTimeoutException(VENDOR + ": timed out waiting for " + what);
            }
            body.put("timeout_seconds", (int) Math.min(hold, left));
            try {
                return post(poll, url, body, devbox);
            } catch (AgentRuntimeException e) {
                if (!e.isTransient() || e instanceof RuntimeTimeoutException) {
                    throw e;
                }
                // a 408 comes after a hold of up to 30 s, so a short pause costs nothing and keeps a failing API
                // from being asked in a tight loop
                Duration wait = e instanceof BackendException b ? b.retryAfter().orElse(REPOLL_PAUSE) : REPOLL_PAUSE;
                log.debug("{}: still waiting for {} ({})", VENDOR, what, e.getMessage());
                pause(wait, deadline);
            }
        }
    }

    public Devbox suspend(String id) {
        return Devbox.of(post(api, "devboxes/" + id + "/suspend", null, id));
    }

    public Devbox resume(String id) {
        return Devbox.of(post(api, "devboxes/" + id + "/resume", null, id));
    }

    /** Resets the devbox's idle timer. */
    public void keepAlive(String id) {
        post(api, "devboxes/" + id + "/keep_alive", null, id);
    }

    public Devbox shutdown(String id, boolean force) {
        return Devbox.of(post(api, api.url("devboxes/" + id + "/shutdown", Map.of("force", Boolean.toString(force))),
                null, id));
    }

    /** {@code POST /v1/devboxes/{id}/enable_tunnel}: the devbox's one tunnel (all ports). */
    public Devbox.Tunnel enableTunnel(String id, String authMode) {
        ObjectNode body = VendorHttp.object().put("auth_mode", authMode).put("http_keep_alive", true)
                .put("wake_on_http", false);
        return Devbox.Tunnel.of(post(api, "devboxes/" + id + "/enable_tunnel", body, id)).orElseThrow(() ->
                new BackendException(VENDOR + " enable_tunnel for devbox " + id + " answered without a tunnel_key"));
    }

    // ------------------------------------------------------------------------------------------ executions ---

    /**
     * {@code POST /v1/devboxes/{id}/execute}: starts {@code command} under the idempotency of {@code commandId} (a
     * retry never runs it twice) and waits up to {@code optimisticSeconds} for it to end.
     */
    public Execution execute(String devbox, String command, UUID commandId, int optimisticSeconds) {
        ObjectNode body = VendorHttp.object().put("command", command).put("command_id", commandId.toString())
                .put("optimistic_timeout", Math.max(0, Math.min(EXECUTION_HOLD_SECONDS, optimisticSeconds)));
        return Execution.of(post(transfer, "devboxes/" + devbox + "/execute", body, devbox));
    }

    /** {@code POST /v1/devboxes/{id}/execute_async}: starts {@code command} and returns at once. */
    public Execution executeAsync(String devbox, String command, boolean attachStdin) {
        ObjectNode body = VendorHttp.object().put("command", command);
        if (attachStdin) {
            body.put("attach_stdin", true);
        }
        return Execution.of(post(api, "devboxes/" + devbox + "/execute_async", body, devbox));
    }

    public Execution execution(String devbox, String executionId) {
        return Execution.of(api.get(api.url("devboxes/" + devbox + "/executions/" + executionId), devbox));
    }

    /** Long-polls the execution until it is {@code completed} or {@code deadline} passes. */
    public Execution awaitCompleted(String devbox, String executionId, Instant deadline) {
        ObjectNode body = VendorHttp.object();
        body.putArray("statuses").add("completed");
        return Execution.of(longPoll(poll.url("devboxes/" + devbox + "/executions/" + executionId
                + "/wait_for_status"), body, devbox, EXECUTION_HOLD_SECONDS, deadline, "execution " + executionId
                + " on devbox " + devbox + " to complete"));
    }

    /** Writes {@code text} to the execution's stdin ({@code send_std_in}). */
    public void sendStdin(String devbox, String executionId, String text) {
        post(api, "devboxes/" + devbox + "/executions/" + executionId + "/send_std_in",
                VendorHttp.object().put("text", text), devbox);
    }

    /** Sends {@code EOF} or {@code INTERRUPT} to the execution ({@code send_std_in}). */
    public void sendSignal(String devbox, String executionId, String signal) {
        if (!signal.equals("EOF") && !signal.equals("INTERRUPT")) {
            throw new IllegalArgumentException("Runloop's stdin signals are EOF and INTERRUPT, not " + signal);
        }
        post(api, "devboxes/" + devbox + "/executions/" + executionId + "/send_std_in",
                VendorHttp.object().put("signal", signal), devbox);
    }

    public Execution kill(String devbox, String executionId, boolean processGroup) {
        return Execution.of(post(api, "devboxes/" + devbox + "/executions/" + executionId + "/kill",
                VendorHttp.object().put("kill_process_group", processGroup), devbox));
    }

    /** Receives streamed output: the bytes' offset in the stream and the text. */
    @FunctionalInterface
    public interface OutputListener {
        void output(long offset, String text);
    }

    /**
     * Follows {@code stream_stdout_updates} (or {@code stream_stderr_updates}) from {@code offset} until the
     * execution's stream ends, reconnecting from the last offset seen when the connection breaks or Runloop ends an
     * idle stream (an {@code error} event with code 408); chunks seen before a reconnect are not repeated.
     *
     * @return the offset after the last byte received
     */
    public long streamOutput(String devbox, String executionId, boolean stderr, long offset, OutputListener listener) {
        String path = "devboxes/" + devbox + "/executions/" + executionId + "/stream_"
                + (stderr ? "stderr" : "stdout") + "_updates";
        long[] next = {offset}; // advanced per event, so a broken stream resumes after the last byte delivered
        int reconnects = 0;
        while (true) {
            HttpUrl url = api.url(path, Map.of("offset", Long.toString(next[0])));
            try (Response response = api.stream("GET", url, null, devbox, Map.of("Accept", "text/event-stream"),
                    Duration.ZERO)) {
                readEvents(response.body().source(), next, listener, devbox, executionId);
                return next[0];
            } catch (StreamInterrupted | IOException e) {
                if (++reconnects > STREAM_RECONNECTS) {
                    throw new RuntimeUnavailableException(VENDOR + " output stream of execution " + executionId
                            + " on devbox " + devbox + " broke " + reconnects + " times; last: " + e.getMessage(), e);
                }
                log.debug("{}: output stream of {} interrupted at offset {} ({}); reconnecting", VENDOR, executionId,
                        next[0], e.getMessage());
            }
        }
    }

    /** Runloop ended the stream with a retryable error event (e.g. 408 idle): reconnect from the offset. */
    private static final class StreamInterrupted extends RuntimeException {
        StreamInterrupted(String message) {
            super(message, null, false, false);
        }
    }

    private void readEvents(BufferedSource source, long[] next, OutputListener listener, String devbox,
                            String executionId) throws IOException {
        String event = null;
        StringBuilder data = new StringBuilder();
        while (true) {
            String line = source.readUtf8Line();
            if (line == null || line.isEmpty()) {
                if (data.length() > 0) {
                    next[0] = dispatch(event, data.toString(), next[0], listener, devbox, executionId);
                }
                if (line == null) {
                    return;
                }
                event = null;
                data.setLength(0);
            } else if (line.startsWith("event:")) {
                event = line.substring(6).strip();
            } else if (line.startsWith("data:")) {
                if (data.length() > 0) {
                    data.append('\n');
                }
                data.append(line.substring(line.startsWith("data: ") ? 6 : 5));
            }
            // comments (":") and other fields are ignored, as SSE says
        }
    }

    private long dispatch(String event, String data, long next, OutputListener listener, String devbox,
                          String executionId) {
        JsonNode node;
        try {
            node = WireCodec.parse(data);
        } catch (RuntimeException e) {
            throw new BackendException(VENDOR + " output stream of execution " + executionId + " sent an event that"
                    + " is not JSON: " + ControlPlaneErrors.detail(data));
        }
        if ("error".equals(event)) {
            int code = node.path("code").asInt(500);
            AgentRuntimeException error = ControlPlaneErrors.fromHttp(VENDOR, "stream output of execution "
                    + executionId, devbox, code, name -> null, data, null);
            if (code == 408 || error.isTransient()) {
                throw new StreamInterrupted(error.getMessage());
            }
            throw error;
        }
        String output = node.path("output").asText("");
        long chunkStart = node.has("offset") ? node.get("offset").asLong() : next;
        byte[] bytes = output.getBytes(StandardCharsets.UTF_8);
        long chunkEnd = chunkStart + bytes.length;
        if (chunkEnd <= next) {
            return next; // already seen before a reconnect
        }
        int skip = (int) Math.max(0, next - chunkStart);
        String fresh = skip == 0 ? output : new String(bytes, skip, bytes.length - skip, StandardCharsets.UTF_8);
        listener.output(Math.max(chunkStart, next), fresh);
        return chunkEnd;
    }

    // ----------------------------------------------------------------------------------------------- files ---

    /** {@code POST …/upload_file}: multipart {@code path} + {@code file}, streamed from {@code hostFile}. */
    public void upload(String devbox, Path hostFile, String devboxPath) {
        RequestBody body = new MultipartBody.Builder().setType(MultipartBody.FORM)
                .addFormDataPart("path", devboxPath)
                .addFormDataPart("file", hostFile.getFileName().toString(), RequestBody.create(hostFile.toFile(), OCTETS))
                .build();
        transfer.text("POST", transfer.url("devboxes/" + devbox + "/upload_file"), body, devbox, true, requestId());
    }

    /** {@code POST …/download_file} into {@code target}, streamed. */
    public void download(String devbox, String devboxPath, Path target) {
        RequestBody body = RequestBody.create(WireCodec.toJson(VendorHttp.object().put("path", devboxPath)),
                VendorHttp.JSON);
        Map<String, String> headers = new LinkedHashMap<>(requestId());
        headers.put("Accept", "application/octet-stream");
        try (Response response = transfer.stream("POST", transfer.url("devboxes/" + devbox + "/download_file"), body,
                devbox, headers, Duration.ofMinutes(10));
             InputStream in = response.body().byteStream();
             OutputStream out = Files.newOutputStream(target)) {
            in.transferTo(out);
        } catch (IOException e) {
            throw new RuntimeUnavailableException(VENDOR + " download of " + devboxPath + " from devbox " + devbox
                    + " broke: " + e.getMessage(), e);
        }
    }

    /** {@code POST …/read_file_contents}: the file as UTF-8 text. */
    public String readFile(String devbox, String devboxPath) {
        RequestBody body = RequestBody.create(WireCodec.toJson(VendorHttp.object().put("file_path", devboxPath)),
                VendorHttp.JSON);
        Map<String, String> headers = new LinkedHashMap<>(requestId());
        headers.put("Accept", "text/plain");
        return transfer.text("POST", transfer.url("devboxes/" + devbox + "/read_file_contents"), body, devbox, true,
                headers);
    }

    /** {@code POST …/write_file_contents}: writes UTF-8 {@code contents}. */
    public void writeFile(String devbox, String devboxPath, String contents) {
        post(transfer, "devboxes/" + devbox + "/write_file_contents",
                VendorHttp.object().put("file_path", devboxPath).put("contents", contents), devbox);
    }

    private static void pause(Duration wait, Instant deadline) {
        Duration left = Duration.between(Instant.now(), deadline);
        Duration bounded = wait.compareTo(left) > 0 ? left : wait;
        if (bounded.isNegative() || bounded.isZero()) {
            return;
        }
        try {
            Thread.sleep(bounded.toMillis()); // the delay Runloop asked for (retry-after) before the next poll
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeUnavailableException("Interrupted while waiting on " + VENDOR, e);
        }
    }
}
