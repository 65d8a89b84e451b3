package dev.agentruntime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.spi.ServerLaunch;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * The real {@code runtime-server.jar} as a child process, driven over HTTP the way OpenHands' client drives it.
 * Starts on port 0, reads the port from the ready line, keeps one keep-alive {@link HttpClient}, and on
 * {@link #close()} kills the whole process tree and removes the working directory it created.
 */
final class ServerProcess implements AutoCloseable {

    static final String JAR_PROPERTY = "agent.runtime.server.jar";
    static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final AtomicInteger IDS = new AtomicInteger(1);

    private final Process process;
    private final Path workingDir;
    private final boolean ownsWorkingDir;
    private final String sessionKey;
    private final int port;
    private final HttpClient http;
    private final Deque<String> log;

    private ServerProcess(Process process, Path workingDir, boolean ownsWorkingDir, String sessionKey, int port,
                          HttpClient http, Deque<String> log) {
        this.log = log;
        this.process = process;
        this.workingDir = workingDir;
        this.ownsWorkingDir = ownsWorkingDir;
        this.sessionKey = sessionKey;
        this.port = port;
        this.http = http;
    }

    /** Starts the server in a fresh temporary working directory with these extra environment variables. */
    static ServerProcess start(Map<String, String> env) {
        try {
            return start(env, Files.createTempDirectory("agent-runtime-it-").toRealPath(), true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ServerProcess start(Map<String, String> env, Path workingDir, boolean ownsWorkingDir) {
        return start(env, workingDir, ownsWorkingDir, List.of(), null);
    }

    /**
     * @param extraArgs server options after {@code --working-dir}
     * @param stdinLine written to the server's stdin before waiting for the ready line (null: nothing)
     */
    static ServerProcess start(Map<String, String> env, Path workingDir, boolean ownsWorkingDir, List<String> extraArgs,
                               String stdinLine) {
        Process process = launch(env, workingDir, extraArgs);
        if (stdinLine != null) {
            try {
                process.getOutputStream().write((stdinLine + "\n").getBytes(StandardCharsets.UTF_8));
                process.getOutputStream().flush();
            } catch (IOException e) {
                killTree(process);
                throw new UncheckedIOException(e);
            }
        }
        return await(process, env, workingDir, ownsWorkingDir);
    }

    /** Starts the server jar without waiting for it (for tests of refused starts). */
    static Process launch(Map<String, String> env, Path workingDir, List<String> extraArgs) {
        String jar = System.getProperty(JAR_PROPERTY);
        if (jar == null || !Files.isRegularFile(Path.of(jar))) {
            throw new IllegalStateException("system property " + JAR_PROPERTY + " must name the built server jar"
                    + " (run through failsafe: mvn verify -pl runtime-server), was " + jar);
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        // launched with the JVM flags every backend uses (ServerLaunch.JVM_FLAGS), so timings mean the same
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(ServerLaunch.JVM_FLAGS);
        command.addAll(List.of("-jar", jar, "0", "--working-dir", workingDir.toString()));
        command.addAll(extraArgs);
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().remove("SESSION_API_KEY");
        builder.environment().remove("NO_CHANGE_TIMEOUT_SECONDS");
        builder.environment().remove("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS");
        builder.environment().remove("AGENT_RUNTIME_EXIT_ON_STDIN_EOF");
        builder.environment().putAll(env);
        try {
            return builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + builder.command(), e);
        }
    }

    private static ServerProcess await(Process process, Map<String, String> env, Path workingDir,
                                       boolean ownsWorkingDir) {
        Deque<String> log = new ArrayDeque<>();
        CompletableFuture<Integer> ready = new CompletableFuture<>();
        pump(process.getInputStream(), "stdout", log, ready);
        pump(process.getErrorStream(), "stderr", log, null);
        int port;
        try {
            port = ready.get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            killTree(process);
            String lines;
            synchronized (log) {
                lines = String.join("\n", log);
            }
            throw new IllegalStateException("server did not print its ready line within " + READY_TIMEOUT
                    + " (" + e + "); its last output:\n" + lines, e);
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        return new ServerProcess(process, workingDir, ownsWorkingDir, env.get("SESSION_API_KEY"), port, http, log);
    }

    /** The same server, authenticating with {@code key} (one handed over by file or stdin). */
    ServerProcess withKey(String key) {
        return new ServerProcess(process, workingDir, ownsWorkingDir, key, port, http, log);
    }

    private static void pump(InputStream in, String name, Deque<String> log, CompletableFuture<Integer> ready) {
        Thread thread = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    synchronized (log) {
                        log.addLast(name + ": " + line);
                        while (log.size() > 200) {
                            log.removeFirst();
                        }
                    }
                    if (ready != null && ServerLaunch.readyPort(line).isPresent()) {
                        ready.complete(ServerLaunch.readyPort(line).getAsInt());
                    }
                }
            } catch (IOException | RuntimeException e) {
                // the process went away
            } finally {
                if (ready != null) {
                    ready.completeExceptionally(new IllegalStateException("server stdout closed"));
                }
            }
        }, "server-it-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    int port() {
        return port;
    }

    Path workingDir() {
        return workingDir;
    }

    Process process() {
        return process;
    }

    // ------------------------------------------------------------------------------------------- HTTP

    /** An HTTP answer: status, raw body, headers. */
    record Response(int status, String body, HttpHeaders headers) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("response body is not JSON (status " + status + "): " + body, e);
            }
        }

        String contentType() {
            return headers.firstValue("Content-Type").orElse("");
        }
    }

    /** The session key this server requires, or null. */
    String sessionKey() {
        return sessionKey;
    }

    Response get(String path) {
        return send("GET", path, null, true);
    }

    /** POSTs a JSON body with the session key (if the server has one). */
    Response post(String path, String json) {
        return send("POST", path, json, true);
    }

    Response send(String method, String path, String body, boolean withKey) {
        return send(method, path, body, withKey ? sessionKey : null, Duration.ofSeconds(60));
    }

    Response send(String method, String path, String body, String key, Duration timeout) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(timeout)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        if (key != null) {
            request.header("X-Session-API-Key", key);
        }
        try {
            HttpResponse<String> response = http.send(request.build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return new Response(response.statusCode(), response.body(), response.headers());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path + " failed; server output:\n" + recentOutput(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** POSTs raw bytes with a content type (multipart uploads, hostile bodies), with the session key. */
    Response postBytes(String pathAndQuery, String contentType, byte[] body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
                .timeout(Duration.ofSeconds(120))
                .header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (sessionKey != null) {
            request.header("X-Session-API-Key", sessionKey);
        }
        try {
            HttpResponse<String> response = http.send(request.build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return new Response(response.statusCode(), response.body(), response.headers());
        } catch (IOException e) {
            throw new UncheckedIOException("POST " + pathAndQuery + " failed; server output:\n" + recentOutput(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    static final String BOUNDARY = "agent-runtime-hardening-7MA4YWxk";

    /** A multipart/form-data body with one {@code file} part, as requests writes one. */
    static byte[] multipart(String filename, byte[] content) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(content.length + 256);
        out.writeBytes(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename
                + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.writeBytes(content);
        out.writeBytes(("\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    /** Uploads one file to {@code destination} (a zip is extracted there). */
    Response upload(Path destination, String filename, byte[] content) {
        return postBytes("/upload_file?destination=" + java.net.URLEncoder.encode(destination.toString(),
                StandardCharsets.UTF_8), "multipart/form-data; boundary=" + BOUNDARY, multipart(filename, content));
    }

    // ----------------------------------------------------------------------------------------- actions

    /** A {@code run} action as OpenHands' {@code CmdRunAction} serializes it, with the client's 120 s default timeout. */
    static final class Run {
        private final String command;
        private boolean isInput;
        private boolean blocking;
        private boolean isStatic;
        private String cwd;
        private boolean hidden;
        private Double timeout = 120.0;

        private Run(String command) {
            this.command = command;
        }

        static Run of(String command) {
            return new Run(command);
        }

        static Run input(String text) {
            return new Run(text).isInput(true);
        }

        Run isInput(boolean value) {
            isInput = value;
            return this;
        }

        Run blocking(boolean value) {
            blocking = value;
            return this;
        }

        /** A hard timeout, like the LLM tool's explicit {@code timeout}: also makes the action blocking. */
        Run hardTimeout(double seconds) {
            timeout = seconds;
            blocking = true;
            return this;
        }

        Run staticIn(Path directory) {
            isStatic = true;
            cwd = directory.toString();
            return this;
        }

        Run hidden(boolean value) {
            hidden = value;
            return this;
        }

        /** The {@code /execute_action} body, field for field as OpenHands' client sends it (reference §2.4). */
        String body() {
            ObjectNode action = JSON.createObjectNode();
            action.put("id", IDS.getAndIncrement());
            action.put("timestamp", LocalDateTime.now().toString());
            action.put("source", "agent");
            action.put("message", "Running command: " + command);
            action.put("action", "run");
            ObjectNode args = action.putObject("args");
            args.put("command", command);
            args.put("is_input", isInput);
            args.put("thought", "");
            args.put("blocking", blocking);
            args.put("is_static", isStatic);
            if (cwd == null) {
                args.putNull("cwd");
            } else {
                args.put("cwd", cwd);
            }
            args.put("hidden", hidden);
            args.put("confirmation_state", "confirmed");
            args.put("security_risk", -1);
            if (timeout != null) {
                action.put("timeout", timeout);
            }
            ObjectNode body = JSON.createObjectNode();
            body.set("action", action);
            return body.toString();
        }

        Duration httpTimeout() {
            return Duration.ofMillis(Math.round(((timeout == null ? 120 : timeout) + 30) * 1000));
        }
    }

    /** Runs a plain command (non-blocking, 120 s hard timeout) and returns the observation. */
    Obs execute(String command) {
        return execute(Run.of(command));
    }

    Obs execute(Run run) {
        Response response = send("POST", "/execute_action", run.body(), sessionKey, run.httpTimeout());
        if (response.status() != 200) {
            throw new AssertionError("/execute_action answered " + response.status() + ": " + response.body());
        }
        return new Obs(response.json());
    }

    /** An observation as received: accessors for the fields the tests assert. */
    record Obs(JsonNode json) {
        String type() {
            return json.path("observation").asText(null);
        }

        String content() {
            return json.path("content").asText(null);
        }

        JsonNode extras() {
            return json.path("extras");
        }

        JsonNode metadata() {
            return extras().path("metadata");
        }

        int exitCode() {
            return metadata().path("exit_code").asInt(Integer.MIN_VALUE);
        }

        int pid() {
            return metadata().path("pid").asInt(Integer.MIN_VALUE);
        }

        String prefix() {
            return metadata().path("prefix").asText(null);
        }

        String suffix() {
            return metadata().path("suffix").asText(null);
        }

        String workingDir() {
            return metadata().path("working_dir").asText(null);
        }

        @Override
        public String toString() {
            return json.toPrettyString();
        }
    }

    /**
     * Leaves the shell idle for the next test: interrupts whatever runs, then checks a command completes. Tests
     * that start background or stopped jobs clean them up themselves (their notices would otherwise show in the
     * next command's output, as in a terminal).
     */
    void ensureIdle() {
        Obs probe = execute(Run.of("C-c").hardTimeout(10));
        if (probe.exitCode() == -1) {
            throw new AssertionError("the shell did not come back after C-c: " + probe + "\nserver output:\n"
                    + recentOutput());
        }
        Obs echo = execute(Run.of("echo __idle__").hardTimeout(10));
        if (!"__idle__".equals(echo.content()) || echo.exitCode() != 0) {
            throw new AssertionError("the shell is not idle after C-c: " + echo);
        }
    }

    // ---------------------------------------------------------------------------------------- lifecycle

    /** Closes the server's stdin (what a parent's death looks like to the child). */
    void closeStdin() {
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Everything the server process and its descendants are right now (the shell, its jobs). */
    List<ProcessHandle> descendants() {
        return process.descendants().toList();
    }

    String recentOutput() {
        synchronized (log) {
            return String.join("\n", new ArrayList<>(log));
        }
    }

    @Override
    public void close() {
        killTree(process);
        if (ownsWorkingDir) {
            deleteTree(workingDir);
        }
    }

    static void killTree(Process process) {
        List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
        tree.forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    /** Waits for a condition with a deadline (for files the shell writes); fails with the message. */
    static void awaitCondition(Duration timeout, String what, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
        }
    }

    static Map<String, String> env(String... keyValues) {
        Map<String, String> env = new LinkedHashMap<>();
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            env.put(keyValues[i], keyValues[i + 1]);
        }
        return env;
    }
}
