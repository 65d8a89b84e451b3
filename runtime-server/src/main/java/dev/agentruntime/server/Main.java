package dev.agentruntime.server;

import dev.agentruntime.server.files.FileService;
import dev.agentruntime.server.os.ProcessControl;
import dev.agentruntime.server.python.PythonKernel;
import dev.agentruntime.server.shell.BashSession;
import dev.agentruntime.spi.ServerLaunch;
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
 * Prints {@link ServerLaunch#READY_LINE_PREFIX}{@code <port>} on stdout once {@code /alive} answers 200.
 */
public final class Main {

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
            options = SessionKeys.resolve(options, System.in);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        log.info("starting with {}", options);
        // Before anything else: our environment (which may hold SESSION_API_KEY) and memory are closed to processes
        // of our own user from now on, and every process the session starts stays our descendant.
        ProcessControl.hideFromSameUser();
        ProcessControl.becomeSubreaper();
        Files.createDirectories(options.workingDir());
        ShellUser user = ShellUser.resolve(options);
        Map<String, String> env = new HashMap<>(System.getenv());
        env.remove("SESSION_API_KEY"); // the key guards the server; commands in the sandbox must not read it
        env.remove("AGENT_RUNTIME_EXIT_ON_STDIN_EOF");
        env.remove("JAVA_TOOL_OPTIONS");
        // AGENT_RUNTIME_SOURCE_BASHRC=false: skip ~/.bashrc (OpenHands sources it; a pyenv/nvm one costs 100s of ms)
        boolean sourceBashrc = !"false".equalsIgnoreCase(env.remove("AGENT_RUNTIME_SOURCE_BASHRC"));
        user.applyTo(env);
        // bind first (a privileged port needs root), then give root up for good before the shell or any file action
        ActionServer server = new ActionServer(options, Endpoints.extra(options));
        server.bind();
        if (user.account() != null) {
            ProcessControl.dropTo(user.account());
            ProcessControl.hideFromSameUser(); // setuid may reset the flag
            log.info("running as {} (uid {})", user.name(), user.account().uid());
        }
        Path ptyNatives = ptyNativesDirectory();
        BashSession shell = new BashSession(options.workingDir(), env, options.noChangeTimeout(), List.of("bash"),
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
        ServerOptions finalOptions = options;
        ActionExecutor executor = new ActionExecutor(shell, () -> new PythonKernel(finalOptions.workingDir(), env),
                new FileService(options.workingDir(), options.limits().maxFileBytes()), options.limits());
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            shutDown(finalOptions, server, executor);
            try {
                if (ptyNatives != null) {
                    BashSession.deleteScratch(ptyNatives);
                }
            } catch (IOException | RuntimeException ignored) {
                // best effort; the next server removes it
            }
        }, "agent-runtime-shutdown"));
        ProcessControl.startOrphanReaper(Duration.ofSeconds(5));

        server.start(executor);
        try {
            shellStarted.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        }
        server.markReady();
        System.out.println(ServerLaunch.READY_LINE_PREFIX + server.port());
        System.out.flush();
        log.info("ready on port {}", server.port());
        String key = options.sessionApiKey();
        daemon("agent-runtime-warm-up", () -> warmUp(finalOptions.bindAddress(), server.port(), key));

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
     * Stops serving, stops the shell and the kernel, kills every process the session left (adopted orphans included:
     * we are their subreaper), and removes the working directory when asked to.
     */
    static void shutDown(ServerOptions options, ActionServer server, ActionExecutor executor) {
        if (server != null) {
            server.close();
        }
        if (executor != null) {
            executor.close();
        }
        int left = ProcessControl.killAllDescendants(Duration.ofSeconds(5));
        if (left > 0) {
            log.warn("{} processes of the session were still running at shutdown", left);
        }
        if (options.removeWorkingDirOnExit()) {
            try {
                deleteTree(options.workingDir());
            } catch (IOException | RuntimeException e) {
                log.warn("cannot remove the working directory {}: {}", options.workingDir(), e.toString());
            }
        }
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

    private static final String PTY_NATIVES_PREFIX = "agent-runtime-pty4j-";

    /**
     * pty4j extracts its native library into a fresh temporary directory per JVM and relies on deleteOnExit, so every
     * server killed with SIGKILL left one behind. It extracts into ours instead: named after our pid, removed at exit,
     * and removed by the next server when we were killed. (Not /dev/shm: it is often mounted noexec.)
     */
    private static Path ptyNativesDirectory() {
        try {
            Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
            BashSession.removeStale(tmp, PTY_NATIVES_PREFIX);
            Path dir = Files.createTempDirectory(tmp, PTY_NATIVES_PREFIX + ProcessHandle.current().pid() + "-");
            System.setProperty("pty4j.tmpdir", dir.toString());
            return dir;
        } catch (IOException | RuntimeException e) {
            log.debug("pty4j keeps its own temporary directory: {}", e.toString());
            return null;
        }
    }

    /** Removes a directory tree without following symbolic links out of it. */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(root, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes a)
                    throws IOException {
                Files.deleteIfExists(file);
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                Files.deleteIfExists(file);
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                Files.deleteIfExists(dir);
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
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

    /**
     * The user the shell runs as. With {@code --username U} and a server started as root, U is created when missing
     * (OpenHands' {@code useradd}), given the working directory, and the whole server then drops to U
     * ({@link ProcessControl#dropTo}) before the shell starts or a file is touched: the shell, the editor, reads,
     * writes and uploads all run with U's credentials, and what they create belongs to U.
     */
    record ShellUser(String name, ProcessControl.Account account) {

        static ShellUser resolve(ServerOptions options) throws IOException, InterruptedException {
            String current = System.getProperty("user.name");
            String wanted = options.username();
            if (wanted == null || wanted.equals(current) || !ProcessControl.isRoot()) {
                if (wanted != null && !wanted.equals(current)) {
                    log.warn("--username {} ignored: the server runs as {} and cannot switch users", wanted, current);
                }
                return new ShellUser(current, null);
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
            return new ShellUser(wanted, ProcessControl.account(wanted));
        }

        /** The variables {@code runuser} used to set for the user's shell. */
        void applyTo(Map<String, String> env) {
            if (account == null) {
                return;
            }
            env.put("HOME", account.home());
            env.put("USER", account.name());
            env.put("LOGNAME", account.name());
            env.put("SHELL", account.shell());
        }

        private static int run(String... command) throws IOException, InterruptedException {
            return new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        }
    }
}
