package dev.agentruntime.spi;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The one definition of how our action server is started anywhere — a child process, a container's entry point, a
 * pod's command, a vendor's exec call: the command line (java, the JVM flags, class-data sharing where available,
 * the jar, port, working directory, user), the environment (names and values), and the ready line it prints.
 *
 * <pre>{@code
 * ServerLaunch launch = ServerLaunch.forSession(config)
 *         .java("/opt/agent-runtime/jre/bin/java").jar("/opt/agent-runtime/runtime-server.jar")
 *         .port(60000).idleTimeout(Duration.ofMinutes(5)).build();
 * container.withEntrypoint(launch.command()).withEnv(launch.environment());   // or: bash -c launch.shellCommand()
 * }</pre>
 *
 * The session key reaches the server one of three ways ({@link KeyDelivery}): in its environment
 * ({@value #ENV_SESSION_API_KEY}, OpenHands' way and the default, but readable by whatever can read the server's
 * environment), as the first line of its stdin ({@link #stdinPrefix()}), or in a file it reads and deletes at start.
 * Backends choose the one that leaves nothing a sandbox user (or {@code docker inspect}) can read. {@link #toString()}
 * redacts the key.
 */
public final class ServerLaunch {

    /** The server prints this followed by its port once it is ready (its shell answers). */
    public static final String READY_LINE_PREFIX = "agent-runtime-server ready on port ";

    /**
     * JVM flags for the server as a sidecar: a small fixed heap with the serial collector (no GC threads to speak
     * of), C1 only (fast warm-up, less code cache), small thread stacks, no perf-data file, the JVM's own warnings
     * on stderr (never on the stdout the ready line is read from). One sandbox's server needs ~55 MB, and 32 of them
     * share a CI machine.
     */
    public static final List<String> JVM_FLAGS = List.of(
            "-XX:+UseSerialGC", "-Xms8m", "-Xmx64m", "-XX:MaxMetaspaceSize=64m", "-XX:ReservedCodeCacheSize=32m",
            "-XX:TieredStopAtLevel=1", "-Xss512k", "-XX:-UsePerfData", "-Xshare:auto", "-Xlog:disable",
            "-Xlog:all=warning:stderr", "-XX:CompileCommand=quiet",
            "-XX:CompileCommand=CompileThresholdScaling,dev.agentruntime.*::*,0.05",
            "-XX:CompileCommand=CompileThresholdScaling,com.fasterxml.*::*,0.05",
            "-XX:CompileCommand=CompileThresholdScaling,com.sun.jna.*::*,0.05",
            "-XX:CompileCommand=CompileThresholdScaling,com.pty4j.*::*,0.05");

    /** The key the server demands as {@code X-Session-API-Key} (OpenHands' name). */
    public static final String ENV_SESSION_API_KEY = "SESSION_API_KEY";
    /** The shell's "no new output" soft timeout in seconds (OpenHands' name). */
    public static final String ENV_NO_CHANGE_TIMEOUT = "NO_CHANGE_TIMEOUT_SECONDS";
    /** The server exits after this many seconds without a request; unset or 0: never. */
    public static final String ENV_IDLE_TIMEOUT = "AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS";
    /** {@code 1}: the server exits when its stdin ends (its parent process died). */
    public static final String ENV_EXIT_ON_STDIN_EOF = "AGENT_RUNTIME_EXIT_ON_STDIN_EOF";
    /** {@code false}: the shell skips {@code ~/.bashrc}. */
    public static final String ENV_SOURCE_BASHRC = "AGENT_RUNTIME_SOURCE_BASHRC";
    /** The session id, exported in every sandbox's shell under the same name. */
    public static final String ENV_SESSION_ID = "AGENT_RUNTIME_SESSION_ID";
    /** The server's own port, as the sandbox sees it. */
    public static final String ENV_SERVER_PORT = "AGENT_RUNTIME_SERVER_PORT";
    /** The port reserved for VS Code (OpenHands' name). */
    public static final String ENV_VSCODE_PORT = "VSCODE_PORT";
    /** The two application ports {@code webHosts()} reaches (OpenHands' names). */
    public static final String ENV_APP_PORT_1 = "APP_PORT_1";
    public static final String ENV_APP_PORT_2 = "APP_PORT_2";
    /** The JVM system property that names a server process's session (visible in {@code ps}; no secret). */
    public static final String SESSION_PROPERTY = "agent.runtime.session";
    /** The JVM system property that marks a server meant to outlive the process that started it. */
    public static final String KEEP_ALIVE_PROPERTY = "agent.runtime.keep-alive";
    /** The prefix of the JVM system properties that carry the caller's labels ({@code RuntimeConfig.labels()}). */
    public static final String LABEL_PROPERTY_PREFIX = "agent.runtime.label.";

    /** How the session key reaches the server. */
    public sealed interface KeyDelivery {
        /** In the {@value #ENV_SESSION_API_KEY} environment variable. */
        record Environment() implements KeyDelivery {
        }

        /** As the first line of the server's stdin ({@code --session-api-key-stdin}); stdin then stays open. */
        record Stdin() implements KeyDelivery {
        }

        /**
         * In a file the server reads and deletes at start ({@code --session-api-key-file}): mode 0600, owned by the
         * server's user or root, written by the backend before the start.
         */
        record File(String path) implements KeyDelivery {
            public File {
                if (path == null || !path.startsWith("/")) {
                    throw new InvalidConfigException("The session key file must be an absolute path, was " + path);
                }
            }
        }

        static KeyDelivery environment() {
            return new Environment();
        }

        static KeyDelivery stdin() {
            return new Stdin();
        }

        static KeyDelivery file(String path) {
            return new File(path);
        }
    }

    private final Builder b;

    private ServerLaunch(Builder builder) {
        this.b = builder;
    }

    /** How the key is handed over. */
    public KeyDelivery keyDelivery() {
        return b.keyDelivery;
    }

    /** The same launch with the key handed over another way. */
    public ServerLaunch withKeyDelivery(KeyDelivery delivery) {
        Builder copy = b.copy();
        copy.keyDelivery = Objects.requireNonNull(delivery, "delivery");
        return new ServerLaunch(copy);
    }

    /**
     * What to write to the server's stdin first when the key is delivered there: the key and a newline (empty for
     * the other deliveries). It is a secret: write it, never log it.
     */
    public byte[] stdinPrefix() {
        return b.keyDelivery instanceof KeyDelivery.Stdin
                ? (b.sessionApiKey.reveal() + "\n").getBytes(StandardCharsets.UTF_8) : new byte[0];
    }

    /** A launch for {@code config}'s session: its id, key (generated when none is set), timeouts, shell environment. */
    public static Builder forSession(RuntimeConfig config) {
        return new Builder().sessionId(config.sessionId()).sessionApiKey(config.sessionApiKeyOrGenerate())
                .keepAlive(config.keepAlive()).labels(config.labels())
                .noChangeTimeout(config.noChangeTimeout()).workingDir(config.sandboxWorkspace())
                .shellEnvironment(config.environment());
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The port named by a ready line, or empty when {@code line} is not one. */
    public static OptionalInt readyPort(String line) {
        if (!line.startsWith(READY_LINE_PREFIX)) {
            return OptionalInt.empty();
        }
        try {
            return OptionalInt.of(Integer.parseInt(line.substring(READY_LINE_PREFIX.length()).strip()));
        } catch (NumberFormatException e) {
            return OptionalInt.empty();
        }
    }

    /** The command line: java, JVM flags, the jar, the port and the server's options. */
    public List<String> command() {
        List<String> command = new ArrayList<>();
        command.add(b.java);
        command.addAll(b.jvmOptions);
        command.addAll(b.classDataOptions);
        command.add("-D" + SESSION_PROPERTY + "=" + b.sessionId);
        if (b.keepAlive) {
            command.add("-D" + KEEP_ALIVE_PROPERTY + "=true");
        }
        b.labels.forEach((key, value) -> command.add("-D" + LABEL_PROPERTY_PREFIX + key + "=" + value));
        command.add("-jar");
        command.add(b.jar);
        command.add(Integer.toString(b.port));
        command.add("--working-dir");
        command.add(b.workingDir);
        b.bindAddress.ifPresent(address -> {
            command.add("--bind");
            command.add(address);
        });
        if (b.keyDelivery instanceof KeyDelivery.Stdin) {
            command.add("--session-api-key-stdin");
        } else if (b.keyDelivery instanceof KeyDelivery.File file) {
            command.add("--session-api-key-file");
            command.add(file.path());
        }
        if (b.removeWorkingDirOnExit) {
            command.add("--remove-working-dir-on-exit");
        }
        b.user.ifPresent(u -> {
            command.add("--username");
            command.add(u.name());
            command.add("--user-id");
            command.add(Integer.toString(u.uid()));
        });
        return List.copyOf(command);
    }

    /**
     * The server process's environment: the shell's variables (which bash inherits), then ours — the session id,
     * the key, the timeouts and ports (ours win). The server keeps the key from its shell.
     */
    public Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>(b.shellEnvironment);
        env.put(ENV_SESSION_ID, b.sessionId);
        if (b.keyDelivery instanceof KeyDelivery.Environment) {
            env.put(ENV_SESSION_API_KEY, b.sessionApiKey.reveal());
        }
        env.put(ENV_NO_CHANGE_TIMEOUT, seconds(b.noChangeTimeout));
        b.idleTimeout.filter(idle -> !idle.isZero()).ifPresent(idle -> env.put(ENV_IDLE_TIMEOUT, seconds(idle)));
        if (b.exitOnStdinEof) {
            env.put(ENV_EXIT_ON_STDIN_EOF, "1");
        }
        if (!b.sourceBashrc) {
            env.put(ENV_SOURCE_BASHRC, "false");
        }
        env.put(ENV_SERVER_PORT, Integer.toString(b.port));
        b.appPorts.forEach((name, port) -> env.put(name, Integer.toString(port)));
        return env;
    }

    /**
     * One {@code bash -c} string that starts the server with its environment, for backends that can only run a
     * shell command (vendor exec APIs): {@code exec env 'K=V' ... 'java' ...}. It holds the key: never log it.
     */
    public String shellCommand() {
        StringBuilder line = new StringBuilder("exec env");
        environment().forEach((name, value) -> line.append(' ').append(shellQuote(name + "=" + value)));
        for (String arg : command()) {
            line.append(' ').append(shellQuote(arg));
        }
        return line.toString();
    }

    /** The session key the server demands. */
    public Secret sessionApiKey() {
        return b.sessionApiKey;
    }

    public int port() {
        return b.port;
    }

    /** Quotes {@code text} for bash: {@code 'it'\''s'}. */
    public static String shellQuote(String text) {
        return "'" + text.replace("'", "'\\''") + "'";
    }

    static String seconds(Duration duration) {
        long millis = duration.toMillis();
        return millis % 1000 == 0 ? Long.toString(millis / 1000) : Double.toString(millis / 1000.0);
    }

    @Override
    public String toString() {
        return "ServerLaunch" + command() + " env=" + environment().keySet() + " (key "
                + b.keyDelivery.getClass().getSimpleName().toLowerCase(Locale.ROOT) + ": " + Secret.REDACTED
                + ")";
    }

    /** The user the sandbox's shell runs as (the server then runs as root and creates it when missing). */
    public record User(String name, int uid) {
        public User {
            if (name == null || !name.matches("[a-z_][a-z0-9_-]{0,31}")) {
                throw new InvalidConfigException("'" + name + "' is not a valid user name (lower case letters, digits,"
                        + " '_' and '-', up to 32 characters)");
            }
            if (uid < 0) {
                throw new InvalidConfigException("uid must not be negative, was " + uid);
            }
        }
    }

    /** Builds a {@link ServerLaunch}; {@link #java}, {@link #jar}, {@link #port}, the session id and key are required. */
    public static final class Builder {
        private String java;
        private String jar;
        private Integer port;
        private String workingDir = "/workspace";
        private Optional<String> bindAddress = Optional.empty();
        private Optional<User> user = Optional.empty();
        private String sessionId;
        private Secret sessionApiKey;
        private Duration noChangeTimeout = RuntimeConfig.DEFAULT_NO_CHANGE_TIMEOUT;
        private Optional<Duration> idleTimeout = Optional.empty();
        private boolean exitOnStdinEof;
        private boolean keepAlive;
        private boolean removeWorkingDirOnExit;
        private KeyDelivery keyDelivery = KeyDelivery.environment();
        private Map<String, String> labels = Map.of();
        private boolean sourceBashrc = true;
        private List<String> jvmOptions = JVM_FLAGS;
        private List<String> classDataOptions = List.of();
        private Map<String, String> shellEnvironment = Map.of();
        private final Map<String, Integer> appPorts = new LinkedHashMap<>();

        private Builder() {
        }

        /** The java executable as the sandbox sees it. */
        public Builder java(String value) {
            this.java = value;
            return this;
        }

        /** The server jar as the sandbox sees it. */
        public Builder jar(String value) {
            this.jar = value;
            return this;
        }

        /** The port the server listens on inside the sandbox (0: any free one, reported on the ready line). */
        public Builder port(int value) {
            this.port = value;
            return this;
        }

        /** The shell's start directory, created by the server when missing. */
        public Builder workingDir(String value) {
            this.workingDir = value;
            return this;
        }

        /** The address the server binds (default: all interfaces, as a sandbox's network needs). */
        public Builder bindAddress(String value) {
            this.bindAddress = Optional.ofNullable(value);
            return this;
        }

        public Builder user(Optional<User> value) {
            this.user = Objects.requireNonNull(value, "user");
            return this;
        }

        public Builder sessionId(String value) {
            this.sessionId = value;
            return this;
        }

        public Builder sessionApiKey(Secret value) {
            this.sessionApiKey = value;
            return this;
        }

        /** The server removes its working directory when it exits (a temporary workspace it was given). */
        public Builder removeWorkingDirOnExit(boolean value) {
            this.removeWorkingDirOnExit = value;
            return this;
        }

        /** How the key reaches the server (default: its environment). */
        public Builder keyDelivery(KeyDelivery value) {
            this.keyDelivery = Objects.requireNonNull(value, "keyDelivery");
            return this;
        }

        public Builder noChangeTimeout(Duration value) {
            this.noChangeTimeout = value;
            return this;
        }

        /** Exit after this long without a request ({@link Duration#ZERO}: never); the safety net for abandoned sandboxes. */
        public Builder idleTimeout(Duration value) {
            this.idleTimeout = Optional.ofNullable(value);
            return this;
        }

        /** Exit when stdin ends: for a child process, whose stdin pipe the kernel closes when its parent dies. */
        public Builder exitOnStdinEof(boolean value) {
            this.exitOnStdinEof = value;
            return this;
        }

        /** Marks the server's command line as a keep-alive sandbox's (for housekeeping that reads process lists). */
        public Builder keepAlive(boolean value) {
            this.keepAlive = value;
            return this;
        }

        /** The caller's labels, put on the command line (for housekeeping that reads process lists). */
        public Builder labels(Map<String, String> value) {
            this.labels = Map.copyOf(value);
            return this;
        }

        public Builder sourceBashrc(boolean value) {
            this.sourceBashrc = value;
            return this;
        }

        /** Replaces {@link #JVM_FLAGS}. */
        public Builder jvmOptions(List<String> value) {
            this.jvmOptions = List.copyOf(value);
            return this;
        }

        /** JVM options that map a class-data archive of the server (added after the JVM flags). */
        public Builder classDataOptions(List<String> value) {
            this.classDataOptions = List.copyOf(value);
            return this;
        }

        /** Variables for the sandbox's shell (the server passes them on to bash). */
        public Builder shellEnvironment(Map<String, String> value) {
            this.shellEnvironment = Map.copyOf(value);
            return this;
        }

        /** The VS Code port and two application ports as the sandbox sees them, exported to the shell. */
        public Builder appPorts(int vscode, int app1, int app2) {
            appPorts.put(ENV_VSCODE_PORT, vscode);
            appPorts.put(ENV_APP_PORT_1, app1);
            appPorts.put(ENV_APP_PORT_2, app2);
            return this;
        }

        /** Only the two application ports (backends without a VS Code port). */
        public Builder appPorts(int app1, int app2) {
            appPorts.put(ENV_APP_PORT_1, app1);
            appPorts.put(ENV_APP_PORT_2, app2);
            return this;
        }

        public ServerLaunch build() {
            require(java, "java");
            require(jar, "jar");
            require(sessionId, "sessionId");
            Objects.requireNonNull(sessionApiKey, "sessionApiKey");
            if (port == null || port < 0 || port > 65535) {
                throw new InvalidConfigException("The server port must be 0-65535, was " + port);
            }
            if (!workingDir.startsWith("/")) {
                throw new InvalidConfigException("The server's working directory must be absolute, was " + workingDir);
            }
            if (noChangeTimeout == null || noChangeTimeout.isNegative() || noChangeTimeout.isZero()) {
                throw new InvalidConfigException("noChangeTimeout must be positive, was " + noChangeTimeout);
            }
            return new ServerLaunch(copy());
        }

        /** A private copy, so that changing this builder later does not change a launch built from it. */
        private Builder copy() {
            Builder c = new Builder();
            c.java = java;
            c.jar = jar;
            c.port = port;
            c.workingDir = workingDir;
            c.bindAddress = bindAddress;
            c.user = user;
            c.sessionId = sessionId;
            c.sessionApiKey = sessionApiKey;
            c.noChangeTimeout = noChangeTimeout;
            c.idleTimeout = idleTimeout;
            c.exitOnStdinEof = exitOnStdinEof;
            c.keepAlive = keepAlive;
            c.removeWorkingDirOnExit = removeWorkingDirOnExit;
            c.keyDelivery = keyDelivery;
            c.labels = labels;
            c.sourceBashrc = sourceBashrc;
            c.jvmOptions = jvmOptions;
            c.classDataOptions = classDataOptions;
            c.shellEnvironment = shellEnvironment;
            c.appPorts.putAll(appPorts);
            return c;
        }

        private static void require(String value, String name) {
            if (value == null || value.isBlank()) {
                throw new InvalidConfigException("ServerLaunch needs " + name);
            }
        }
    }
}
