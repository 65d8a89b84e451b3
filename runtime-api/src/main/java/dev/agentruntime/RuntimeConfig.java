package dev.agentruntime;

import dev.agentruntime.spi.BackendConfig;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything needed to create one sandbox session. Immutable; build with {@link #builder()} and derive variants
 * with {@link #toBuilder()}.
 *
 * <pre>{@code
 * RuntimeConfig config = RuntimeConfig.builder()
 *         .type("local")
 *         .environment(Map.of("GREETING", "hello"))
 *         .actionTimeout(Duration.ofSeconds(60))
 *         .build();
 * }</pre>
 *
 * @param type              backend type, e.g. {@code "local"} or {@code "docker"}
 * @param sessionId         the session id; containers and pods are named after it, attach uses it
 * @param workspace         host directory used as the workspace (local: the working directory; Docker: mounted);
 *                          empty means a fresh temporary one (local) or none (isolated backends)
 * @param sandboxWorkspace  the working directory inside an isolated sandbox ({@code /workspace})
 * @param environment       variables set in the sandbox's shell
 * @param actionTimeout     hard timeout for actions that do not carry their own
 * @param startupTimeout    one deadline for the sandbox to become ready
 * @param noChangeTimeout   the "no new output" soft timeout of the shell
 * @param sessionApiKey     the {@code X-Session-API-Key} the server demands; empty means "generate one"
 * @param options           backend-specific settings as strings (checked by the backend, unknown keys rejected)
 * @param backendConfig     a backend's typed configuration, takes precedence over {@code options}
 * @param statusListener    receives status events
 * @param attachToExisting  attach to the session's existing sandbox instead of creating one
 * @param keepAlive         leave the sandbox running on {@code close()}
 * @param labels            the caller's own labels, recorded on the sandbox beside the library's session labels and
 *                          listed by housekeeping (e.g. a tenant or a runtime id); keys and values must be valid
 *                          Kubernetes label names and values (1-63 letters, digits, {@code -_.}, alphanumeric ends)
 */
public record RuntimeConfig(
        String type,
        String sessionId,
        Optional<Path> workspace,
        String sandboxWorkspace,
        Map<String, String> environment,
        Duration actionTimeout,
        Duration startupTimeout,
        Duration noChangeTimeout,
        Optional<Secret> sessionApiKey,
        Map<String, String> options,
        Optional<BackendConfig> backendConfig,
        StatusListener statusListener,
        boolean attachToExisting,
        boolean keepAlive,
        Map<String, String> labels) {

    public static final String DEFAULT_TYPE = "local";
    public static final Duration DEFAULT_ACTION_TIMEOUT = Duration.ofSeconds(120);
    public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(120);
    public static final Duration DEFAULT_NO_CHANGE_TIMEOUT = Duration.ofSeconds(10);

    public RuntimeConfig {
        type = requireText(type, "type");
        sessionId = requireText(sessionId, "sessionId");
        if (!sessionId.matches("[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?")) {
            throw new InvalidConfigException("sessionId '" + sessionId + "' is not valid: use 1-63 letters, digits, "
                    + "'_', '.' or '-', starting and ending with a letter or digit (it names containers and pods and"
                    + " labels them)");
        }
        workspace = Objects.requireNonNullElse(workspace, Optional.empty());
        sandboxWorkspace = requireText(sandboxWorkspace, "sandboxWorkspace");
        if (!sandboxWorkspace.startsWith("/")) {
            throw new InvalidConfigException("sandboxWorkspace must be an absolute path, was '" + sandboxWorkspace + "'");
        }
        environment = Objects.requireNonNullElse(environment, Map.of());
        for (Map.Entry<String, String> variable : environment.entrySet()) {
            String name = variable.getKey();
            if (name == null || !name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new InvalidConfigException("environment variable name '" + name
                        + "' is not a valid shell identifier ([A-Za-z_][A-Za-z0-9_]*)");
            }
            if (variable.getValue() == null) {
                throw new InvalidConfigException("environment variable '" + name + "' has no value (null); use \"\" for empty");
            }
        }
        environment = Map.copyOf(environment);
        actionTimeout = requirePositive(actionTimeout, "actionTimeout");
        startupTimeout = requirePositive(startupTimeout, "startupTimeout");
        noChangeTimeout = requirePositive(noChangeTimeout, "noChangeTimeout");
        sessionApiKey = Objects.requireNonNullElse(sessionApiKey, Optional.empty());
        options = Objects.requireNonNullElse(options, Map.of());
        for (Map.Entry<String, String> option : options.entrySet()) {
            if (option.getKey() == null || option.getValue() == null) {
                throw new InvalidConfigException("option '" + option.getKey() + "' has no value (null)");
            }
        }
        options = Map.copyOf(options);
        backendConfig = Objects.requireNonNullElse(backendConfig, Optional.empty());
        statusListener = Objects.requireNonNullElse(statusListener, StatusListener.NONE);
        labels = Map.copyOf(Objects.requireNonNullElse(labels, Map.of()));
        for (Map.Entry<String, String> label : labels.entrySet()) {
            if (!label.getKey().matches(LABEL_PATTERN)) {
                throw new InvalidConfigException("label key '" + label.getKey() + "' is not valid: use 1-63 letters,"
                        + " digits, '-', '_' or '.', starting and ending with a letter or digit");
            }
            if (!label.getValue().isEmpty() && !label.getValue().matches(LABEL_PATTERN)) {
                throw new InvalidConfigException("the value of label " + label.getKey() + " is not valid: use up to 63"
                        + " letters, digits, '-', '_' or '.', starting and ending with a letter or digit");
            }
        }
    }

    /** What a label key or a non-empty label value must look like (Kubernetes' label-value rule). */
    private static final String LABEL_PATTERN = "[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?";

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Reads a configuration from environment variables: {@code AGENT_RUNTIME_TYPE}, {@code AGENT_RUNTIME_SESSION_ID},
     * {@code AGENT_RUNTIME_WORKSPACE}, {@code AGENT_RUNTIME_ACTION_TIMEOUT_SECONDS},
     * {@code AGENT_RUNTIME_STARTUP_TIMEOUT_SECONDS}, {@code SESSION_API_KEY}, {@code SANDBOX_ENV_<NAME>} (sets
     * {@code NAME} in the sandbox, as OpenHands does) and {@code AGENT_RUNTIME_OPTION_<KEY>} (backend option
     * {@code key}, lower-cased with {@code _} turned into {@code .}: {@code AGENT_RUNTIME_OPTION_SOURCE_BASHRC=false}
     * sets {@code source.bashrc}). The backend of the chosen type adds the options its own variables give (e.g. a
     * vendor's {@code *_API_KEY}), see {@link dev.agentruntime.spi.RuntimeProvider#optionsFromEnvironment(Map)};
     * an {@code AGENT_RUNTIME_OPTION_*} variable wins over those.
     *
     * @throws InvalidConfigException when a variable is malformed, e.g. an empty {@code SESSION_API_KEY}
     */
    public static RuntimeConfig fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    /** Like {@link #fromEnvironment()} but from the given map (handy for tests). */
    public static RuntimeConfig fromEnvironment(Map<String, String> env) {
        Builder builder = builder();
        Map<String, String> sandboxEnv = new LinkedHashMap<>();
        Map<String, String> options = new LinkedHashMap<>();
        env.forEach((key, value) -> {
            if (key.startsWith("SANDBOX_ENV_") && key.length() > "SANDBOX_ENV_".length()) {
                sandboxEnv.put(key.substring("SANDBOX_ENV_".length()), value);
            } else if (key.startsWith("AGENT_RUNTIME_OPTION_") && key.length() > "AGENT_RUNTIME_OPTION_".length()) {
                options.put(optionKey(key.substring("AGENT_RUNTIME_OPTION_".length())), value);
            }
        });
        Optional.ofNullable(env.get("AGENT_RUNTIME_TYPE")).ifPresent(builder::type);
        Optional.ofNullable(env.get("AGENT_RUNTIME_SESSION_ID")).ifPresent(builder::sessionId);
        Optional.ofNullable(env.get("AGENT_RUNTIME_WORKSPACE")).map(Path::of).ifPresent(builder::workspace);
        Optional.ofNullable(env.get("AGENT_RUNTIME_ACTION_TIMEOUT_SECONDS"))
                .map(v -> seconds("AGENT_RUNTIME_ACTION_TIMEOUT_SECONDS", v)).ifPresent(builder::actionTimeout);
        Optional.ofNullable(env.get("AGENT_RUNTIME_STARTUP_TIMEOUT_SECONDS"))
                .map(v -> seconds("AGENT_RUNTIME_STARTUP_TIMEOUT_SECONDS", v)).ifPresent(builder::startupTimeout);
        if (env.containsKey("SESSION_API_KEY")) {
            if (env.get("SESSION_API_KEY").isEmpty()) {
                throw new InvalidConfigException("SESSION_API_KEY is set but empty: an empty key would turn the action"
                        + " server's authentication off. Unset it to have a key generated, or give a real key.");
            }
            builder.sessionApiKey(env.get("SESSION_API_KEY"));
        }
        String type = env.getOrDefault("AGENT_RUNTIME_TYPE", DEFAULT_TYPE);
        Map<String, String> merged = new LinkedHashMap<>();
        RuntimeFactory.findProvider(type).ifPresent(provider -> provider.optionsFromEnvironment(env)
                .forEach((key, value) -> merged.put(optionKey(key), value)));
        merged.putAll(options);
        return builder.environment(sandboxEnv).options(merged).build();
    }

    /**
     * The canonical form of an option key: dotted lower case, with {@code -} and {@code _} read as {@code .}
     * ({@code Pull_Policy}, {@code pull-policy} and {@code pull.policy} are one key).
     *
     * @throws InvalidConfigException for a blank key
     */
    public static String optionKey(String key) {
        if (key == null || key.isBlank()) {
            throw new InvalidConfigException("An option key must not be blank");
        }
        return key.strip().toLowerCase(java.util.Locale.ROOT).replace('-', '.').replace('_', '.');
    }

    /** The session API key to use: the configured one, or a new random one when none was set. */
    public Secret sessionApiKeyOrGenerate() {
        return sessionApiKey.orElseGet(() -> Secret.of(randomKey()));
    }

    /** A random key suitable for {@code X-Session-API-Key}. */
    public static String randomKey() {
        byte[] bytes = new byte[24];
        new SecureRandom().nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    @Override
    public String toString() {
        return "RuntimeConfig[type=" + type + ", sessionId=" + sessionId + ", workspace=" + workspace.orElse(null)
                + ", sandboxWorkspace=" + sandboxWorkspace + ", environment=" + environment.keySet()
                + ", actionTimeout=" + actionTimeout + ", startupTimeout=" + startupTimeout
                + ", noChangeTimeout=" + noChangeTimeout
                + ", sessionApiKey=" + (sessionApiKey.isPresent() ? Secret.REDACTED : "(generated)")
                + ", options=" + options.keySet() + ", backendConfig=" + backendConfig.orElse(null)
                + ", attachToExisting=" + attachToExisting + ", keepAlive=" + keepAlive + ", labels=" + labels + "]";
    }

    private static String requireText(String value, String name) {
        if (value == null || value.isBlank()) {
            throw new InvalidConfigException(name + " must not be blank");
        }
        return value;
    }

    private static Duration requirePositive(Duration value, String name) {
        if (value == null || value.isNegative() || value.isZero()) {
            throw new InvalidConfigException(name + " must be a positive duration, was " + value);
        }
        return value;
    }

    private static Duration seconds(String key, String value) {
        double seconds;
        try {
            seconds = Double.parseDouble(value.trim());
        } catch (NumberFormatException e) {
            throw new InvalidConfigException(key + " must be a positive number of seconds, was '" + value + "'");
        }
        if (!Double.isFinite(seconds) || seconds <= 0) {
            throw new InvalidConfigException(key + " must be a positive number of seconds, was '" + value + "'");
        }
        return Duration.ofMillis(Math.max(1, Math.round(seconds * 1000)));
    }

    /** Builds a {@link RuntimeConfig}; every setter returns the builder. */
    public static final class Builder {
        private String type = DEFAULT_TYPE;
        private String sessionId;
        private Path workspace;
        private String sandboxWorkspace = "/workspace";
        private Map<String, String> environment = new LinkedHashMap<>();
        private Duration actionTimeout = DEFAULT_ACTION_TIMEOUT;
        private Duration startupTimeout = DEFAULT_STARTUP_TIMEOUT;
        private Duration noChangeTimeout = DEFAULT_NO_CHANGE_TIMEOUT;
        private Secret sessionApiKey;
        private Map<String, String> options = new LinkedHashMap<>();
        private BackendConfig backendConfig;
        private StatusListener statusListener = StatusListener.NONE;
        private boolean attachToExisting;
        private boolean keepAlive;
        private Map<String, String> labels = new LinkedHashMap<>();

        private Builder() {
        }

        private Builder(RuntimeConfig c) {
            type = c.type;
            sessionId = c.sessionId;
            workspace = c.workspace.orElse(null);
            sandboxWorkspace = c.sandboxWorkspace;
            environment = new LinkedHashMap<>(c.environment);
            actionTimeout = c.actionTimeout;
            startupTimeout = c.startupTimeout;
            noChangeTimeout = c.noChangeTimeout;
            sessionApiKey = c.sessionApiKey.orElse(null);
            options = new LinkedHashMap<>(c.options);
            backendConfig = c.backendConfig.orElse(null);
            statusListener = c.statusListener;
            attachToExisting = c.attachToExisting;
            keepAlive = c.keepAlive;
            labels = new LinkedHashMap<>(c.labels);
        }

        public Builder type(String value) {
            this.type = value;
            return this;
        }

        public Builder sessionId(String value) {
            this.sessionId = value;
            return this;
        }

        public Builder workspace(Path value) {
            this.workspace = value;
            return this;
        }

        public Builder sandboxWorkspace(String value) {
            this.sandboxWorkspace = value;
            return this;
        }

        public Builder environment(Map<String, String> value) {
            this.environment = new LinkedHashMap<>(value);
            return this;
        }

        public Builder env(String name, String value) {
            this.environment.put(name, value);
            return this;
        }

        public Builder actionTimeout(Duration value) {
            this.actionTimeout = value;
            return this;
        }

        public Builder startupTimeout(Duration value) {
            this.startupTimeout = value;
            return this;
        }

        public Builder noChangeTimeout(Duration value) {
            this.noChangeTimeout = value;
            return this;
        }

        /** The server's key; {@code null} (the default) has one generated. An empty key is refused. */
        public Builder sessionApiKey(Secret value) {
            this.sessionApiKey = value;
            return this;
        }

        /** Like {@link #sessionApiKey(Secret)}, from a plain string. */
        public Builder sessionApiKey(String value) {
            this.sessionApiKey = value == null ? null : Secret.of(value);
            return this;
        }

        public Builder options(Map<String, String> value) {
            this.options = new LinkedHashMap<>(value);
            return this;
        }

        public Builder option(String key, String value) {
            this.options.put(key, value);
            return this;
        }

        public Builder backendConfig(BackendConfig value) {
            this.backendConfig = value;
            return this;
        }

        public Builder statusListener(StatusListener value) {
            this.statusListener = value;
            return this;
        }

        public Builder attachToExisting(boolean value) {
            this.attachToExisting = value;
            return this;
        }

        public Builder keepAlive(boolean value) {
            this.keepAlive = value;
            return this;
        }

        /** Replaces the caller's labels. */
        public Builder labels(Map<String, String> value) {
            this.labels = new LinkedHashMap<>(value);
            return this;
        }

        /** Adds one of the caller's labels. */
        public Builder label(String key, String value) {
            this.labels.put(key, value);
            return this;
        }

        public RuntimeConfig build() {
            String id = sessionId != null ? sessionId : "ar-" + randomKey().substring(0, 12);
            return new RuntimeConfig(type, id, Optional.ofNullable(workspace), sandboxWorkspace, environment,
                    actionTimeout, startupTimeout, noChangeTimeout, Optional.ofNullable(sessionApiKey), options,
                    Optional.ofNullable(backendConfig), statusListener, attachToExisting, keepAlive, labels);
        }
    }
}
