package dev.agentruntime.server;

import dev.agentruntime.server.files.FileService;
import dev.agentruntime.server.python.PythonKernel;
import dev.agentruntime.server.shell.BashSession;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point: {@code java -jar runtime-server.jar <port> --working-dir <dir> [--username U] [--user-id N]}.
 * Prints {@value #READY_LINE_PREFIX}{@code <port>} on stdout once {@code /alive} answers 200.
 */
public final class Main {

    public static final String READY_LINE_PREFIX = "agent-runtime-server ready on port ";

    static {
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        // Milliseconds since start, not a wall-clock format: SimpleDateFormat drags in the locale and calendar
        // machinery, ~1/10 of the server's start-up CPU. Container runtimes timestamp the log lines anyway.
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        if (System.getenv("AGENT_RUNTIME_SERVER_DEBUG") != null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "debug");
        }
    }

    private static final Logger log = LoggerFactory.getLogger(Main.class);

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        ServerOptions options;
        try {
            options = ServerOptions.parse(args, System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        log.info("starting with {}", options);
        Files.createDirectories(options.workingDir());
        ShellUser user = ShellUser.resolve(options);
        Map<String, String> env = new HashMap<>(System.getenv());
        env.remove("SESSION_API_KEY"); // the key guards the server; commands in the sandbox must not read it
        env.remove("AGENT_RUNTIME_EXIT_ON_STDIN_EOF");
        env.remove("JAVA_TOOL_OPTIONS");
        // AGENT_RUNTIME_SOURCE_BASHRC=false: skip ~/.bashrc (OpenHands sources it; a pyenv/nvm one costs 100s of ms)
        boolean sourceBashrc = !"false".equalsIgnoreCase(env.remove("AGENT_RUNTIME_SOURCE_BASHRC"));
        BashSession shell = new BashSession(options.workingDir(), env, options.noChangeTimeout(), user.shellCommand(),
                user.name(), hostname(), sourceBashrc);
        // bash (and its ~/.bashrc) start in their own process while this thread sets up the HTTP side
        java.util.concurrent.CompletableFuture<Void> shellStarted = new java.util.concurrent.CompletableFuture<>();
        daemon("agent-runtime-shell-start", () -> {
            try {
                shell.start();
                shellStarted.complete(null);
            } catch (Throwable e) {
                shellStarted.completeExceptionally(e);
            }
        });
        ActionExecutor executor = new ActionExecutor(shell, () -> new PythonKernel(options.workingDir(), env),
                new FileService(options.workingDir(), options.limits().maxFileBytes()), options.limits());
        ActionServer server = new ActionServer(options, executor, Endpoints.extra(options));
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            executor.close();
        }, "agent-runtime-shutdown"));

        server.start();
        try {
            shellStarted.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        }
        server.markReady();
        System.out.println(READY_LINE_PREFIX + server.port());
        System.out.flush();
        log.info("ready on port {}", server.port());
        daemon("agent-runtime-warm-up", () -> warmUp(options.bindAddress(), server.port(), options.sessionApiKey()));

        if (options.exitOnStdinEof()) {
            daemon("agent-runtime-parent-watch", () -> {
                try {
                    System.in.transferTo(java.io.OutputStream.nullOutputStream());
                } catch (IOException ignored) {
                    // EOF or broken pipe: the parent is gone either way
                }
                log.info("parent closed stdin: shutting down");
                stop.countDown();
            });
        }
        if (options.idleTimeout() != null) {
            Duration idle = options.idleTimeout();
            daemon("agent-runtime-idle-watch", () -> {
                try {
                    while (true) {
                        long left = idle.toNanos() - server.idleNanos();
                        if (left <= 0) {
                            log.info("no request for {}: shutting down", idle);
                            stop.countDown();
                            return;
                        }
                        Thread.sleep(Math.max(1, left / 1_000_000)); // sleeps exactly until the idle deadline
                    }
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        stop.await();
        System.exit(0);
    }

    /**
     * Sends this server a readiness probe and a {@code true} command over loopback, once it is ready: the first
     * HTTP exchange, the first action through the codec, executor and shell load and link a few hundred classes
     * (50-100 ms of CPU). Done here, off the request path, the ready line does not wait for it and the first real
     * action (often a warm pool's health check) does not pay for it. The command is an ordinary one in the session's
     * shell, as OpenHands runs its own set-up commands there.
     */
    static void warmUp(String bindAddress, int port, String sessionApiKey) {
        String action = "{\"action\": {\"action\": \"run\", \"args\": {\"command\": \"true\", \"is_input\": false, "
                + "\"thought\": \"\", \"blocking\": false, \"hidden\": true}, \"timeout\": 30}}";
        try {
            InetAddress host = InetAddress.getByName(bindAddress);
            if (host.isAnyLocalAddress()) {
                host = InetAddress.getLoopbackAddress();
            }
            selfRequest(host, port, "GET /alive HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            byte[] body = action.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            selfRequest(host, port, "POST /execute_action HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n"
                    + (sessionApiKey == null ? "" : "X-Session-API-Key: " + sessionApiKey + "\r\n") + "\r\n" + action);
        } catch (IOException | RuntimeException e) {
            log.debug("warm-up failed (harmless): {}", e.toString());
        }
    }

    private static void selfRequest(InetAddress host, int port, String request) throws IOException {
        try (java.net.Socket socket = new java.net.Socket(host, port)) {
            socket.setSoTimeout(60_000);
            socket.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            socket.getOutputStream().flush();
            socket.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
        }
    }

    private static void daemon(String name, Runnable body) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        thread.start();
    }

    private static String hostname() {
        try {
            String name = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
            if (!name.isEmpty()) {
                return name;
            }
        } catch (IOException | RuntimeException ignored) {
            // fall back below
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    /** The user the shell runs as, and how to start bash as that user. */
    record ShellUser(String name, List<String> shellCommand) {

        static ShellUser resolve(ServerOptions options) throws IOException, InterruptedException {
            String current = System.getProperty("user.name");
            String wanted = options.username();
            boolean root = "root".equals(current);
            if (wanted == null || wanted.equals(current) || !root) {
                if (wanted != null && !wanted.equals(current)) {
                    log.warn("--username {} ignored: the server runs as {} and cannot switch users", wanted, current);
                }
                return new ShellUser(current, List.of("bash"));
            }
            if (run("id", "-u", wanted) != 0) {
                List<String> add = new ArrayList<>(List.of("useradd", "-m", "-s", "/bin/bash"));
                if (options.userId() != null) {
                    add.addAll(List.of("-u", options.userId().toString()));
                }
                add.add(wanted);
                if (run(add.toArray(String[]::new)) != 0) {
                    throw new IllegalStateException("cannot create user " + wanted + " (" + add + " failed)");
                }
            }
            run("chown", "-R", wanted, options.workingDir().toString());
            return new ShellUser(wanted, List.of("runuser", "-u", wanted, "--", "bash"));
        }

        private static int run(String... command) throws IOException, InterruptedException {
            return new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        }
    }
}
