package dev.agentruntime.e2b.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.fake.ExecSpec;
import dev.agentruntime.fake.ExitStatus;
import dev.agentruntime.fake.FakeSandboxException;
import dev.agentruntime.fake.FileEntry;
import dev.agentruntime.fake.FileType;
import dev.agentruntime.fake.ProcessListener;
import dev.agentruntime.fake.SandboxFileException;
import dev.agentruntime.fake.SandboxProcess;
import dev.agentruntime.fake.Signal;
import dev.agentruntime.fake.StdStream;
import dev.agentruntime.fake.http.Exchange;
import dev.agentruntime.fake.http.HttpError;
import dev.agentruntime.fake.http.Json;
import dev.agentruntime.fake.http.Routes;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fake's envd: the Process service over Connect with JSON ({@code Start} and {@code Connect} stream
 * {@code start → data… → end} envelopes and an end-of-stream message, with keepalives at the client's
 * {@code Keepalive-Ping-Interval}; {@code List}, {@code SendInput}, {@code SendSignal}, {@code CloseStdin} are unary),
 * {@code Connect-Timeout-Ms} as the process's kill deadline, and the files API ({@code GET /files},
 * {@code POST /files} as octet-stream or multipart, field {@code file}). Every call but {@code /health} needs the
 * sandbox's {@code X-Access-Token} (files also take a {@code signature}); {@code Authorization: Basic} picks the user.
 */
final class FakeEnvd {

    private static final Logger log = LoggerFactory.getLogger(FakeEnvd.class);
    private static final String STREAM_TYPE = "application/connect+json";
    private static final String DEFAULT_USER = "user";
    private static final int MAX_MULTIPART = 64 * 1024 * 1024;

    private final FakeE2B e2b;
    private final Routes routes;

    FakeEnvd(FakeE2B e2b) {
        this.e2b = e2b;
        this.routes = new Routes(FakeE2B.SHAPE)
                .get("/health", ex -> ex.empty(204))
                .post("/process.Process/Start", ex -> stream(ex, this::start))
                .post("/process.Process/Connect", ex -> stream(ex, this::connect))
                .post("/process.Process/List", ex -> unary(ex, this::list))
                .post("/process.Process/SendInput", ex -> unary(ex, this::sendInput))
                .post("/process.Process/SendSignal", ex -> unary(ex, this::sendSignal))
                .post("/process.Process/CloseStdin", ex -> unary(ex, this::closeStdin))
                .get("/files", this::download)
                .post("/files", this::upload);
    }

    Routes routes() {
        return routes;
    }

    // -------------------------------------------------------------------------------------------- access ---

    private FakeE2B.Sandbox sandbox(Exchange ex) {
        FakeE2B.Target target = FakeE2B.target(ex.request()).orElseThrow();
        return e2b.requireReachable(target);
    }

    /** The plain-HTTP 401 envd answers (integer code), also on Connect paths. */
    private static void requireToken(Exchange ex, FakeE2B.Sandbox s) {
        String token = ex.header("X-Access-Token").orElse(null);
        if (token == null) {
            throw HttpError.json(401, FakeE2B.error(401, "unauthorized access, please provide a valid access token"
                    + " or method signing if supported"));
        }
        if (!token.equals(s.envdToken)) {
            throw HttpError.json(401, FakeE2B.error(401, "invalid access token"));
        }
    }

    private static String user(Exchange ex) {
        Optional<String> auth = ex.header("Authorization");
        if (auth.isEmpty()) {
            return ex.query("username").filter(u -> !u.isEmpty()).orElse(DEFAULT_USER);
        }
        String value = auth.get();
        if (!value.startsWith("Basic ")) {
            throw HttpError.json(401, FakeE2B.error(401, "invalid authorization header: expected Basic"));
        }
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(value.substring(6).strip()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw HttpError.json(401, FakeE2B.error(401, "invalid authorization header: not base64"));
        }
        String name = decoded.contains(":") ? decoded.substring(0, decoded.indexOf(':')) : decoded;
        return name.isEmpty() ? DEFAULT_USER : name;
    }

    private static void requireKnownUser(String user) {
        if (!user.equals("root") && !user.equals(DEFAULT_USER)) {
            throw HttpError.json(401, FakeE2B.error(401, "user '" + user + "' not found"));
        }
    }

    private static String home(String user) {
        return user.equals("root") ? "/root" : "/home/" + user;
    }

    // ---------------------------------------------------------------------------------------- Connect RPC ---

    /** A streaming handler: reads the request message, writes events; throws ConnectError for an error end. */
    @FunctionalInterface
    private interface StreamCall {
        void run(FakeE2B.Sandbox s, String user, JsonNode request, Exchange ex, Envelopes out) throws IOException;
    }

    @FunctionalInterface
    private interface UnaryCall {
        JsonNode run(FakeE2B.Sandbox s, JsonNode request);
    }

    /** A Connect error: code name, message. */
    static final class ConnectError extends RuntimeException {
        final String code;

        ConnectError(String code, String message) {
            super(message, null, false, false);
            this.code = code;
        }

        int httpStatus() {
            return switch (code) {
                case "invalid_argument", "failed_precondition", "out_of_range" -> 400;
                case "unauthenticated" -> 401;
                case "permission_denied" -> 403;
                case "not_found" -> 404;
                case "already_exists", "aborted" -> 409;
                case "resource_exhausted" -> 429;
                case "unimplemented" -> 501;
                case "unavailable" -> 503;
                case "deadline_exceeded" -> 504;
                default -> 500;
            };
        }

        ObjectNode body() {
            ObjectNode node = Json.object();
            node.put("code", code);
            node.put("message", getMessage());
            return node;
        }
    }

    /** The response side of a server stream: envelopes, one writer at a time. */
    static final class Envelopes {
        private final OutputStream out;

        Envelopes(OutputStream out) {
            this.out = out;
        }

        synchronized void message(JsonNode message) throws IOException {
            write(0, Json.bytes(message));
        }

        synchronized void event(String kind, JsonNode body) throws IOException {
            ObjectNode event = Json.object();
            event.putObject("event").set(kind, body);
            message(event);
        }

        synchronized void end(ConnectError error) throws IOException {
            ObjectNode body = Json.object();
            if (error != null) {
                body.set("error", error.body());
            }
            write(0x02, Json.bytes(body));
            out.close();
        }

        private void write(int flags, byte[] payload) throws IOException {
            out.write(ByteBuffer.allocate(5).put((byte) flags).putInt(payload.length).array());
            out.write(payload);
            out.flush();
        }
    }

    private void stream(Exchange ex, StreamCall call) throws IOException {
        FakeE2B.Sandbox s = sandbox(ex);
        requireToken(ex, s);
        String type = ex.header("Content-Type").orElse("");
        if (!type.startsWith(STREAM_TYPE)) {
            throw HttpError.text(415, "invalid content-type: \"" + type + "\"; expecting \"" + STREAM_TYPE + "\"");
        }
        String user = user(ex);
        byte[] raw = ex.bodyBytes();
        Envelopes out = new Envelopes(ex.stream(200, STREAM_TYPE));
        try {
            requireKnownUser(user);
            call.run(s, user, requestMessage(raw), ex, out);
        } catch (ConnectError e) {
            out.end(e);
        } catch (HttpError e) {
            out.end(new ConnectError(e.status() == 401 ? "unauthenticated" : "invalid_argument",
                    new String(e.body(), StandardCharsets.UTF_8)));
        } catch (FakeSandboxException e) {
            out.end(new ConnectError("unavailable", e.getMessage()));
        }
    }

    private static JsonNode requestMessage(byte[] raw) {
        if (raw.length < 5) {
            throw new ConnectError("invalid_argument", "the request is not an enveloped message");
        }
        ByteBuffer buffer = ByteBuffer.wrap(raw);
        int flags = buffer.get() & 0xff;
        int length = buffer.getInt();
        if ((flags & 0x01) != 0) {
            throw new ConnectError("internal", "compressed request, but no compression was negotiated");
        }
        if (length != raw.length - 5) {
            throw new ConnectError("invalid_argument", "envelope length " + length + " does not match the "
                    + (raw.length - 5) + " bytes sent");
        }
        return Json.parse(new String(raw, 5, length, StandardCharsets.UTF_8)).filter(JsonNode::isObject)
                .orElseThrow(() -> new ConnectError("invalid_argument", "the request message is not a JSON object"));
    }

    private void unary(Exchange ex, UnaryCall call) {
        FakeE2B.Sandbox s = sandbox(ex);
        requireToken(ex, s);
        String type = ex.header("Content-Type").orElse("");
        if (!type.startsWith("application/json")) {
            throw HttpError.text(415, "invalid content-type: \"" + type + "\"; expecting \"application/json\"");
        }
        try {
            JsonNode request = Json.parse(ex.bodyBytes()).filter(JsonNode::isObject)
                    .orElseThrow(() -> new ConnectError("invalid_argument", "the request is not a JSON object"));
            ex.respond(200, call.run(s, request));
        } catch (ConnectError e) {
            ex.bytes(e.httpStatus(), "application/json", Json.bytes(e.body()));
        } catch (FakeSandboxException e) {
            ConnectError error = new ConnectError("unavailable", e.getMessage());
            ex.bytes(error.httpStatus(), "application/json", Json.bytes(error.body()));
        }
    }

    private void start(FakeE2B.Sandbox s, String user, JsonNode request, Exchange ex, Envelopes out)
            throws IOException {
        JsonNode process = request.path("process");
        String cmd = process.path("cmd").asText("");
        if (cmd.isEmpty()) {
            throw new ConnectError("invalid_argument", "process.cmd is required");
        }
        if (request.has("pty")) {
            throw new ConnectError("unimplemented", "the fake envd has no PTY support");
        }
        List<String> argv = new ArrayList<>();
        argv.add(cmd);
        process.path("args").forEach(a -> argv.add(a.asText()));
        ExecSpec.Builder spec = ExecSpec.argv(argv).user(user)
                .cwd(process.path("cwd").asText("").isEmpty() ? home(user) : process.get("cwd").asText())
                .stdin(!request.has("stdin") || request.get("stdin").asBoolean(true));
        process.path("envs").fields().forEachRemaining(e -> spec.env(e.getKey(), e.getValue().asText()));
        if (request.hasNonNull("tag")) {
            spec.tag(request.get("tag").asText());
        }
        timeout(ex).ifPresent(spec::timeout);
        Follower follower = new Follower();
        SandboxProcess started;
        try {
            started = s.box.exec(spec.listener(follower).build());
        } catch (SandboxFileException e) {
            throw new ConnectError("invalid_argument", "cannot start " + cmd + ": " + e.getMessage());
        }
        follow(started, follower, ex, out);
    }

    private void connect(FakeE2B.Sandbox s, String user, JsonNode request, Exchange ex, Envelopes out)
            throws IOException {
        SandboxProcess process = selected(s, request);
        Follower follower = new Follower();
        process.addListener(follower);
        if (!process.isRunning()) {
            process.removeListener(follower);
            follower.exit(process.exitStatus().orElse(ExitStatus.of(0)));
        }
        follow(process, follower, ex, out);
    }

    private static SandboxProcess selected(FakeE2B.Sandbox s, JsonNode request) {
        JsonNode selector = request.path("process");
        if (selector.has("pid")) {
            int pid = selector.get("pid").asInt();
            return s.box.process(pid).orElseThrow(() -> new ConnectError("not_found", "process with pid " + pid
                    + " not found"));
        }
        if (selector.has("tag")) {
            String tag = selector.get("tag").asText();
            return s.box.processByTag(tag).orElseThrow(() -> new ConnectError("not_found", "process with tag " + tag
                    + " not found"));
        }
        throw new ConnectError("invalid_argument", "process selector (pid or tag) is required");
    }

    /** Output and exit of a process, queued from its reader thread for the one response writer. */
    private static final class Follower implements ProcessListener {
        private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(256);

        @Override
        public void onOutput(StdStream stream, long offset, byte[] bytes) {
            put(new Object[] {stream, bytes});
        }

        @Override
        public void onExit(ExitStatus status) {
            put(status);
        }

        void exit(ExitStatus status) {
            put(status);
        }

        private void put(Object item) {
            try {
                queue.put(item);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void follow(SandboxProcess process, Follower follower, Exchange ex, Envelopes out)
            throws IOException {
        int keepalive = ex.header("Keepalive-Ping-Interval").map(FakeEnvd::parseSeconds).orElse(90);
        try {
            ObjectNode start = Json.object();
            start.put("pid", process.pid());
            out.event("start", start);
            while (true) {
                Object item;
                try {
                    item = follower.queue.poll(keepalive, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                if (item == null) {
                    out.event("keepalive", Json.object());
                } else if (item instanceof Object[] data) {
                    ObjectNode body = Json.object();
                    body.put(data[0] == StdStream.STDERR ? "stderr" : "stdout",
                            Base64.getEncoder().encodeToString((byte[]) data[1]));
                    out.event("data", body);
                } else {
                    ExitStatus status = (ExitStatus) item;
                    ObjectNode end = Json.object();
                    if (status.code() != 0) {
                        end.put("exitCode", status.code());
                    }
                    end.put("exited", status.signal().isEmpty() && !status.sandboxEnded());
                    end.put("status", status.signal().map(sig -> "signal: " + describe(sig))
                            .orElse("exit status " + status.code()));
                    out.event("end", end);
                    out.end(status.timedOut() ? new ConnectError("deadline_exceeded", "context deadline exceeded")
                            : status.sandboxEnded() ? new ConnectError("unavailable", "the sandbox ended") : null);
                    return;
                }
            }
        } catch (IOException e) {
            // the client went away: the process lives on (envd does not kill on disconnect)
            process.removeListener(follower);
            log.debug("envd stream of pid {} closed by the client: {}", process.pid(), e.toString());
        }
    }

    private static String describe(Signal signal) {
        return switch (signal) {
            case KILL -> "killed";
            case TERM -> "terminated";
            case INT -> "interrupt";
            default -> signal.name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    private static int parseSeconds(String value) {
        try {
            return Math.max(1, Integer.parseInt(value.strip()));
        } catch (NumberFormatException e) {
            return 90;
        }
    }

    private static Optional<Duration> timeout(Exchange ex) {
        Optional<String> header = ex.header("Connect-Timeout-Ms");
        if (header.isEmpty()) {
            return Optional.empty();
        }
        long millis;
        try {
            millis = Long.parseLong(header.get().strip());
        } catch (NumberFormatException e) {
            throw new ConnectError("invalid_argument", "protocol error: invalid Connect-Timeout-Ms '"
                    + header.get() + "'");
        }
        if (millis < 0 || header.get().strip().length() > 10) {
            throw new ConnectError("invalid_argument", "protocol error: invalid Connect-Timeout-Ms");
        }
        return millis == 0 ? Optional.empty() : Optional.of(Duration.ofMillis(millis));
    }

    private JsonNode list(FakeE2B.Sandbox s, JsonNode request) {
        ObjectNode answer = Json.object();
        ArrayNode processes = answer.putArray("processes");
        for (SandboxProcess p : s.box.runningProcesses()) {
            ObjectNode entry = processes.addObject();
            ObjectNode config = entry.putObject("config");
            config.put("cmd", p.argv().get(0));
            ArrayNode args = config.putArray("args");
            p.argv().stream().skip(1).forEach(args::add);
            ObjectNode envs = config.putObject("envs");
            p.env().forEach(envs::put);
            p.spec().cwd().ifPresent(cwd -> config.put("cwd", cwd));
            entry.put("pid", p.pid());
            p.tag().ifPresent(tag -> entry.put("tag", tag));
        }
        return answer;
    }

    private JsonNode sendInput(FakeE2B.Sandbox s, JsonNode request) {
        SandboxProcess p = selected(s, request);
        JsonNode input = request.path("input");
        String b64 = input.has("stdin") ? input.get("stdin").asText() : input.path("pty").asText(null);
        if (b64 == null) {
            throw new ConnectError("invalid_argument", "input.stdin or input.pty is required");
        }
        if (!p.isRunning()) {
            throw new ConnectError("not_found", "process with pid " + p.pid() + " not found");
        }
        try {
            p.writeStdin(Base64.getDecoder().decode(b64));
        } catch (IllegalArgumentException e) {
            throw new ConnectError("invalid_argument", "input is not base64");
        } catch (IllegalStateException e) {
            throw new ConnectError("failed_precondition", "stdin of process " + p.pid() + " is closed");
        }
        return Json.object();
    }

    private JsonNode sendSignal(FakeE2B.Sandbox s, JsonNode request) {
        SandboxProcess p = selected(s, request);
        String name = request.path("signal").asText("");
        Signal signal = switch (name) {
            case "SIGNAL_SIGKILL" -> Signal.KILL;
            case "SIGNAL_SIGTERM" -> Signal.TERM;
            default -> throw new ConnectError("invalid_argument", "invalid signal '" + name + "'");
        };
        if (!p.isRunning() || !p.signal(signal)) {
            throw new ConnectError("not_found", "process with pid " + p.pid() + " not found");
        }
        return Json.object();
    }

    private JsonNode closeStdin(FakeE2B.Sandbox s, JsonNode request) {
        selected(s, request).closeStdin();
        return Json.object();
    }

    // --------------------------------------------------------------------------------------------- files ---

    /** The token, or a valid {@code signature} for this path, operation and user. */
    private static void requireFileAccess(Exchange ex, FakeE2B.Sandbox s, String path, String operation,
                                          String user) {
        if (ex.header("X-Access-Token").isPresent()) {
            requireToken(ex, s);
            return;
        }
        Optional<String> signature = ex.query("signature");
        if (signature.isEmpty()) {
            requireToken(ex, s);
            return;
        }
        Optional<String> expiration = ex.query("signature_expiration");
        String raw = path + ":" + operation + ":" + (ex.query("username").orElse("")) + ":" + s.envdToken
                + expiration.map(e -> ":" + e).orElse("");
        String expected = "v1_" + Base64.getEncoder().withoutPadding().encodeToString(sha256(raw));
        if (!expected.equals(signature.get())) {
            throw HttpError.json(401, FakeE2B.error(401, "invalid signature"));
        }
        if (expiration.isPresent() && Long.parseLong(expiration.get()) < System.currentTimeMillis() / 1000) {
            throw HttpError.json(401, FakeE2B.error(401, "signature is already expired"));
        }
    }

    private void download(Exchange ex) throws IOException {
        FakeE2B.Sandbox s = sandbox(ex);
        String user = user(ex);
        String requested = ex.query("path").orElse("");
        requireFileAccess(ex, s, requested, "read", user);
        requireKnownUser(user);
        if (requested.isEmpty()) {
            throw HttpError.json(400, FakeE2B.error(400, "path is required"));
        }
        String path = resolve(requested, user);
        FileEntry entry;
        try {
            entry = s.box.files(user).stat(path);
        } catch (SandboxFileException e) {
            throw fileError(e, path);
        }
        if (entry.type() == FileType.DIRECTORY) {
            throw HttpError.json(400, FakeE2B.error(400, "path '" + path + "' is a directory"));
        }
        InputStream in;
        try {
            in = s.box.files(user).openRead(path);
        } catch (SandboxFileException e) {
            throw fileError(e, path);
        }
        ex.header("Content-Length", Long.toString(entry.size()));
        ex.header("Content-Disposition", "inline; filename=\"" + entry.name() + "\"");
        try (in; OutputStream out = ex.stream(200, "application/octet-stream")) {
            in.transferTo(out);
        }
    }

    private void upload(Exchange ex) {
        FakeE2B.Sandbox s = sandbox(ex);
        String user = user(ex);
        Optional<String> pathQuery = ex.query("path").filter(p -> !p.isEmpty());
        requireFileAccess(ex, s, pathQuery.orElse(""), "write", user);
        requireKnownUser(user);
        String type = ex.header("Content-Type").orElse("");
        ArrayNode written = Json.array();
        if (type.startsWith("application/octet-stream")) {
            if (pathQuery.isEmpty()) {
                throw HttpError.json(400, FakeE2B.error(400, "path is required for an octet-stream upload"));
            }
            String path = resolve(pathQuery.get(), user);
            write(s, user, path, ex.body());
            written.add(entry(path));
        } else if (type.startsWith("multipart/form-data")) {
            String boundary = boundary(type);
            byte[] body = readBounded(ex.body());
            List<Part> parts = parts(body, boundary);
            if (parts.stream().noneMatch(p -> p.name.equals("file"))) {
                throw HttpError.json(400, FakeE2B.error(400, "no 'file' part in the multipart body"));
            }
            for (Part part : parts) {
                if (!part.name.equals("file")) {
                    continue;
                }
                String target = pathQuery.orElse(part.filename);
                if (target == null || target.isEmpty()) {
                    throw HttpError.json(400, FakeE2B.error(400, "a file part needs a filename or the path query"));
                }
                String path = resolve(target, user);
                write(s, user, path, new ByteArrayInputStream(part.content));
                written.add(entry(path));
            }
        } else {
            throw HttpError.json(400, FakeE2B.error(400, "unsupported Content-Type '" + type
                    + "': use multipart/form-data or application/octet-stream"));
        }
        ex.respond(200, written);
    }

    private static void write(FakeE2B.Sandbox s, String user, String path, InputStream content) {
        try {
            s.box.files(user).write(path, content);
        } catch (SandboxFileException e) {
            throw fileError(e, path);
        }
    }

    private static ObjectNode entry(String path) {
        ObjectNode node = Json.object();
        node.put("path", path);
        node.put("name", path.substring(path.lastIndexOf('/') + 1));
        node.put("type", "file");
        return node;
    }

    private static HttpError fileError(SandboxFileException e, String path) {
        return switch (e.kind()) {
            case NOT_FOUND -> HttpError.json(404, FakeE2B.error(404, "path '" + path + "' does not exist"));
            case PERMISSION_DENIED -> HttpError.json(401, FakeE2B.error(401, "permission denied: " + path));
            case NO_SPACE -> HttpError.json(507, FakeE2B.error(507, "not enough disk space"));
            case IS_A_DIRECTORY, NOT_A_DIRECTORY -> HttpError.json(400, FakeE2B.error(400, e.getMessage()));
            default -> HttpError.json(500, FakeE2B.error(500, e.getMessage()));
        };
    }

    private static String resolve(String path, String user) {
        return path.startsWith("/") ? path : home(user) + "/" + path;
    }

    private record Part(String name, String filename, byte[] content) {
    }

    private static String boundary(String type) {
        for (String param : type.split(";")) {
            String p = param.strip();
            if (p.startsWith("boundary=")) {
                String b = p.substring("boundary=".length());
                return b.startsWith("\"") && b.endsWith("\"") ? b.substring(1, b.length() - 1) : b;
            }
        }
        throw HttpError.json(400, FakeE2B.error(400, "multipart body without a boundary"));
    }

    private static byte[] readBounded(InputStream in) {
        try {
            byte[] bytes = in.readNBytes(MAX_MULTIPART + 1);
            if (bytes.length > MAX_MULTIPART) {
                throw HttpError.json(413, FakeE2B.error(413, "multipart upload larger than the fake accepts"
                        + " (use application/octet-stream)"));
            }
            return bytes;
        } catch (IOException e) {
            throw HttpError.json(400, FakeE2B.error(400, "cannot read the upload: " + e.getMessage()));
        }
    }

    /** A small RFC 7578 reader: parts between {@code --boundary} lines, headers, then the bytes up to CRLF--boundary. */
    static List<Part> parts(byte[] body, String boundary) {
        byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        List<Part> parts = new ArrayList<>();
        int at = indexOf(body, delimiter, 0);
        if (at < 0) {
            throw HttpError.json(400, FakeE2B.error(400, "malformed multipart body: no boundary"));
        }
        while (true) {
            int lineEnd = at + delimiter.length;
            if (lineEnd + 1 < body.length && body[lineEnd] == '-' && body[lineEnd + 1] == '-') {
                return parts;
            }
            int headersStart = lineEnd + 2;
            int headersEnd = indexOf(body, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), headersStart);
            if (headersEnd < 0) {
                throw HttpError.json(400, FakeE2B.error(400, "malformed multipart body: part without headers"));
            }
            String headers = new String(body, headersStart, headersEnd - headersStart, StandardCharsets.UTF_8);
            int contentStart = headersEnd + 4;
            byte[] next = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
            int contentEnd = indexOf(body, next, contentStart);
            if (contentEnd < 0) {
                throw HttpError.json(400, FakeE2B.error(400, "malformed multipart body: unterminated part"));
            }
            String name = null;
            String filename = null;
            for (String header : headers.split("\r\n")) {
                if (header.toLowerCase(java.util.Locale.ROOT).startsWith("content-disposition:")) {
                    name = param(header, "name");
                    filename = param(header, "filename");
                }
            }
            if (name == null) {
                throw HttpError.json(400, FakeE2B.error(400, "malformed multipart body: part without a name"));
            }
            parts.add(new Part(name, filename, java.util.Arrays.copyOfRange(body, contentStart, contentEnd)));
            at = contentEnd + 2;
        }
    }

    private static String param(String header, String name) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?:^|;|\\s)" + name + "=\"([^\"]*)\"")
                .matcher(header);
        return m.find() ? m.group(1) : null;
    }

    private static int indexOf(byte[] haystack, byte[] needle, int from) {
        outer:
        for (int i = Math.max(0, from); i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
