package dev.agentruntime.gateway;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.Secret;
import dev.agentruntime.spi.Options;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The gateway's settings: a Java properties file (see {@code runtime-gateway/gateway.properties.example}), each key
 * overridable by an environment variable {@code AGENT_RUNTIME_GATEWAY_<KEY>} (upper case, {@code .} and {@code -}
 * as {@code _}: {@code key.alice.max-sessions} is {@code AGENT_RUNTIME_GATEWAY_KEY_ALICE_MAX_SESSIONS}). Keys are
 * read like backend options: {@code -}, {@code _} and case are ignored; durations and sizes use the library's one
 * syntax ({@code 90s}, {@code 30m}, {@code 2g}); unknown keys are refused with the valid ones listed.
 *
 * @param host             listen address ({@code listen.host}, default {@code 0.0.0.0})
 * @param port             listen port ({@code listen.port}, default 3000; 0 picks a free one)
 * @param publicUrl        the URL clients reach the gateway at ({@code public.url}); runtime URLs are built on it;
 *                         empty: from each request's {@code Host} header
 * @param secret           signs runtime ids and per-session keys ({@code secret}); the same on every replica
 * @param backendType      the runtime type sandboxes are made with ({@code backend.type}, default {@code docker})
 * @param backendOptions   string options for that backend ({@code backend.option.<key>})
 * @param idleOption       the backend option that takes a sandbox server's own idle timeout, set to the key's idle
 *                         timeout as a safety net when no gateway runs ({@code backend.idle-option}, default
 *                         {@code idle.timeout}; empty: not set)
 * @param defaultImage     the image of a start that names none ({@code sandbox.image}; empty: the backend's default)
 * @param cpus             CPUs of a {@code resource_factor} 1 sandbox ({@code sandbox.cpus}), scaled by the factor
 * @param memoryBytes      memory of a {@code resource_factor} 1 sandbox ({@code sandbox.memory}), scaled too
 * @param startupTimeout   how long a start may take ({@code sandbox.startup-timeout}, default 3 min)
 * @param runtimeClasses   {@code runtime_class} values offered, each mapped to the backend's
 *                         {@code container.runtime} ({@code runtime.classes=sysbox-runc:sysbox-runc,gvisor:runsc})
 * @param keys             the API keys ({@code key.<name>.secret}, {@code .max-sessions}, {@code .idle-timeout})
 * @param quotaRetryAfter  the {@code Retry-After} of an over-quota answer ({@code quota.retry-after}, default 30 s)
 * @param reapInterval     how often idle sessions are looked for ({@code reap.interval}, default 30 s)
 * @param proxyIdleTimeout how long a proxied exchange may be silent ({@code proxy.idle-timeout}, default 1 h):
 *                         longer than the longest action
 * @param registryPrefix   what {@code GET /registry_prefix} answers ({@code registry.prefix}, default {@code local})
 */
public record GatewayConfig(String host, int port, Optional<URI> publicUrl, Secret secret, String backendType,
                            Map<String, String> backendOptions, Optional<String> idleOption,
                            Optional<String> defaultImage, OptionalDouble cpus, OptionalLong memoryBytes,
                            Duration startupTimeout, Map<String, String> runtimeClasses, List<ApiKey> keys,
                            Duration quotaRetryAfter, Duration reapInterval, Duration proxyIdleTimeout,
                            String registryPrefix) {

    /** The prefix of environment variables that override the file. */
    public static final String ENV_PREFIX = "AGENT_RUNTIME_GATEWAY_";
    /** The environment variable naming the config file, when no {@code --config} is given. */
    public static final String ENV_CONFIG_FILE = "AGENT_RUNTIME_GATEWAY_CONFIG";

    private static final Set<String> KEYS = Set.of("listen.host", "listen.port", "public.url", "secret",
            "backend.type", "backend.idle.option", "sandbox.image", "sandbox.cpus", "sandbox.memory",
            "sandbox.startup.timeout", "runtime.classes", "quota.retry.after", "reap.interval", "proxy.idle.timeout",
            "registry.prefix");
    private static final String KEY_NAME = "[a-z0-9]{1,40}";

    /**
     * One tenant: an API key, a name (in logs, metrics and sandbox labels; never the key), a session limit and an idle
     * timeout after which its unused sessions are reaped.
     */
    public record ApiKey(String name, Secret key, int maxSessions, Duration idleTimeout) {
        public ApiKey {
            Objects.requireNonNull(name, "name");
            if (!name.matches(KEY_NAME)) {
                throw new InvalidConfigException("API key name '" + name + "' must be 1-40 lower-case letters or"
                        + " digits (it labels sandboxes and names environment variables)");
            }
            if (key == null) {
                throw new InvalidConfigException("API key " + name + " has no secret: set key." + name + ".secret"
                        + " (or " + ENV_PREFIX + "KEY_" + name.toUpperCase(Locale.ROOT) + "_SECRET)");
            }
            if (maxSessions < 1) {
                throw new InvalidConfigException("key." + name + ".max-sessions must be at least 1, was "
                        + maxSessions);
            }
            Objects.requireNonNull(idleTimeout, "idleTimeout");
            if (idleTimeout.compareTo(Duration.ofSeconds(10)) < 0) {
                throw new InvalidConfigException("key." + name + ".idle-timeout must be at least 10s, was "
                        + idleTimeout);
            }
        }
    }

    public GatewayConfig {
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > 65535) {
            throw new InvalidConfigException("listen.port must be 0-65535, was " + port);
        }
        publicUrl = publicUrl == null ? Optional.empty() : publicUrl.map(GatewayConfig::checkedPublicUrl);
        if (secret == null) {
            throw new InvalidConfigException("The gateway needs a secret (secret, or " + ENV_PREFIX + "SECRET): it"
                    + " signs runtime ids and session keys, and every replica must share it. Use 32 or more random"
                    + " characters, e.g. from 'openssl rand -hex 32'.");
        }
        if (secret.reveal().length() < 32) {
            throw new InvalidConfigException("The gateway's secret must have at least 32 characters");
        }
        Objects.requireNonNull(backendType, "backendType");
        backendOptions = Map.copyOf(Objects.requireNonNullElse(backendOptions, Map.of()));
        idleOption = idleOption == null ? Optional.empty() : idleOption.filter(o -> !o.isBlank());
        defaultImage = defaultImage == null ? Optional.empty() : defaultImage.filter(i -> !i.isBlank());
        cpus = cpus == null ? OptionalDouble.empty() : cpus;
        memoryBytes = memoryBytes == null ? OptionalLong.empty() : memoryBytes;
        requirePositive(startupTimeout, "sandbox.startup-timeout");
        runtimeClasses = Map.copyOf(Objects.requireNonNullElse(runtimeClasses, Map.of()));
        keys = List.copyOf(Objects.requireNonNullElse(keys, List.of()));
        if (keys.isEmpty()) {
            throw new InvalidConfigException("The gateway has no API keys: add key.<name>.secret (and optionally"
                    + " key.<name>.max-sessions, key.<name>.idle-timeout)");
        }
        Set<String> names = new TreeSet<>();
        for (ApiKey key : keys) {
            if (!names.add(key.name())) {
                throw new InvalidConfigException("API key name " + key.name() + " is given twice");
            }
        }
        for (int i = 0; i < keys.size(); i++) {
            for (int j = i + 1; j < keys.size(); j++) {
                if (keys.get(i).key().equals(keys.get(j).key())) {
                    throw new InvalidConfigException("API keys " + keys.get(i).name() + " and " + keys.get(j).name()
                            + " have the same secret");
                }
            }
        }
        requirePositive(quotaRetryAfter, "quota.retry-after");
        requirePositive(reapInterval, "reap.interval");
        requirePositive(proxyIdleTimeout, "proxy.idle-timeout");
        Objects.requireNonNull(registryPrefix, "registryPrefix");
    }

    private static URI checkedPublicUrl(URI url) {
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || url.getHost() == null || url.getRawQuery() != null) {
            throw new InvalidConfigException("public.url must be http(s)://host[:port][/path], was " + url);
        }
        String text = url.toString();
        return URI.create(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
    }

    private static void requirePositive(Duration value, String key) {
        if (value == null || value.isZero() || value.isNegative()) {
            throw new InvalidConfigException(key + " must be a positive duration, was " + value);
        }
    }

    /** The key of the given name. */
    public Optional<ApiKey> key(String name) {
        return keys.stream().filter(k -> k.name().equals(name)).findFirst();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Reads {@code file} (when given) and then the {@code AGENT_RUNTIME_GATEWAY_*} variables of {@code environment},
     * which win.
     */
    public static GatewayConfig load(Optional<Path> file, Map<String, String> environment) {
        Map<String, String> values = new TreeMap<>();
        if (file.isPresent()) {
            Properties properties = new Properties();
            try (Reader in = Files.newBufferedReader(file.get(), StandardCharsets.UTF_8)) {
                properties.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read the gateway config " + file.get(), e);
            }
            properties.stringPropertyNames().forEach(k -> values.put(Options.normalizeKey(k),
                    properties.getProperty(k).strip()));
        }
        environment.forEach((name, value) -> {
            if (name.startsWith(ENV_PREFIX) && !name.equals(ENV_CONFIG_FILE) && name.length() > ENV_PREFIX.length()) {
                values.put(Options.normalizeKey(name.substring(ENV_PREFIX.length())), value.strip());
            }
        });
        return fromProperties(values);
    }

    /** From properties whose keys are already in the {@link Options#normalizeKey normalized} form. */
    public static GatewayConfig fromProperties(Map<String, String> values) {
        Map<String, String> plain = new LinkedHashMap<>();
        Map<String, String> backend = new LinkedHashMap<>();
        Map<String, Map<String, String>> keys = new TreeMap<>();
        Set<String> unknown = new TreeSet<>();
        values.forEach((key, value) -> {
            if (key.startsWith("backend.option.") && key.length() > "backend.option.".length()) {
                backend.put(key.substring("backend.option.".length()), value);
            } else if (key.startsWith("key.")) {
                String[] parts = key.split("\\.", 3);
                if (parts.length == 3 && Set.of("secret", "max.sessions", "idle.timeout").contains(parts[2])) {
                    keys.computeIfAbsent(parts[1], n -> new LinkedHashMap<>()).put(parts[2], value);
                } else {
                    unknown.add(key);
                }
            } else if (KEYS.contains(key)) {
                plain.put(key, value);
            } else {
                unknown.add(key);
            }
        });
        if (!unknown.isEmpty()) {
            throw new InvalidConfigException("Unknown gateway setting(s) " + unknown + ". Valid: " + new TreeSet<>(KEYS)
                    + ", backend.option.<key>, key.<name>.secret, key.<name>.max-sessions, key.<name>.idle-timeout");
        }
        Options o = Options.of("gateway", plain, KEYS);
        Builder b = builder();
        o.string("listen.host").ifPresent(b::host);
        o.integer("listen.port").ifPresent(b::port);
        o.uri("public.url").ifPresent(b::publicUrl);
        b.secret = o.secret("secret").orElse(null);
        o.string("backend.type").ifPresent(b::backendType);
        b.backendOptions(backend);
        o.string("backend.idle.option").ifPresent(v -> b.idleOption(v.isBlank() ? null : v));
        o.string("sandbox.image").ifPresent(b::defaultImage);
        o.decimal("sandbox.cpus").ifPresent(b::cpus);
        o.bytes("sandbox.memory").ifPresent(b::memoryBytes);
        o.duration("sandbox.startup.timeout").ifPresent(b::startupTimeout);
        Map<String, String> classes = new LinkedHashMap<>();
        for (String entry : o.list("runtime.classes")) {
            int colon = entry.indexOf(':');
            if (colon <= 0 || colon == entry.length() - 1) {
                throw new InvalidConfigException("runtime.classes entries look like sysbox-runc:sysbox-runc"
                        + " (runtime_class:backend runtime), was '" + entry + "'");
            }
            classes.put(entry.substring(0, colon).strip(), entry.substring(colon + 1).strip());
        }
        b.runtimeClasses(classes);
        o.duration("quota.retry.after").ifPresent(b::quotaRetryAfter);
        o.duration("reap.interval").ifPresent(b::reapInterval);
        o.duration("proxy.idle.timeout").ifPresent(b::proxyIdleTimeout);
        o.string("registry.prefix").ifPresent(b::registryPrefix);
        List<ApiKey> apiKeys = new ArrayList<>();
        keys.forEach((name, settings) -> {
            Options k = Options.of("gateway key " + name, settings, Set.of("secret", "max.sessions", "idle.timeout"));
            apiKeys.add(new ApiKey(name, k.secret("secret").orElse(null), k.integer("max.sessions").orElse(10),
                    k.duration("idle.timeout").orElse(Duration.ofMinutes(30))));
        });
        b.keys(apiKeys);
        return b.build();
    }

    @Override
    public String toString() {
        return "GatewayConfig[listen=" + host + ":" + port + ", publicUrl=" + publicUrl.orElse(null)
                + ", backend=" + backendType + " " + backendOptions.keySet() + ", keys="
                + keys.stream().map(k -> k.name() + "(max " + k.maxSessions() + ", idle " + k.idleTimeout() + ")")
                .toList() + ", secret=" + Secret.REDACTED + "]";
    }

    /** Builds a {@link GatewayConfig}. */
    public static final class Builder {
        private String host = "0.0.0.0";
        private int port = 3000;
        private URI publicUrl;
        private Secret secret;
        private String backendType = "docker";
        private Map<String, String> backendOptions = new LinkedHashMap<>();
        private String idleOption = "idle.timeout";
        private String defaultImage;
        private Double cpus;
        private Long memoryBytes;
        private Duration startupTimeout = Duration.ofMinutes(3);
        private Map<String, String> runtimeClasses = new LinkedHashMap<>();
        private List<ApiKey> keys = new ArrayList<>();
        private Duration quotaRetryAfter = Duration.ofSeconds(30);
        private Duration reapInterval = Duration.ofSeconds(30);
        private Duration proxyIdleTimeout = Duration.ofHours(1);
        private String registryPrefix = "local";

        private Builder() {
        }

        private Builder(GatewayConfig c) {
            host = c.host;
            port = c.port;
            publicUrl = c.publicUrl.orElse(null);
            secret = c.secret;
            backendType = c.backendType;
            backendOptions = new LinkedHashMap<>(c.backendOptions);
            idleOption = c.idleOption.orElse(null);
            defaultImage = c.defaultImage.orElse(null);
            cpus = c.cpus.isPresent() ? c.cpus.getAsDouble() : null;
            memoryBytes = c.memoryBytes.isPresent() ? c.memoryBytes.getAsLong() : null;
            startupTimeout = c.startupTimeout;
            runtimeClasses = new LinkedHashMap<>(c.runtimeClasses);
            keys = new ArrayList<>(c.keys);
            quotaRetryAfter = c.quotaRetryAfter;
            reapInterval = c.reapInterval;
            proxyIdleTimeout = c.proxyIdleTimeout;
            registryPrefix = c.registryPrefix;
        }

        public Builder host(String value) {
            this.host = value;
            return this;
        }

        public Builder port(int value) {
            this.port = value;
            return this;
        }

        public Builder publicUrl(URI value) {
            this.publicUrl = value;
            return this;
        }

        public Builder secret(String value) {
            this.secret = Secret.of(value);
            return this;
        }

        public Builder backendType(String value) {
            this.backendType = value;
            return this;
        }

        public Builder backendOptions(Map<String, String> value) {
            this.backendOptions = new LinkedHashMap<>(value);
            return this;
        }

        public Builder backendOption(String key, String value) {
            this.backendOptions.put(key, value);
            return this;
        }

        public Builder idleOption(String value) {
            this.idleOption = value;
            return this;
        }

        public Builder defaultImage(String value) {
            this.defaultImage = value;
            return this;
        }

        public Builder cpus(double value) {
            this.cpus = value;
            return this;
        }

        public Builder memoryBytes(long value) {
            this.memoryBytes = value;
            return this;
        }

        public Builder startupTimeout(Duration value) {
            this.startupTimeout = value;
            return this;
        }

        public Builder runtimeClasses(Map<String, String> value) {
            this.runtimeClasses = new LinkedHashMap<>(value);
            return this;
        }

        public Builder keys(List<ApiKey> value) {
            this.keys = new ArrayList<>(value);
            return this;
        }

        public Builder key(String name, String secretValue, int maxSessions, Duration idleTimeout) {
            this.keys.add(new ApiKey(name, Secret.of(secretValue), maxSessions, idleTimeout));
            return this;
        }

        public Builder quotaRetryAfter(Duration value) {
            this.quotaRetryAfter = value;
            return this;
        }

        public Builder reapInterval(Duration value) {
            this.reapInterval = value;
            return this;
        }

        public Builder proxyIdleTimeout(Duration value) {
            this.proxyIdleTimeout = value;
            return this;
        }

        public Builder registryPrefix(String value) {
            this.registryPrefix = value;
            return this;
        }

        public GatewayConfig build() {
            return new GatewayConfig(host, port, Optional.ofNullable(publicUrl), secret, backendType, backendOptions,
                    Optional.ofNullable(idleOption), Optional.ofNullable(defaultImage),
                    cpus == null ? OptionalDouble.empty() : OptionalDouble.of(cpus),
                    memoryBytes == null ? OptionalLong.empty() : OptionalLong.of(memoryBytes), startupTimeout,
                    runtimeClasses, keys, quotaRetryAfter, reapInterval, proxyIdleTimeout, registryPrefix);
        }
    }
}
