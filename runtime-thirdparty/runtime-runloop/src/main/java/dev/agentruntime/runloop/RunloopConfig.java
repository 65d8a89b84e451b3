package dev.agentruntime.runloop;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import dev.agentruntime.spi.BackendConfig;
import dev.agentruntime.spi.Options;
import dev.agentruntime.spi.ServerLaunch;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The Runloop backend's settings. Immutable; build with {@link #builder()}, or from string options
 * ({@link #fromOptions(Options)}; {@code RUNLOOP_API_KEY} and {@code RUNLOOP_BASE_URL} become {@code api.key} and
 * {@code base.url} through {@link dev.agentruntime.RuntimeConfig#fromEnvironment()}).
 *
 * <pre>{@code
 * RunloopConfig runloop = RunloopConfig.builder()
 *         .apiKey(Secret.of(System.getenv("RUNLOOP_API_KEY")))
 *         .blueprintName("agent-runtime-server")      // a blueprint with the server baked in (see the README)
 *         .resourceSize(ResourceSize.MEDIUM)
 *         .idleTime(Duration.ofMinutes(15))
 *         .build();
 * try (Runtime sandbox = RuntimeFactory.connect(RuntimeConfig.builder().type("runloop").backendConfig(runloop).build())) {
 *     sandbox.run("uname -a");
 * }
 * }</pre>
 *
 * @param apiKey          the API key ({@code Authorization: Bearer}); required
 * @param baseUrl         the API ({@value #DEFAULT_BASE_URL}); every path is below {@code /v1}
 * @param blueprintId     create from this blueprint (at most one of blueprint id, blueprint name, snapshot id);
 *                        none: Runloop's default image, and our server is uploaded
 * @param blueprintName   create from the newest blueprint of this name
 * @param snapshotId      create from this disk snapshot
 * @param environment     the devbox's environment variables ({@code environment_variables}); the shell's own
 *                        variables are {@link RuntimeConfig#environment()}
 * @param resourceSize    the devbox size; empty: Runloop's default
 * @param customCpuCores  with {@link ResourceSize#CUSTOM_SIZE}: cores
 * @param customMemoryGb  with {@link ResourceSize#CUSTOM_SIZE}: memory in GiB
 * @param customDiskGb    with {@link ResourceSize#CUSTOM_SIZE}: disk in GiB
 * @param keepAliveTime   the devbox's lifetime ({@code keep_alive_time_seconds}, at most 48 h); empty: Runloop's
 *                        default (1 h)
 * @param idleTime        idle this long, the devbox is shut down or suspended ({@code after_idle}); an open runtime
 *                        sends {@code keep_alive} at a third of it. {@link Duration#ZERO}: no idle rule
 * @param idleAction      what happens after {@code idleTime}; empty: shut down, or suspend for a keep-alive session
 * @param launchCommands  commands Runloop runs at devbox start ({@code launch_commands})
 * @param user            the devbox user ({@code user_parameters}); empty: Runloop's default
 * @param architecture    {@code x86_64} or {@code arm64}; empty: Runloop's default (the uploaded server's runtime is
 *                        this host's architecture: use a blueprint for another)
 * @param tunnelAuth      how the devbox's tunnel admits requests
 * @param tunnelDomain    tunnels are {@code https://{port}-{tunnel_key}.tunnel.{tunnelDomain}}; empty: the API host
 *                        without its {@code api.} (so {@code runloop.ai})
 * @param tunnelAddress   where tunnel requests are sent, with the tunnel's host name in {@code Host} (a local fake, a
 *                        forward proxy); empty: the tunnel host itself
 * @param serverPort      the port our server listens on in the devbox
 * @param installDir      where the server is unpacked when the devbox has none at
 *                        {@link dev.agentruntime.spi.ServerBundle#DEFAULT_INSTALL_DIR}
 */
public record RunloopConfig(
        Secret apiKey,
        URI baseUrl,
        Optional<String> blueprintId,
        Optional<String> blueprintName,
        Optional<String> snapshotId,
        Map<String, String> environment,
        Optional<ResourceSize> resourceSize,
        Optional<Integer> customCpuCores,
        Optional<Integer> customMemoryGb,
        Optional<Integer> customDiskGb,
        Optional<Duration> keepAliveTime,
        Duration idleTime,
        Optional<IdleAction> idleAction,
        List<String> launchCommands,
        Optional<ServerLaunch.User> user,
        Optional<String> architecture,
        TunnelAuth tunnelAuth,
        Optional<String> tunnelDomain,
        Optional<URI> tunnelAddress,
        int serverPort,
        String installDir) implements BackendConfig {

    public static final String DEFAULT_BASE_URL = "https://api.runloop.ai";
    public static final Duration DEFAULT_IDLE_TIME = Duration.ofMinutes(15);
    public static final Duration MAX_KEEP_ALIVE_TIME = Duration.ofHours(48);
    public static final int DEFAULT_SERVER_PORT = 49999;
    public static final String DEFAULT_INSTALL_DIR = "/tmp/agent-runtime/server";
    public static final String ENV_API_KEY = "RUNLOOP_API_KEY";
    public static final String ENV_BASE_URL = "RUNLOOP_BASE_URL";

    /** Option keys accepted by {@link #fromOptions(Options)}. */
    public static final Set<String> OPTION_KEYS = Set.of("api.key", "base.url", "blueprint.id", "blueprint.name",
            "snapshot.id", "resource.size", "custom.cpu.cores", "custom.memory.gb", "custom.disk.gb",
            "keep.alive.time", "idle.time", "idle.action", "launch.commands", "user", "architecture", "tunnel.auth",
            "tunnel.domain", "tunnel.address", "server.port", "install.dir");

    public RunloopConfig {
        if (apiKey == null) {
            throw new InvalidConfigException("A Runloop API key is required: set " + ENV_API_KEY
                    + " (option api.key) or RunloopConfig.builder().apiKey(...)");
        }
        baseUrl = Objects.requireNonNullElse(baseUrl, URI.create(DEFAULT_BASE_URL));
        requireHttpUrl("baseUrl (" + ENV_BASE_URL + ")", baseUrl);
        blueprintId = nonBlank("blueprintId", blueprintId);
        blueprintName = nonBlank("blueprintName", blueprintName);
        snapshotId = nonBlank("snapshotId", snapshotId);
        int sources = (blueprintId.isPresent() ? 1 : 0) + (blueprintName.isPresent() ? 1 : 0)
                + (snapshotId.isPresent() ? 1 : 0);
        if (sources > 1) {
            throw new InvalidConfigException("Give at most one of blueprintId, blueprintName and snapshotId (Runloop"
                    + " creates a devbox from one source), got " + sources);
        }
        environment = Map.copyOf(Objects.requireNonNullElse(environment, Map.of()));
        environment.keySet().forEach(name -> {
            if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new InvalidConfigException("devbox environment variable name '" + name + "' is not valid");
            }
        });
        resourceSize = Objects.requireNonNullElse(resourceSize, Optional.empty());
        customCpuCores = positive("customCpuCores", customCpuCores);
        customMemoryGb = positive("customMemoryGb", customMemoryGb);
        customDiskGb = positive("customDiskGb", customDiskGb);
        boolean custom = resourceSize.filter(ResourceSize.CUSTOM_SIZE::equals).isPresent();
        if (custom && (customCpuCores.isEmpty() || customMemoryGb.isEmpty())) {
            throw new InvalidConfigException("resourceSize CUSTOM_SIZE needs customCpuCores and customMemoryGb");
        }
        if (!custom && (customCpuCores.isPresent() || customMemoryGb.isPresent() || customDiskGb.isPresent())) {
            throw new InvalidConfigException("customCpuCores, customMemoryGb and customDiskGb apply only with"
                    + " resourceSize CUSTOM_SIZE, was " + resourceSize.map(Enum::name).orElse("unset"));
        }
        keepAliveTime = Objects.requireNonNullElse(keepAliveTime, Optional.empty());
        keepAliveTime.ifPresent(t -> {
            if (t.toSeconds() < 1 || t.compareTo(MAX_KEEP_ALIVE_TIME) > 0) {
                throw new InvalidConfigException("keepAliveTime must be between 1 s and 48 h (Runloop's maximum), was "
                        + t);
            }
        });
        idleTime = Objects.requireNonNullElse(idleTime, DEFAULT_IDLE_TIME);
        if (idleTime.isNegative() || !idleTime.isZero() && idleTime.toSeconds() < 30) {
            throw new InvalidConfigException("idleTime must be at least 30 s (or ZERO for no idle rule), was "
                    + idleTime);
        }
        idleAction = Objects.requireNonNullElse(idleAction, Optional.empty());
        launchCommands = List.copyOf(Objects.requireNonNullElse(launchCommands, List.of()));
        user = Objects.requireNonNullElse(user, Optional.empty());
        architecture = nonBlank("architecture", architecture);
        architecture.ifPresent(a -> {
            if (!a.equals("x86_64") && !a.equals("arm64")) {
                throw new InvalidConfigException("architecture must be x86_64 or arm64, was '" + a + "'");
            }
        });
        tunnelAuth = Objects.requireNonNullElse(tunnelAuth, TunnelAuth.AUTHENTICATED);
        tunnelDomain = nonBlank("tunnelDomain", tunnelDomain);
        tunnelAddress = Objects.requireNonNullElse(tunnelAddress, Optional.empty());
        tunnelAddress.ifPresent(a -> requireHttpUrl("tunnelAddress", a));
        if (serverPort < 1 || serverPort > 65535) {
            throw new InvalidConfigException("serverPort must be a TCP port, was " + serverPort);
        }
        if (installDir == null || !installDir.startsWith("/")) {
            throw new InvalidConfigException("installDir must be an absolute devbox path, was '" + installDir + "'");
        }
    }

    /** The config of {@code config}: its {@link RunloopConfig} backend config, or its string options. */
    public static RunloopConfig from(RuntimeConfig config) {
        return Options.typedConfig(config, RunloopConfig.class, OPTION_KEYS, RunloopConfig::fromOptions);
    }

    /**
     * The config from string options: {@code api.key}, {@code base.url}, {@code blueprint.id}, {@code blueprint.name},
     * {@code snapshot.id}, {@code resource.size} ({@code SMALL}, ...), {@code custom.cpu.cores},
     * {@code custom.memory.gb}, {@code custom.disk.gb}, {@code keep.alive.time}, {@code idle.time} (durations),
     * {@code idle.action} ({@code shutdown|suspend}), {@code launch.commands} (comma separated), {@code user}
     * ({@code name:uid}), {@code architecture}, {@code tunnel.auth} ({@code open|authenticated}), {@code tunnel.domain},
     * {@code tunnel.address}, {@code server.port}, {@code install.dir}.
     */
    public static RunloopConfig fromOptions(Options o) {
        Builder b = builder();
        o.secret("api.key").ifPresent(b::apiKey);
        o.uri("base.url").ifPresent(b::baseUrl);
        o.string("blueprint.id").ifPresent(b::blueprintId);
        o.string("blueprint.name").ifPresent(b::blueprintName);
        o.string("snapshot.id").ifPresent(b::snapshotId);
        o.parsed("resource.size", v -> ResourceSize.valueOf(v.toUpperCase(Locale.ROOT).replace('-', '_')),
                "one of X_SMALL, SMALL, MEDIUM, LARGE, X_LARGE, XX_LARGE, CUSTOM_SIZE").ifPresent(b::resourceSize);
        o.integer("custom.cpu.cores").ifPresent(b::customCpuCores);
        o.integer("custom.memory.gb").ifPresent(b::customMemoryGb);
        o.integer("custom.disk.gb").ifPresent(b::customDiskGb);
        o.duration("keep.alive.time").ifPresent(b::keepAliveTime);
        o.duration("idle.time").ifPresent(b::idleTime);
        o.parsed("idle.action", v -> IdleAction.valueOf(v.toUpperCase(Locale.ROOT)), "shutdown or suspend")
                .ifPresent(b::idleAction);
        b.launchCommands(o.list("launch.commands"));
        o.parsed("user", RunloopConfig::parseUser, "name:uid, e.g. user:1000").ifPresent(b::user);
        o.string("architecture").ifPresent(b::architecture);
        o.parsed("tunnel.auth", v -> TunnelAuth.valueOf(v.toUpperCase(Locale.ROOT)), "open or authenticated")
                .ifPresent(b::tunnelAuth);
        o.string("tunnel.domain").ifPresent(b::tunnelDomain);
        o.uri("tunnel.address").ifPresent(b::tunnelAddress);
        o.integer("server.port").ifPresent(b::serverPort);
        o.string("install.dir").ifPresent(b::installDir);
        return b.build();
    }

    /** The options {@code RUNLOOP_API_KEY} and {@code RUNLOOP_BASE_URL} give. */
    public static Map<String, String> optionsFromEnvironment(Map<String, String> env) {
        Map<String, String> options = new LinkedHashMap<>();
        Optional.ofNullable(env.get(ENV_API_KEY)).filter(v -> !v.isBlank()).ifPresent(v -> options.put("api.key", v));
        Optional.ofNullable(env.get(ENV_BASE_URL)).filter(v -> !v.isBlank()).ifPresent(v -> options.put("base.url", v));
        return options;
    }

    /** The idle action in effect: the configured one, else suspend for keep-alive sessions and shut down otherwise. */
    public IdleAction idleActionFor(boolean keepAlive) {
        return idleAction.orElse(keepAlive ? IdleAction.SUSPEND : IdleAction.SHUTDOWN);
    }

    /** The tunnels' domain: the configured one, else the API host without a leading {@code api.}. */
    public String effectiveTunnelDomain() {
        return tunnelDomain.orElseGet(() -> {
            String host = baseUrl.getHost();
            return host.startsWith("api.") ? host.substring(4) : host;
        });
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.apiKey = apiKey;
        b.baseUrl = baseUrl;
        b.blueprintId = blueprintId.orElse(null);
        b.blueprintName = blueprintName.orElse(null);
        b.snapshotId = snapshotId.orElse(null);
        b.environment.putAll(environment);
        b.resourceSize = resourceSize.orElse(null);
        b.customCpuCores = customCpuCores.orElse(null);
        b.customMemoryGb = customMemoryGb.orElse(null);
        b.customDiskGb = customDiskGb.orElse(null);
        b.keepAliveTime = keepAliveTime.orElse(null);
        b.idleTime = idleTime;
        b.idleAction = idleAction.orElse(null);
        b.launchCommands = launchCommands;
        b.user = user.orElse(null);
        b.architecture = architecture.orElse(null);
        b.tunnelAuth = tunnelAuth;
        b.tunnelDomain = tunnelDomain.orElse(null);
        b.tunnelAddress = tunnelAddress.orElse(null);
        b.serverPort = serverPort;
        b.installDir = installDir;
        return b;
    }

    private static ServerLaunch.User parseUser(String value) {
        int colon = value.indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("no uid");
        }
        return new ServerLaunch.User(value.substring(0, colon), Integer.parseInt(value.substring(colon + 1)));
    }

    private static void requireHttpUrl(String what, URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
            throw new InvalidConfigException(what + " must be an http(s) URL, was '" + uri + "'");
        }
    }

    private static Optional<String> nonBlank(String what, Optional<String> value) {
        value = Objects.requireNonNullElse(value, Optional.empty());
        if (value.isPresent() && value.get().isBlank()) {
            throw new InvalidConfigException(what + " must not be blank");
        }
        return value.map(String::strip);
    }

    private static Optional<Integer> positive(String what, Optional<Integer> value) {
        value = Objects.requireNonNullElse(value, Optional.empty());
        value.ifPresent(v -> {
            if (v < 1) {
                throw new InvalidConfigException(what + " must be positive, was " + v);
            }
        });
        return value;
    }

    /** Builds a {@link RunloopConfig}. */
    public static final class Builder {
        private Secret apiKey;
        private URI baseUrl;
        private String blueprintId;
        private String blueprintName;
        private String snapshotId;
        private final Map<String, String> environment = new LinkedHashMap<>();
        private ResourceSize resourceSize;
        private Integer customCpuCores;
        private Integer customMemoryGb;
        private Integer customDiskGb;
        private Duration keepAliveTime;
        private Duration idleTime = DEFAULT_IDLE_TIME;
        private IdleAction idleAction;
        private List<String> launchCommands = List.of();
        private ServerLaunch.User user;
        private String architecture;
        private TunnelAuth tunnelAuth = TunnelAuth.AUTHENTICATED;
        private String tunnelDomain;
        private URI tunnelAddress;
        private int serverPort = DEFAULT_SERVER_PORT;
        private String installDir = DEFAULT_INSTALL_DIR;

        private Builder() {
        }

        public Builder apiKey(Secret value) {
            this.apiKey = value;
            return this;
        }

        public Builder baseUrl(URI value) {
            this.baseUrl = value;
            return this;
        }

        public Builder blueprintId(String value) {
            this.blueprintId = value;
            return this;
        }

        public Builder blueprintName(String value) {
            this.blueprintName = value;
            return this;
        }

        public Builder snapshotId(String value) {
            this.snapshotId = value;
            return this;
        }

        public Builder env(String name, String value) {
            environment.put(name, value);
            return this;
        }

        public Builder resourceSize(ResourceSize value) {
            this.resourceSize = value;
            return this;
        }

        public Builder customCpuCores(int value) {
            this.customCpuCores = value;
            return this;
        }

        public Builder customMemoryGb(int value) {
            this.customMemoryGb = value;
            return this;
        }

        public Builder customDiskGb(int value) {
            this.customDiskGb = value;
            return this;
        }

        public Builder keepAliveTime(Duration value) {
            this.keepAliveTime = value;
            return this;
        }

        public Builder idleTime(Duration value) {
            this.idleTime = value;
            return this;
        }

        public Builder idleAction(IdleAction value) {
            this.idleAction = value;
            return this;
        }

        public Builder launchCommands(List<String> value) {
            this.launchCommands = value;
            return this;
        }

        public Builder user(ServerLaunch.User value) {
            this.user = value;
            return this;
        }

        public Builder architecture(String value) {
            this.architecture = value;
            return this;
        }

        public Builder tunnelAuth(TunnelAuth value) {
            this.tunnelAuth = value;
            return this;
        }

        public Builder tunnelDomain(String value) {
            this.tunnelDomain = value;
            return this;
        }

        public Builder tunnelAddress(URI value) {
            this.tunnelAddress = value;
            return this;
        }

        public Builder serverPort(int value) {
            this.serverPort = value;
            return this;
        }

        public Builder installDir(String value) {
            this.installDir = value;
            return this;
        }

        public RunloopConfig build() {
            return new RunloopConfig(apiKey, baseUrl, Optional.ofNullable(blueprintId),
                    Optional.ofNullable(blueprintName), Optional.ofNullable(snapshotId), environment,
                    Optional.ofNullable(resourceSize), Optional.ofNullable(customCpuCores),
                    Optional.ofNullable(customMemoryGb), Optional.ofNullable(customDiskGb),
                    Optional.ofNullable(keepAliveTime), idleTime, Optional.ofNullable(idleAction), launchCommands,
                    Optional.ofNullable(user), Optional.ofNullable(architecture), tunnelAuth,
                    Optional.ofNullable(tunnelDomain), Optional.ofNullable(tunnelAddress), serverPort, installDir);
        }
    }
}
