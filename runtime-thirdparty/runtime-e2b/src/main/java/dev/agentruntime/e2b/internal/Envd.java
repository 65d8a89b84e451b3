package dev.agentruntime.e2b.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.Secret;
import dev.agentruntime.e2b.E2BConfig;
import dev.agentruntime.thirdparty.SandboxCommands;
import dev.agentruntime.thirdparty.internal.VendorHttp;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSink;
import okio.Okio;
import okio.Source;

/**
 * envd, the agent in every E2B sandbox (port {@value E2BConfig#ENVD_PORT}): its Process service over Connect RPC with
 * JSON ({@code Start} and {@code Connect} server-streaming, {@code List}, {@code SendInput}, {@code SendSignal} unary)
 * and its files API ({@code POST /files} as octet-stream, {@code GET /files}). Every request carries
 * {@code X-Access-Token}, the routing headers {@code E2b-Sandbox-Id} / {@code E2b-Sandbox-Port} and, when a user is
 * named, {@code Authorization: Basic base64(user:)}. A {@code Start}'s {@code Connect-Timeout-Ms} is also the
 * process's kill deadline on envd's side.
 */
public final class Envd implements SandboxCommands {

    /** What the official SDKs ask for on streams; envd then sends keepalive events at that interval. */
    static final int KEEPALIVE_SECONDS = 50;
    private static final MediaType JSON = MediaType.get("application/json");
    private static final MediaType STREAM = MediaType.get(ConnectStream.CONTENT_TYPE);
    private static final MediaType OCTETS = MediaType.get("application/octet-stream");
    /** Output kept per stream for {@link #run}: its commands are short and quiet. */
    private static final int KEPT_OUTPUT = 1024 * 1024;
    /** Extra time the HTTP exchange gets beyond envd's own deadline, so envd's answer arrives first. */
    private static final Duration MARGIN = Duration.ofSeconds(15);

    private final String sandboxId;
    private final VendorHttp http;
    private final Optional<String> user;
    private final LongConsumer uploadProgress;

    /**
     * @param baseUrl        the envd URL: E2B's shared sandbox host, {@code https://49983-{id}.{domain}}, or the
     *                       configured sandbox URL
     * @param user           the sandbox user to act as; empty = the template's default user
     * @param uploadProgress told the bytes sent so far while an upload runs
     */
    public Envd(String sandboxId, URI baseUrl, Optional<Secret> accessToken, Optional<String> user,
                Duration requestTimeout, OkHttpClient client, LongConsumer uploadProgress) {
        this.sandboxId = Objects.requireNonNull(sandboxId, "sandboxId");
        this.user = Objects.requireNonNull(user, "user");
        this.uploadProgress = Objects.requireNonNull(uploadProgress, "uploadProgress");
        VendorHttp.Builder b = VendorHttp.builder("E2B envd", baseUrl)
                .header("E2b-Sandbox-Id", sandboxId)
                .header("E2b-Sandbox-Port", Integer.toString(E2BConfig.ENVD_PORT))
                .checkHint("The sandbox's envd access token was refused: reconnect to the sandbox for a fresh one.")
                .callTimeout(requestTimeout);
        accessToken.ifPresent(token -> b.secretHeader("X-Access-Token", token));
        user.ifPresent(name -> b.secretHeader("Authorization", Secret.of("Basic " + Base64.getEncoder()
                .encodeToString((name + ":").getBytes(StandardCharsets.UTF_8)))));
        if (client != null) {
            b.client(client);
        }
        this.http = b.build();
    }

    // --------------------------------------------------------------------------------------------- events ---

    /** One event of a process stream. */
    public sealed interface Event {
        record Started(int pid) implements Event {
        }

        record Output(boolean stderr, byte[] bytes) implements Event {
        }

        record Keepalive() implements Event {
        }

        /** The process ended; {@code exitCode} is 0 when envd left it out (proto3 zero). */
        record Ended(int exitCode, boolean exited, String status, Optional<String> error) implements Event {
        }
    }

    /** A process to start: {@code cmd} with {@code args}, extra {@code envs}, a {@code cwd} (empty: the user's home). */
    public record ProcessSpec(String cmd, List<String> args, Map<String, String> envs, Optional<String> cwd,
                              Optional<String> tag) {
        public static ProcessSpec bash(String command) {
            return new ProcessSpec("/bin/bash", List.of("-l", "-c", command), Map.of(), Optional.empty(),
                    Optional.empty());
        }
    }

    /** A process envd lists. */
    public record ProcessInfo(int pid, Optional<String> tag, String cmd, List<String> args) {
    }

    // ------------------------------------------------------------------------------------------- process ---

    /**
     * {@code Start}: runs the process, calling {@code events} for each event in order, and returns its end.
     *
     * @param timeout envd kills the process after this ({@code Connect-Timeout-Ms}); {@link Duration#ZERO}: never
     * @throws RuntimeTimeoutException when envd reports {@code deadline_exceeded}
     */
    public Event.Ended start(ProcessSpec spec, Duration timeout, Consumer<Event> events) {
        ObjectNode process = VendorHttp.object();
        process.put("cmd", spec.cmd());
        ArrayNode args = process.putArray("args");
        spec.args().forEach(args::add);
        ObjectNode envs = process.putObject("envs");
        spec.envs().forEach(envs::put);
        spec.cwd().ifPresent(cwd -> process.put("cwd", cwd));
        ObjectNode request = VendorHttp.object();
        request.set("process", process);
        spec.tag().ifPresent(tag -> request.put("tag", tag));
        request.put("stdin", false);
        return stream("Start", request, timeout, events);
    }

    /** {@code Connect}: follows a running process's events from now on until it ends. */
    public Event.Ended connect(int pid, Duration timeout, Consumer<Event> events) {
        ObjectNode request = VendorHttp.object();
        request.putObject("process").put("pid", pid);
        return stream("Connect", request, timeout, events);
    }

    /** {@code List}: the processes envd started that still run. */
    public List<ProcessInfo> list() {
        JsonNode answer = unary("List", VendorHttp.object());
        List<ProcessInfo> processes = new ArrayList<>();
        for (JsonNode p : answer.path("processes")) {
            List<String> args = new ArrayList<>();
            p.path("config").path("args").forEach(a -> args.add(a.asText()));
            processes.add(new ProcessInfo(p.path("pid").asInt(), Optional.ofNullable(p.get("tag"))
                    .map(JsonNode::asText), p.path("config").path("cmd").asText(), args));
        }
        return processes;
    }

    /** {@code SendInput}: bytes to a process's stdin. */
    public void sendInput(int pid, byte[] bytes) {
        ObjectNode request = VendorHttp.object();
        request.putObject("process").put("pid", pid);
        request.putObject("input").put("stdin", Base64.getEncoder().encodeToString(bytes));
        unary("SendInput", request);
    }

    /** {@code SendSignal} with {@code SIGNAL_SIGTERM} or {@code SIGNAL_SIGKILL}. */
    public void sendSignal(int pid, boolean kill) {
        ObjectNode request = VendorHttp.object();
        request.putObject("process").put("pid", pid);
        request.put("signal", kill ? "SIGNAL_SIGKILL" : "SIGNAL_SIGTERM");
        unary("SendSignal", request);
    }

    private JsonNode unary(String method, ObjectNode request) {
        String text = http.text("POST", http.url("process.Process/" + method),
                RequestBody.create(dev.agentruntime.internal.WireCodec.toJson(request), JSON), sandboxId, false,
                Map.of("Connect-Protocol-Version", "1"));
        return dev.agentruntime.internal.WireCodec.parse(text.isBlank() ? "{}" : text);
    }

    private Event.Ended stream(String method, ObjectNode request, Duration timeout, Consumer<Event> events) {
        String where = "E2B envd " + method + " in sandbox " + sandboxId;
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Connect-Protocol-Version", "1");
        headers.put("Keepalive-Ping-Interval", Integer.toString(KEEPALIVE_SECONDS));
        if (!timeout.isZero()) {
            headers.put("Connect-Timeout-Ms", Long.toString(timeout.toMillis()));
        }
        Duration exchange = timeout.isZero() ? Duration.ZERO : timeout.plus(MARGIN);
        try (Response response = http.stream("POST", http.url("process.Process/" + method),
                RequestBody.create(ConnectStream.envelope(request), STREAM), sandboxId, headers, exchange)) {
            String type = response.header("Content-Type", "");
            InputStream in = response.body().byteStream();
            if (!type.startsWith(ConnectStream.CONTENT_TYPE)) {
                throw new BackendException(where + " answered " + type + " instead of a Connect stream: "
                        + abbreviate(ConnectStream.drain(in)));
            }
            Event.Ended ended = null;
            while (true) {
                Optional<ConnectStream.Message> next = ConnectStream.read(in);
                if (next.isEmpty()) {
                    throw new RuntimeUnavailableException(where + ": the stream ended without an end-of-stream"
                            + " message (the sandbox may have gone away)");
                }
                ConnectStream.Message message = next.get();
                if (message.end()) {
                    if (message.error().isPresent()) {
                        throw ConnectStream.error(message.error().get(), where);
                    }
                    if (ended == null) {
                        throw new BackendException(where + ": the stream ended before the process did");
                    }
                    return ended;
                }
                Event event = event(message.body().path("event"), where);
                if (event instanceof Event.Ended end) {
                    ended = end;
                }
                events.accept(event);
            }
        } catch (InterruptedIOException e) {
            throw new RuntimeTimeoutException(where + " did not end within " + exchange.toMillis() + " ms", e);
        } catch (IOException e) {
            throw new RuntimeUnavailableException(where + ": the stream broke (" + e + ")", e);
        }
    }

    private static Event event(JsonNode event, String where) {
        if (event.has("start")) {
            return new Event.Started(event.get("start").path("pid").asInt());
        }
        if (event.has("data")) {
            JsonNode data = event.get("data");
            boolean stderr = data.has("stderr");
            String b64 = stderr ? data.get("stderr").asText() : data.has("stdout") ? data.get("stdout").asText()
                    : data.path("pty").asText("");
            return new Event.Output(stderr, Base64.getDecoder().decode(b64));
        }
        if (event.has("keepalive")) {
            return new Event.Keepalive();
        }
        if (event.has("end")) {
            JsonNode end = event.get("end");
            return new Event.Ended(end.path("exitCode").asInt(0), end.path("exited").asBoolean(false),
                    end.path("status").asText(""), Optional.ofNullable(end.get("error")).map(JsonNode::asText)
                    .filter(s -> !s.isEmpty()));
        }
        throw new BackendException(where + ": unknown process event " + abbreviate(event.toString()));
    }

    // --------------------------------------------------------------------------------------------- files ---

    /** {@code POST /files?path=...} with the file as an octet-stream body, streamed; parent directories are made. */
    @Override
    public void upload(Path hostFile, String sandboxPath) {
        long size;
        try {
            size = Files.size(hostFile);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + hostFile + " to upload it to E2B sandbox " + sandboxId, e);
        }
        RequestBody body = new RequestBody() {
            @Override
            public MediaType contentType() {
                return OCTETS;
            }

            @Override
            public long contentLength() {
                return size;
            }

            @Override
            public void writeTo(BufferedSink sink) throws IOException {
                long sent = 0;
                long reported = 0;
                try (Source source = Okio.source(hostFile)) {
                    okio.Buffer buffer = new okio.Buffer();
                    long read;
                    while ((read = source.read(buffer, 64 * 1024)) != -1) {
                        sink.write(buffer, read);
                        sent += read;
                        if (sent - reported >= 4L * 1024 * 1024 || sent == size) {
                            reported = sent;
                            uploadProgress.accept(sent);
                        }
                    }
                }
            }
        };
        Map<String, String> query = new LinkedHashMap<>();
        query.put("path", sandboxPath);
        user.ifPresent(name -> query.put("username", name));
        http.text("POST", http.url("files", query), body, sandboxId, false, Map.of());
    }

    /** {@code GET /files?path=...}: the file's bytes (for small files). */
    public byte[] download(String sandboxPath) {
        Map<String, String> query = new LinkedHashMap<>();
        query.put("path", sandboxPath);
        user.ifPresent(name -> query.put("username", name));
        try (Response response = http.stream("GET", http.url("files", query), null, sandboxId, Map.of(),
                Duration.ofMinutes(5))) {
            return response.body().bytes();
        } catch (IOException e) {
            throw new RuntimeUnavailableException("E2B envd GET /files in sandbox " + sandboxId + ": the download of "
                    + sandboxPath + " broke (" + e + ")", e);
        }
    }

    // ------------------------------------------------------------------------------------ SandboxCommands ---

    /** {@code bash -l -c command} through {@code Start}, output collected (bounded). */
    @Override
    public Result run(String command, Duration timeout) {
        Bounded out = new Bounded();
        Bounded err = new Bounded();
        Event.Ended end = start(ProcessSpec.bash(command), timeout, event -> {
            if (event instanceof Event.Output output) {
                (output.stderr() ? err : out).add(output.bytes());
            }
        });
        int code = end.exited() ? end.exitCode() : end.exitCode() != 0 ? end.exitCode() : 137;
        return new Result(code, out.text(), err.text());
    }

    private static final class Bounded {
        private final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();

        void add(byte[] chunk) {
            int room = KEPT_OUTPUT - bytes.size();
            if (room > 0) {
                bytes.write(chunk, 0, Math.min(room, chunk.length));
            }
        }

        String text() {
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }

    private static String abbreviate(String text) {
        return text.length() > 300 ? text.substring(0, 300) + "..." : text;
    }
}
