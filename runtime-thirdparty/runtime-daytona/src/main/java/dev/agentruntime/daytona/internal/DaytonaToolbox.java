package dev.agentruntime.daytona.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.thirdparty.SandboxCommands;
import dev.agentruntime.thirdparty.internal.VendorHttp;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import okhttp3.MediaType;
import okhttp3.MultipartBody;
import okhttp3.MultipartReader;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * The toolbox of one Daytona sandbox (the daemon inside it), at {@code <toolboxProxyUrl>/<sandboxId>}: one-shot
 * commands ({@code /process/execute}), stateful sessions with background commands ({@code /process/session}), and
 * files through the bulk multipart calls the official SDKs use. As {@link SandboxCommands} it is what
 * {@link dev.agentruntime.thirdparty.ServerBootstrap} needs to put our server into the sandbox.
 */
public final class DaytonaToolbox implements SandboxCommands {

    private static final MediaType OCTET = MediaType.get("application/octet-stream");
    private static final Duration SLACK = Duration.ofSeconds(5);

    private final String sandboxId;
    private final VendorHttp http;
    private final java.util.function.Function<Duration, VendorHttp> withTimeout;

    /** @param withTimeout the same toolbox client with another call timeout (for long commands) */
    DaytonaToolbox(String sandboxId, VendorHttp http, java.util.function.Function<Duration, VendorHttp> withTimeout) {
        this.sandboxId = sandboxId;
        this.http = http;
        this.withTimeout = withTimeout;
    }

    /** The toolbox base ({@code <toolboxProxyUrl>/<sandboxId>}). */
    public String baseUrl() {
        return http.baseUrl().toString();
    }

    /** A finished one-shot command: Daytona merges stdout and stderr into {@code result}. */
    public record Execution(int exitCode, String result) {
    }

    /**
     * {@code POST /process/execute {"command","cwd"?,"envs"?,"timeout"}}: the daemon kills the command's process group
     * after {@code timeout} and answers 408, which becomes a {@link RuntimeTimeoutException}.
     */
    public Execution execute(String command, Optional<String> cwd, Map<String, String> env, Duration timeout) {
        ObjectNode body = VendorHttp.object().put("command", command);
        cwd.ifPresent(dir -> body.put("cwd", dir));
        if (!env.isEmpty()) {
            body.set("envs", WireCodec.MAPPER.valueToTree(env));
        }
        long seconds = Math.max(1, (timeout.toMillis() + 999) / 1000);
        body.put("timeout", seconds);
        JsonNode answer;
        try {
            // not idempotent (a command may not be run twice); the HTTP call outlives the daemon's own timeout
            answer = withTimeout(timeout.plus(SLACK)).json("POST", http.url("process/execute"), body, sandboxId,
                    false, Map.of());
        } catch (AgentRuntimeException e) {
            if (e.getMessage() != null && e.getMessage().contains("(HTTP 408")) {
                throw new RuntimeTimeoutException("Daytona sandbox " + sandboxId + ": the command did not end within "
                        + seconds + " s and was killed", e);
            }
            throw e;
        }
        if (answer == null || !answer.has("exitCode")) {
            throw new BackendException("Daytona toolbox POST /process/execute for sandbox " + sandboxId
                    + " answered no exitCode");
        }
        return new Execution(answer.path("exitCode").asInt(), answer.path("result").asText(""));
    }

    private VendorHttp withTimeout(Duration timeout) {
        return withTimeout.apply(timeout);
    }

    /** Runs {@code command} with {@code bash -c} (the daemon's own shell may be another). */
    @Override
    public Result run(String command, Duration timeout) {
        Execution done = execute("bash -c " + ServerLaunch.shellQuote(command), Optional.empty(), Map.of(), timeout);
        return new Result(done.exitCode(), done.result(), "");
    }

    @Override
    public void upload(Path hostFile, String sandboxPath) {
        uploadFiles(Map.of(sandboxPath, hostFile));
    }

    /**
     * {@code POST /files/bulk-upload}: multipart parts {@code files[i].path} and {@code files[i].file}; parent
     * directories are made, existing files overwritten. Streams each file from disk.
     */
    public void uploadFiles(Map<String, Path> files) {
        MultipartBody.Builder body = new MultipartBody.Builder().setType(MultipartBody.FORM);
        int i = 0;
        for (Map.Entry<String, Path> file : files.entrySet()) {
            if (!Files.isRegularFile(file.getValue())) {
                throw new UncheckedIOException(new java.nio.file.NoSuchFileException(file.getValue().toString(),
                        null, "cannot upload it to Daytona sandbox " + sandboxId + ": not a regular file"));
            }
            body.addFormDataPart("files[" + i + "].path", file.getKey());
            body.addFormDataPart("files[" + i + "].file", file.getValue().getFileName().toString(),
                    RequestBody.create(file.getValue().toFile(), OCTET));
            i++;
        }
        // writing the same bytes twice is harmless: every transient failure is retried (the body is replayable)
        http.text("POST", http.url("files/bulk-upload"), body.build(), sandboxId, true, Map.of());
    }

    /** One file of a bulk download: its bytes, or Daytona's per-file error. */
    public record Download(String path, Optional<byte[]> content, Optional<String> error) {
    }

    /** {@code POST /files/bulk-download {"paths":[...]}}: a multipart answer, one {@code file} or {@code error} part each. */
    public Map<String, Download> downloadFiles(List<String> paths) {
        ObjectNode body = VendorHttp.object();
        ArrayNode list = body.putArray("paths");
        paths.forEach(list::add);
        Map<String, Download> result = new LinkedHashMap<>();
        try (Response response = http.stream("POST", http.url("files/bulk-download"),
                RequestBody.create(WireCodec.toJson(body), VendorHttp.JSON), sandboxId, Map.of(),
                Duration.ofMinutes(10));
             MultipartReader reader = new MultipartReader(response.body())) {
            MultipartReader.Part part;
            int index = 0;
            while ((part = reader.nextPart()) != null) {
                String disposition = Optional.ofNullable(part.headers().get("Content-Disposition")).orElse("");
                String name = parameter(disposition, "name").orElse("");
                String fileName = parameter(disposition, "filename")
                        .orElse(index < paths.size() ? paths.get(index) : "");
                byte[] bytes = part.body().readByteArray();
                if (name.equals("error")) {
                    result.put(fileName, new Download(fileName, Optional.empty(),
                            Optional.of(errorText(new String(bytes, StandardCharsets.UTF_8)))));
                } else {
                    result.put(fileName, new Download(fileName, Optional.of(bytes), Optional.empty()));
                }
                index++;
            }
        } catch (IOException e) {
            throw new BackendException("Daytona toolbox POST /files/bulk-download for sandbox " + sandboxId
                    + ": cannot read the multipart answer (" + e.getMessage() + ")", e);
        }
        return result;
    }

    /** Downloads one file, failing with Daytona's reason when it cannot. */
    public byte[] download(String path) {
        Download d = downloadFiles(List.of(path)).get(path);
        if (d == null) {
            throw new BackendException("Daytona sandbox " + sandboxId + ": bulk-download answered nothing for "
                    + path);
        }
        return d.content().orElseThrow(() -> new BackendException("Daytona sandbox " + sandboxId + ": cannot "
                + "download " + path + ": " + d.error().orElse("unknown error")));
    }

    private static String errorText(String body) {
        return dev.agentruntime.spi.ControlPlaneErrors.detail(body);
    }

    private static Optional<String> parameter(String disposition, String name) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?:^|;)\\s*" + name + "=\"((?:[^\"\\\\]|\\\\.)*)\"")
                .matcher(disposition);
        return m.find() ? Optional.of(m.group(1).replace("\\\"", "\"").replace("\\\\", "\\")) : Optional.empty();
    }

    // ------------------------------------------------------------------------------------------- sessions ---

    /** {@code POST /process/session {"sessionId"}} → 201. */
    public void createSession(String sessionId) {
        http.json("POST", http.url("process/session"), VendorHttp.object().put("sessionId", sessionId), sandboxId,
                false, Map.of());
    }

    /** {@code DELETE /process/session/{sid}}. */
    public void deleteSession(String sessionId) {
        http.json("DELETE", http.url("process/session/" + sessionId), null, sandboxId, true, Map.of());
    }

    /** What a session command gave: its id and, for a synchronous one, its output and exit code. */
    public record SessionCommand(String cmdId, Optional<String> stdout, Optional<String> stderr,
                                 OptionalInt exitCode) {
    }

    /**
     * {@code POST /process/session/{sid}/exec {"command","runAsync"}}: synchronous (200 with output and exit code) or
     * in the background (202 with only {@code cmdId}; poll {@link #commandExitCode}).
     */
    public SessionCommand sessionExec(String sessionId, String command, boolean runAsync, Duration timeout) {
        ObjectNode body = VendorHttp.object().put("command", command).put("runAsync", runAsync);
        JsonNode answer = withTimeout(timeout).json("POST", http.url("process/session/" + sessionId + "/exec"), body,
                sandboxId, false, Map.of());
        if (answer == null || answer.path("cmdId").asText("").isEmpty()) {
            throw new BackendException("Daytona toolbox session " + sessionId + " exec for sandbox " + sandboxId
                    + " answered no cmdId");
        }
        return new SessionCommand(answer.path("cmdId").asText(), text(answer, "stdout").or(() -> text(answer,
                "output")), text(answer, "stderr"), answer.hasNonNull("exitCode")
                ? OptionalInt.of(answer.path("exitCode").asInt()) : OptionalInt.empty());
    }

    /** {@code GET /process/session/{sid}/command/{cmdId}}: the exit code once the command ended. */
    public OptionalInt commandExitCode(String sessionId, String cmdId) {
        JsonNode answer = http.get(http.url("process/session/" + sessionId + "/command/" + cmdId), sandboxId);
        return answer != null && answer.hasNonNull("exitCode") ? OptionalInt.of(answer.path("exitCode").asInt())
                : OptionalInt.empty();
    }

    /** A session command's output so far. */
    public record Logs(String stdout, String stderr) {
    }

    /**
     * {@code GET /process/session/{sid}/command/{cmdId}/logs}: JSON {@code {"stdout","stderr"}} for our
     * {@code X-Daytona-SDK-Version}; an older daemon answers the combined output as plain text (then in stdout).
     */
    public Logs commandLogs(String sessionId, String cmdId) {
        String text = http.text("GET", http.url("process/session/" + sessionId + "/command/" + cmdId + "/logs"),
                null, sandboxId, true, Map.of());
        String trimmed = text.stripLeading();
        if (trimmed.startsWith("{")) {
            try {
                JsonNode node = WireCodec.parse(text);
                if (node.has("stdout") || node.has("stderr") || node.has("output")) {
                    return new Logs(node.path("stdout").asText(node.path("output").asText("")),
                            node.path("stderr").asText(""));
                }
            } catch (RuntimeException notJson) {
                // plain output that happens to start with a brace
            }
        }
        return new Logs(text, "");
    }

    private static Optional<String> text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? Optional.empty() : Optional.of(value.asText());
    }

    @Override
    public String toString() {
        return "DaytonaToolbox[" + sandboxId + "]";
    }
}
