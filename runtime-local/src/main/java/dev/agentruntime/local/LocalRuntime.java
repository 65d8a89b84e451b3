package dev.agentruntime.local;

import dev.agentruntime.BackendException;
import dev.agentruntime.Capability;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.internal.FileTrees;
import dev.agentruntime.internal.ServerClassData;
import dev.agentruntime.internal.ServerJar;
import dev.agentruntime.spi.ActionServerClient;
import dev.agentruntime.spi.ActionServerRuntime;
import dev.agentruntime.spi.PortLease;
import dev.agentruntime.spi.PortRange;
import dev.agentruntime.spi.ServerEndpoint;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.StartupLog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local backend: the action server runs as a child process of this JVM, as the current user, in the given
 * workspace (or a fresh temporary one). No isolation — use it for trusted work, tests and development.
 *
 * <p>The child never outlives this JVM: it reads its stdin until end of file, and the kernel closes that pipe when
 * this JVM dies, even by {@code kill -9}; the server then kills its shell's process tree and exits.
 * {@link #close()} does the same at once and removes a temporary workspace.
 *
 * <p>With {@link RuntimeConfig#keepAlive()} the server outlives this runtime and this JVM instead, until its idle
 * timeout ({@link LocalRuntimeConfig#idleTimeout()}); another runtime attaches to it by session id
 * ({@link RuntimeConfig#attachToExisting()}, with the same session key). {@link #pause()} stops the server and
 * everything it started ({@code SIGSTOP}) and {@link #resume()} continues them: processes and memory are kept.
 */
public final class LocalRuntime extends ActionServerRuntime {

    private static final Logger log = LoggerFactory.getLogger(LocalRuntime.class);
    /** Variables kept from this process's environment when {@code inherit.environment} is off. */
    private static final List<String> MINIMAL_ENVIRONMENT = List.of("PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR",
            "SHELL");

    private final LocalRuntimeConfig local;
    // guarded by the base class's lifecycle lock (every hook runs under it); volatile for readers outside it
    /** The server started here, or null when attached to another's. */
    private volatile Process process;
    /** The server process, started here or attached to. */
    private volatile ProcessHandle server;
    private volatile Path workspace;
    private boolean temporaryWorkspace;
    private volatile Map<String, Integer> webHosts = Map.of();

    public LocalRuntime(RuntimeConfig config, LocalRuntimeConfig local) {
        super(config);
        this.local = local;
    }

    @Override
    public Set<Capability> capabilities() {
        EnumSet<Capability> set = serverCapabilities();
        set.addAll(EnumSet.of(Capability.WEB_HOSTS, Capability.PAUSE_RESUME, Capability.ATTACH));
        return set;
    }

    /** The workspace the shell starts in (the configured one, or the temporary one made for this runtime). */
    public Path workspace() {
        Path current = workspace;
        if (current == null) {
            throw new IllegalStateException("Runtime " + id() + " is not connected");
        }
        return current;
    }

    @Override
    public Map<String, Integer> webHosts() {
        return webHosts;
    }

    @Override
    protected ServerEndpoint startSandbox(Instant deadline) {
        if (config.attachToExisting()) {
            return attach();
        }
        if (config.workspace().isPresent()) {
            workspace = config.workspace().get().toAbsolutePath().normalize(); // the server creates it when missing
        } else {
            try {
                workspace = Files.createTempDirectory("agent-runtime-" + id() + "-");
                temporaryWorkspace = true;
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot create a temporary workspace for local sandbox " + id(), e);
            }
        }
        List<PortLease> ports = leasePorts(PortRange.EXECUTION_SERVER, PortRange.APP_1, PortRange.APP_2);
        int serverPort = ports.get(0).port();
        Map<String, Integer> hosts = new LinkedHashMap<>();
        for (PortLease app : ports.subList(1, 3)) {
            hosts.put("http://localhost:" + app.port(), app.port());
        }
        webHosts = Map.copyOf(hosts);

        Path java = local.javaExecutable().orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java"));
        Path jar = local.serverJar().orElseGet(ServerJar::locate);
        List<String> jvmOptions = local.jvmOptions().orElse(ServerLaunch.JVM_FLAGS);
        ServerLaunch launch = ServerLaunch.forSession(config)
                .java(java.toString()).jar(jar.toString()).port(serverPort).workingDir(workspace.toString())
                .bindAddress("127.0.0.1").exitOnStdinEof(!config.keepAlive()).sourceBashrc(local.sourceBashrc())
                .idleTimeout(config.keepAlive() ? local.idleTimeout() : Duration.ZERO)
                .jvmOptions(jvmOptions)
                .classDataOptions(local.classDataSharing() ? ServerClassData.of(java, jar, jvmOptions).jvmOptions()
                        : List.of())
                .appPorts(ports.get(1).port(), ports.get(2).port())
                // the key on stdin: nothing in the server's environment for /proc/<pid>/environ to show
                .keyDelivery(ServerLaunch.KeyDelivery.stdin())
                .removeWorkingDirOnExit(temporaryWorkspace)
                .build();
        ProcessBuilder builder = new ProcessBuilder(launch.command()).directory(startDirectory())
                .redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        if (!local.inheritEnvironment()) {
            Map<String, String> keep = new HashMap<>();
            MINIMAL_ENVIRONMENT.stream().filter(env::containsKey).forEach(name -> keep.put(name, env.get(name)));
            env.clear();
            env.putAll(keep);
        }
        env.putAll(launch.environment());
        Process started;
        try {
            started = builder.start();
        } catch (IOException e) {
            throw new RuntimeStartupException("Cannot start the action server for local sandbox " + id() + " with "
                    + java + ": " + e.getMessage() + ". Check the java executable (option 'java').", e);
        }
        try {
            started.getOutputStream().write(launch.stdinPrefix());
            started.getOutputStream().flush(); // stdin stays open: its end is the server's cue that we are gone
        } catch (IOException e) {
            // the server died at once (a broken jar, a bad JVM option): waiting for its ready line reports why
            log.debug("sandbox {}: the server's stdin closed before the key was written: {}", id(), e.toString());
        }
        process = started;
        server = started.toHandle();
        log.info("sandbox {}: server pid {} on port {} in {}", id(), started.pid(), serverPort, workspace);
        StartupLog.pump(started.getInputStream(), useStartupLog(new StartupLog(line -> log.debug("[sandbox {}] {}",
                id(), line))), "agent-runtime-local-logs-" + id());
        return ServerEndpoint.of(URI.create("http://127.0.0.1:" + serverPort), launch.sessionApiKey());
    }

    /** Finds the session's server (a keep-alive one, started by another runtime) by its command line. */
    private ServerEndpoint attach() {
        LocalSandboxes.Server found = LocalSandboxes.server(id()).orElseThrow(() -> new RuntimeNotFoundException(
                "No local sandbox to attach to for session " + id() + ": no server process of this user names it."
                        + " It was closed without keep-alive, timed out idle, or never created; connect without"
                        + " attachToExisting to create one."));
        if (config.sessionApiKey().isEmpty()) {
            throw new InvalidConfigException("Attaching to local sandbox " + id() + " needs its session API key: set"
                    + " RuntimeConfig.sessionApiKey to the key the sandbox was created with.");
        }
        int port = found.port().orElseThrow(() -> new RuntimeStartupException("The server of local sandbox " + id()
                + " (pid " + found.process().pid() + ") has no port on its command line"));
        server = found.process();
        workspace = found.argument("--working-dir").map(Path::of).orElse(null);
        String temporaryPrefix = "agent-runtime-" + id() + "-";
        temporaryWorkspace = workspace != null && workspace.getFileName().toString().startsWith(temporaryPrefix)
                && workspace.startsWith(Path.of(System.getProperty("java.io.tmpdir")));
        log.info("sandbox {}: attached to server pid {} on port {}", id(), found.process().pid(), port);
        return ServerEndpoint.of(URI.create("http://127.0.0.1:" + port), config.sessionApiKey().get());
    }

    /** The child's own start directory: the workspace when it exists, so a missing one is the server's to report. */
    private java.io.File startDirectory() {
        Path dir = Files.isDirectory(workspace) ? workspace : Path.of(System.getProperty("java.io.tmpdir"));
        return dir.toFile();
    }

    /** Waits for the server's ready line on its stdout (an event, not a poll); an attached one answers /alive. */
    @Override
    protected void awaitReady(ActionServerClient client, Instant deadline) {
        if (process != null && startupLog().isPresent()) {
            awaitReadyLine(deadline);
        } else {
            client.awaitAlive(deadline, this::sandboxRunning, this::describeFailure);
        }
    }

    @Override
    protected Duration heartbeatInterval() {
        Duration idle = local.idleTimeout();
        return !config.keepAlive() || idle.isZero() ? Duration.ZERO
                : Duration.ofMillis(Math.max(500, Math.min(60_000, idle.toMillis() / 3)));
    }

    @Override
    protected boolean sandboxRunning() {
        ProcessHandle p = server;
        return p != null && p.isAlive();
    }

    /** Stops the server and every process it started, children first seen, with SIGSTOP. */
    @Override
    protected void pauseSandbox() {
        signal("STOP");
    }

    @Override
    protected Optional<ServerEndpoint> resumeSandbox(Instant deadline) {
        signal("CONT");
        return Optional.empty();
    }

    private void signal(String signal) {
        ProcessHandle p = server;
        if (p == null || !p.isAlive()) {
            throw new RuntimeDisconnectedException("The server of local sandbox " + id() + " is gone: cannot send "
                    + "SIG" + signal);
        }
        List<String> command = new ArrayList<>(List.of("kill", "-" + signal, Long.toString(p.pid())));
        p.descendants().forEach(child -> command.add(Long.toString(child.pid())));
        try {
            Process kill = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(kill.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (kill.waitFor() != 0 && p.isAlive()) {
                throw new BackendException("Sending SIG" + signal + " to local sandbox " + id() + " failed: "
                        + out.strip());
            }
        } catch (IOException e) {
            throw new BackendException("Cannot run kill to send SIG" + signal + " to local sandbox " + id(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackendException("Interrupted while sending SIG" + signal + " to local sandbox " + id(), e);
        }
    }

    @Override
    protected String failureContext() {
        Process p = process;
        if (p == null) {
            return "";
        }
        // the server's output ended: give its exit code a moment to arrive so the error can report it
        startupLog().filter(output -> output.ended().isDone()).ifPresent(output -> waitFor(p, 5));
        return p.isAlive() ? "" : "The server process exited with code " + p.exitValue() + ".";
    }

    @Override
    protected void stopSandbox() {
        boolean keep = isClosed() && config.keepAlive();
        ProcessHandle attached = process == null ? server : null;
        Process p = process;
        process = null;
        server = null;
        if (keep) {
            if (status() == RuntimeStatus.PAUSED) {
                log.info("sandbox {}: keep-alive: the server stays paused", id());
            }
            log.info("sandbox {}: keep-alive: server pid {} left running", id(), p != null ? p.pid()
                    : attached == null ? "?" : attached.pid());
            return;
        }
        if (attached != null) {
            LocalSandboxes.end(attached, Duration.ofSeconds(2));
        }
        if (p != null) {
            List<ProcessHandle> tree = p.descendants().toList();
            try {
                p.getOutputStream().close(); // the server's cue to shut down and kill its shell
            } catch (IOException ignored) {
                // already gone
            }
            // the server's own shutdown is bounded (~6 s: its shell, then its session's processes); a SIGKILL
            // before it ends would leave its scratch files behind
            if (!waitFor(p, SERVER_SHUTDOWN_SECONDS)) {
                p.destroyForcibly();
                waitFor(p, 5);
            }
            tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        }
        if (temporaryWorkspace && workspace != null) {
            FileTrees.deleteQuietly(workspace);
            temporaryWorkspace = false;
        }
    }

    private static final int SERVER_SHUTDOWN_SECONDS = 10;

    private static boolean waitFor(Process p, int seconds) {
        try {
            return p.waitFor(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return false;
        }
    }

    @Override
    public String toString() {
        Process p = process;
        return "LocalRuntime[" + id() + ", pid=" + (p == null ? "none" : p.pid()) + ", status=" + status() + "]";
    }
}
