package dev.agentruntime.local;

import dev.agentruntime.Capability;
import dev.agentruntime.PortAllocator;
import dev.agentruntime.PortLease;
import dev.agentruntime.PortRange;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.internal.ServerClassData;
import dev.agentruntime.internal.ServerJar;
import dev.agentruntime.spi.ActionServerClient;
import dev.agentruntime.spi.ActionServerRuntime;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local backend: the action server runs as a child process of this JVM, as the current user, in the given
 * workspace (or a fresh temporary one). No isolation — use it for trusted work, tests and development.
 *
 * <p>The child never outlives this JVM: it reads its stdin until end of file, and the kernel closes that pipe when
 * this JVM dies, even by {@code kill -9}; the server then kills its shell's process tree and exits.
 * {@link #close()} does the same at once and removes a temporary workspace.
 */
public final class LocalRuntime extends ActionServerRuntime {

    private static final Logger log = LoggerFactory.getLogger(LocalRuntime.class);
    private static final int LOG_LINES_KEPT = 40;

    private final LocalRuntimeConfig local;
    private final Deque<String> lastLogLines = new ArrayDeque<>();
    private final CompletableFuture<Integer> readyPort = new CompletableFuture<>();
    private final List<PortLease> leases = new ArrayList<>();
    private Process process;
    private Path workspace;
    private boolean temporaryWorkspace;
    private Map<String, Integer> webHosts = Map.of();

    public LocalRuntime(RuntimeConfig config, LocalRuntimeConfig local) {
        super(config);
        this.local = local;
    }

    @Override
    public Set<Capability> capabilities() {
        EnumSet<Capability> set = serverCapabilities();
        set.add(Capability.WEB_HOSTS);
        return set;
    }

    /** The workspace the shell starts in (the configured one, or the temporary one made for this runtime). */
    public Path workspace() {
        if (workspace == null) {
            throw new IllegalStateException("Runtime " + id() + " is not connected");
        }
        return workspace;
    }

    @Override
    public Map<String, Integer> webHosts() {
        return webHosts;
    }

    @Override
    protected synchronized ServerEndpoint startSandbox(Instant deadline) {
        try {
            if (config.workspace().isPresent()) {
                workspace = config.workspace().get().toAbsolutePath().normalize();
                Files.createDirectories(workspace);
            } else {
                workspace = Files.createTempDirectory("agent-runtime-" + id() + "-");
                temporaryWorkspace = true;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the workspace for local sandbox " + id(), e);
        }
        List<PortLease> ports = PortAllocator.defaults().allocate(PortRange.EXECUTION_SERVER, PortRange.APP_1,
                PortRange.APP_2);
        leases.addAll(ports);
        int serverPort = ports.get(0).port();
        Map<String, Integer> hosts = new LinkedHashMap<>();
        hosts.put("http://localhost:" + ports.get(1).port(), ports.get(1).port());
        hosts.put("http://localhost:" + ports.get(2).port(), ports.get(2).port());
        webHosts = Map.copyOf(hosts);

        String key = config.sessionApiKeyOr(RuntimeConfig::randomKey);
        List<String> command = new ArrayList<>();
        Path java = javaExecutable();
        Path jar = local.serverJar().orElseGet(ServerJar::locate);
        List<String> jvmOptions = local.jvmOptions().orElse(ServerJar.LEAN_JVM_OPTIONS);
        command.add(java.toString());
        command.addAll(jvmOptions);
        if (local.classDataSharing()) {
            command.addAll(ServerClassData.of(java, jar, jvmOptions).jvmOptions());
        }
        command.addAll(List.of("-jar", jar.toString(),
                Integer.toString(serverPort), "--working-dir", workspace.toString(), "--bind", "127.0.0.1"));
        ProcessBuilder builder = new ProcessBuilder(command).directory(workspace.toFile()).redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        if (!local.inheritEnvironment()) {
            Map<String, String> keep = new HashMap<>();
            for (String name : List.of("PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "SHELL")) {
                if (env.containsKey(name)) {
                    keep.put(name, env.get(name));
                }
            }
            env.clear();
            env.putAll(keep);
        }
        env.putAll(config.environment());
        env.put("SESSION_API_KEY", key);
        env.put("NO_CHANGE_TIMEOUT_SECONDS", Double.toString(config.noChangeTimeout().toMillis() / 1000.0));
        env.put("AGENT_RUNTIME_EXIT_ON_STDIN_EOF", "1");
        if (!local.sourceBashrc()) {
            env.put("AGENT_RUNTIME_SOURCE_BASHRC", "false");
        }
        env.put("APP_PORT_1", Integer.toString(ports.get(1).port()));
        env.put("APP_PORT_2", Integer.toString(ports.get(2).port()));
        env.put("OPENHANDS_SESSION_ID", id());
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new RuntimeStartupException("Cannot start the action server for local sandbox " + id() + " with "
                    + command.get(0) + ": " + e.getMessage() + ". Check the java executable (option 'java').", e);
        }
        log.info("sandbox {}: server pid {} on port {} in {}", id(), process.pid(), serverPort, workspace);
        pumpLog(process);
        return new ServerEndpoint(URI.create("http://127.0.0.1:" + serverPort), key);
    }

    /** Waits for the server's ready line on its stdout: an event, not a poll. */
    @Override
    protected void awaitReady(ActionServerClient client, Instant deadline) {
        long millis = Math.max(1, Duration.between(Instant.now(), deadline).toMillis());
        try {
            readyPort.get(millis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new RuntimeTimeoutException("Local sandbox " + id() + " did not become ready within "
                    + config.startupTimeout() + ". " + describeFailure());
        } catch (ExecutionException e) {
            awaitExit(); // its output ended: let the exit code arrive so the error can report it
            throw new RuntimeStartupException("Local sandbox " + id() + " failed to start: "
                    + e.getCause().getMessage() + ". " + describeFailure(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeStartupException("Interrupted while starting local sandbox " + id(), e);
        }
    }

    private void awaitExit() {
        Process p = process;
        try {
            if (p != null) {
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    protected boolean sandboxRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    @Override
    protected String describeFailure() {
        StringBuilder text = new StringBuilder();
        Process p = process;
        if (p != null && !p.isAlive()) {
            text.append("The server process exited with code ").append(p.exitValue()).append(". ");
        }
        synchronized (lastLogLines) {
            text.append("Last server log lines:");
            if (lastLogLines.isEmpty()) {
                text.append(" (none)");
            }
            for (String line : lastLogLines) {
                text.append("\n  ").append(line);
            }
        }
        return text.toString();
    }

    private void pumpLog(Process p) {
        Thread pump = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    synchronized (lastLogLines) {
                        if (lastLogLines.size() == LOG_LINES_KEPT) {
                            lastLogLines.removeFirst();
                        }
                        lastLogLines.addLast(line);
                    }
                    log.debug("[sandbox {}] {}", id(), line);
                    if (line.startsWith("agent-runtime-server ready on port ")) {
                        readyPort.complete(Integer.parseInt(line.substring(line.lastIndexOf(' ') + 1).trim()));
                    }
                }
            } catch (IOException | RuntimeException e) {
                log.debug("sandbox {}: log pump stopped: {}", id(), e.toString());
            }
            readyPort.completeExceptionally(new IllegalStateException("the server process ended before it was ready"));
        }, "agent-runtime-local-logs-" + id());
        pump.setDaemon(true);
        pump.start();
    }

    @Override
    protected synchronized void stopSandbox() {
        Process p = process;
        process = null;
        if (p != null) {
            List<ProcessHandle> tree = p.descendants().toList();
            try {
                p.getOutputStream().close(); // the server's cue to shut down and kill its shell
            } catch (IOException ignored) {
                // already gone
            }
            try {
                if (!p.waitFor(2, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
            tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        }
        leases.forEach(PortLease::close);
        leases.clear();
        if (temporaryWorkspace && workspace != null) {
            deleteTree(workspace);
            temporaryWorkspace = false;
        }
    }

    private Path javaExecutable() {
        return local.javaExecutable().orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java"));
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException ignored) {
                    // best effort: a file still held open by a dying process
                }
            });
        } catch (IOException e) {
            log.debug("cannot remove {}: {}", root, e.toString());
        }
    }
}
