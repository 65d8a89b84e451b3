package dev.agentruntime.modal;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import dev.agentruntime.spi.BackendConfig;
import dev.agentruntime.spi.Options;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Settings of the Modal backend. Immutable; build with {@link #builder()}, or give string options ({@link Options}
 * syntax; {@link ModalRuntimeProvider#optionsFromEnvironment} fills them from {@code MODAL_*} variables and
 * {@code ~/.modal.toml}):
 *
 * <table>
 *   <caption>options</caption>
 *   <tr><th>option</th><th>environment</th><th>meaning</th></tr>
 *   <tr><td>{@code token.id}, {@code token.secret}</td><td>{@code MODAL_TOKEN_ID}, {@code MODAL_TOKEN_SECRET}</td>
 *       <td>the workspace token ({@code ak-…}, {@code as-…}); required</td></tr>
 *   <tr><td>{@code environment}</td><td>{@code MODAL_ENVIRONMENT}</td><td>the Modal environment; omitted: the
 *       workspace's default</td></tr>
 *   <tr><td>{@code server.url}</td><td>{@code MODAL_SERVER_URL}</td><td>the API, default
 *       {@code https://api.modal.com:443}; {@code http://} only for a local Modal</td></tr>
 *   <tr><td>{@code app.name}</td><td>—</td><td>the app sandboxes are created in (get-or-create), default
 *       {@code agent-runtime}</td></tr>
 *   <tr><td>{@code image}</td><td>—</td><td>a registry reference, default {@code debian:bookworm-slim}</td></tr>
 *   <tr><td>{@code dockerfile}</td><td>—</td><td>a Dockerfile whose lines are the image recipe (instead of
 *       {@code image})</td></tr>
 *   <tr><td>{@code cpu}, {@code memory}</td><td>—</td><td>requested cores ({@code 0.5}) and memory ({@code 2g})</td></tr>
 *   <tr><td>{@code timeout}</td><td>—</td><td>the sandbox's fixed lifetime, default 1 h, at most 24 h</td></tr>
 *   <tr><td>{@code idle.timeout}</td><td>—</td><td>Modal ends the sandbox after this long without activity</td></tr>
 *   <tr><td>{@code workdir}</td><td>—</td><td>the sandbox's working directory (absolute)</td></tr>
 *   <tr><td>{@code server.port}</td><td>—</td><td>our server's port inside the sandbox, default 49999</td></tr>
 *   <tr><td>{@code ports}</td><td>—</td><td>application ports to open as encrypted tunnels (web hosts)</td></tr>
 *   <tr><td>{@code tls.ca}</td><td>—</td><td>a PEM file of certificates to trust instead of the JDK's (a private
 *       Modal endpoint)</td></tr>
 *   <tr><td>{@code builder.version}</td><td>{@code MODAL_IMAGE_BUILDER_VERSION}</td><td>default {@code 2024.10}</td></tr>
 *   <tr><td>{@code call.timeout}</td><td>—</td><td>deadline of one API call, default 60 s</td></tr>
 * </table>
 */
public record ModalConfig(Secret tokenId, Secret tokenSecret, Optional<String> environment, URI serverUrl,
                          String appName, String image, List<String> dockerfileCommands, Optional<Double> cpu,
                          Optional<Long> memoryBytes, Duration timeout, Optional<Duration> idleTimeout,
                          Optional<String> workdir, int serverPort, List<Integer> ports,
                          Optional<Path> trustedCertificates, String builderVersion, Duration callTimeout)
        implements BackendConfig {

    public static final Set<String> OPTION_KEYS = Set.of("token.id", "token.secret", "environment", "server.url",
            "app.name", "image", "dockerfile", "cpu", "memory", "timeout", "idle.timeout", "workdir", "server.port",
            "ports", "tls.ca", "builder.version", "call.timeout");
    public static final URI DEFAULT_SERVER_URL = URI.create("https://api.modal.com:443");
    public static final String DEFAULT_IMAGE = "debian:bookworm-slim";
    public static final String DEFAULT_APP_NAME = "agent-runtime";
    public static final Duration DEFAULT_TIMEOUT = Duration.ofHours(1);
    /** Modal's longest sandbox lifetime. */
    public static final Duration MAX_TIMEOUT = Duration.ofHours(24);
    public static final int DEFAULT_SERVER_PORT = 49999;
    public static final String DEFAULT_BUILDER_VERSION = "2024.10";

    public ModalConfig {
        if (tokenId == null || tokenSecret == null) {
            throw new InvalidConfigException("The Modal backend needs a token: set MODAL_TOKEN_ID and"
                    + " MODAL_TOKEN_SECRET (or token.id / token.secret, or run 'modal token new' for ~/.modal.toml)");
        }
        environment = Objects.requireNonNullElse(environment, Optional.<String>empty()).filter(e -> !e.isBlank());
        serverUrl = Objects.requireNonNullElse(serverUrl, DEFAULT_SERVER_URL);
        String scheme = serverUrl.getScheme() == null ? "" : serverUrl.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http") || serverUrl.getHost() == null) {
            throw new InvalidConfigException("MODAL_SERVER_URL must be https://host[:port] (http:// only for a local"
                    + " Modal), was " + serverUrl);
        }
        appName = Objects.requireNonNullElse(appName, DEFAULT_APP_NAME);
        if (appName.isBlank()) {
            throw new InvalidConfigException("app.name must not be blank");
        }
        image = Objects.requireNonNullElse(image, DEFAULT_IMAGE).strip();
        dockerfileCommands = List.copyOf(Objects.requireNonNullElse(dockerfileCommands, List.of()));
        if (!dockerfileCommands.isEmpty() && !dockerfileCommands.get(0).strip().toUpperCase(Locale.ROOT)
                .startsWith("FROM ")) {
            throw new InvalidConfigException("A Modal image recipe starts with 'FROM <image>', was '"
                    + dockerfileCommands.get(0) + "'");
        }
        cpu = Objects.requireNonNullElse(cpu, Optional.<Double>empty());
        cpu.ifPresent(c -> {
            if (!(c > 0) || c > 64) {
                throw new InvalidConfigException("cpu must be between 0 and 64 cores, was " + c);
            }
        });
        memoryBytes = Objects.requireNonNullElse(memoryBytes, Optional.<Long>empty());
        memoryBytes.ifPresent(m -> {
            if (m < 1024 * 1024) {
                throw new InvalidConfigException("memory must be at least 1 MiB, was " + m + " bytes");
            }
        });
        timeout = Objects.requireNonNullElse(timeout, DEFAULT_TIMEOUT);
        if (timeout.toSeconds() < 1 || timeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new InvalidConfigException("timeout must be between 1 s and 24 h (Modal's limit), was " + timeout);
        }
        idleTimeout = Objects.requireNonNullElse(idleTimeout, Optional.<Duration>empty());
        idleTimeout.ifPresent(idle -> {
            if (idle.toSeconds() < 1) {
                throw new InvalidConfigException("idle.timeout must be at least 1 s, was " + idle);
            }
        });
        workdir = Objects.requireNonNullElse(workdir, Optional.<String>empty()).filter(w -> !w.isBlank());
        workdir.ifPresent(w -> {
            if (!w.startsWith("/")) {
                throw new InvalidConfigException("workdir must be an absolute path, was '" + w + "'");
            }
        });
        if (serverPort < 1 || serverPort > 65535) {
            throw new InvalidConfigException("server.port must be 1..65535, was " + serverPort);
        }
        ports = List.copyOf(Objects.requireNonNullElse(ports, List.of()));
        for (int port : ports) {
            if (port < 1 || port > 65535 || port == serverPort) {
                throw new InvalidConfigException("ports must be 1..65535 and not the server's port " + serverPort
                        + ", was " + port);
            }
        }
        trustedCertificates = Objects.requireNonNullElse(trustedCertificates, Optional.<Path>empty());
        builderVersion = Objects.requireNonNullElse(builderVersion, DEFAULT_BUILDER_VERSION);
        callTimeout = Objects.requireNonNullElse(callTimeout, Duration.ofSeconds(60));
        if (callTimeout.isNegative() || callTimeout.isZero()) {
            throw new InvalidConfigException("call.timeout must be positive, was " + callTimeout);
        }
    }

    /** Whether the API is spoken in plain text (a local Modal only). */
    public boolean plaintext() {
        return "http".equalsIgnoreCase(serverUrl.getScheme());
    }

    /** The image recipe sent to {@code ImageGetOrCreate}: the Dockerfile lines, or {@code FROM <image>}. */
    public List<String> imageRecipe() {
        return dockerfileCommands.isEmpty() ? List.of("FROM " + image) : dockerfileCommands;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** The typed config of a {@link RuntimeConfig}: its backend config if it is ours, else its options converted. */
    public static ModalConfig from(RuntimeConfig config) {
        return Options.typedConfig(config, ModalConfig.class, OPTION_KEYS, ModalConfig::fromOptions);
    }

    /** Converts string options (see the class comment for the keys). */
    public static ModalConfig fromOptions(Options o) {
        Builder b = builder();
        b.tokenId = o.secret("token.id").orElse(null);
        b.tokenSecret = o.secret("token.secret").orElse(null);
        o.string("environment").ifPresent(b::environment);
        o.uri("server.url").ifPresent(b::serverUrl);
        o.string("app.name").ifPresent(b::appName);
        o.string("image").ifPresent(b::image);
        o.path("dockerfile").ifPresent(b::dockerfile);
        o.decimal("cpu").ifPresent(b::cpu);
        o.bytes("memory").ifPresent(b::memoryBytes);
        o.duration("timeout").ifPresent(b::timeout);
        o.duration("idle.timeout").ifPresent(b::idleTimeout);
        o.string("workdir").ifPresent(b::workdir);
        o.integer("server.port").ifPresent(b::serverPort);
        List<Integer> ports = new ArrayList<>();
        for (String port : o.list("ports")) {
            try {
                ports.add(Integer.parseInt(port.strip()));
            } catch (NumberFormatException e) {
                throw new InvalidConfigException("ports must be a list of port numbers, got '" + port + "'");
            }
        }
        b.ports(ports);
        o.path("tls.ca").ifPresent(b::trustedCertificates);
        o.string("builder.version").ifPresent(b::builderVersion);
        o.duration("call.timeout").ifPresent(b::callTimeout);
        return b.build();
    }

    /** Builds a {@link ModalConfig}. */
    public static final class Builder {
        private Secret tokenId;
        private Secret tokenSecret;
        private String environment;
        private URI serverUrl = DEFAULT_SERVER_URL;
        private String appName = DEFAULT_APP_NAME;
        private String image = DEFAULT_IMAGE;
        private List<String> dockerfileCommands = List.of();
        private Double cpu;
        private Long memoryBytes;
        private Duration timeout = DEFAULT_TIMEOUT;
        private Duration idleTimeout;
        private String workdir;
        private int serverPort = DEFAULT_SERVER_PORT;
        private List<Integer> ports = List.of();
        private Path trustedCertificates;
        private String builderVersion = DEFAULT_BUILDER_VERSION;
        private Duration callTimeout = Duration.ofSeconds(60);

        private Builder() {
        }

        private Builder(ModalConfig c) {
            tokenId = c.tokenId;
            tokenSecret = c.tokenSecret;
            environment = c.environment.orElse(null);
            serverUrl = c.serverUrl;
            appName = c.appName;
            image = c.image;
            dockerfileCommands = c.dockerfileCommands;
            cpu = c.cpu.orElse(null);
            memoryBytes = c.memoryBytes.orElse(null);
            timeout = c.timeout;
            idleTimeout = c.idleTimeout.orElse(null);
            workdir = c.workdir.orElse(null);
            serverPort = c.serverPort;
            ports = c.ports;
            trustedCertificates = c.trustedCertificates.orElse(null);
            builderVersion = c.builderVersion;
            callTimeout = c.callTimeout;
        }

        public Builder token(Secret id, Secret secret) {
            this.tokenId = id;
            this.tokenSecret = secret;
            return this;
        }

        public Builder environment(String value) {
            this.environment = value;
            return this;
        }

        public Builder serverUrl(URI value) {
            this.serverUrl = value;
            return this;
        }

        public Builder appName(String value) {
            this.appName = value;
            return this;
        }

        public Builder image(String value) {
            this.image = value;
            return this;
        }

        /** The image recipe as Dockerfile lines, the first one {@code FROM <image>}. */
        public Builder dockerfileCommands(List<String> value) {
            this.dockerfileCommands = value;
            return this;
        }

        /** Reads the recipe from a Dockerfile (comments and blank lines dropped, continuations joined). */
        public Builder dockerfile(Path file) {
            try {
                List<String> commands = new ArrayList<>();
                StringBuilder pending = new StringBuilder();
                for (String line : Files.readAllLines(file)) {
                    String stripped = line.strip();
                    if (pending.isEmpty() && (stripped.isEmpty() || stripped.startsWith("#"))) {
                        continue;
                    }
                    boolean continued = stripped.endsWith("\\");
                    String part = continued ? stripped.substring(0, stripped.length() - 1).strip() : stripped;
                    if (!pending.isEmpty() && !part.isEmpty()) {
                        pending.append(' ');
                    }
                    pending.append(part);
                    if (!continued) {
                        commands.add(pending.toString());
                        pending.setLength(0);
                    }
                }
                if (!pending.isEmpty()) {
                    commands.add(pending.toString().strip());
                }
                return dockerfileCommands(commands);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read the Dockerfile " + file + " for the Modal image", e);
            }
        }

        public Builder cpu(double cores) {
            this.cpu = cores;
            return this;
        }

        public Builder memoryBytes(long value) {
            this.memoryBytes = value;
            return this;
        }

        public Builder timeout(Duration value) {
            this.timeout = value;
            return this;
        }

        public Builder idleTimeout(Duration value) {
            this.idleTimeout = value;
            return this;
        }

        public Builder workdir(String value) {
            this.workdir = value;
            return this;
        }

        public Builder serverPort(int value) {
            this.serverPort = value;
            return this;
        }

        public Builder ports(List<Integer> value) {
            this.ports = value;
            return this;
        }

        public Builder trustedCertificates(Path pemFile) {
            this.trustedCertificates = pemFile;
            return this;
        }

        public Builder builderVersion(String value) {
            this.builderVersion = value;
            return this;
        }

        public Builder callTimeout(Duration value) {
            this.callTimeout = value;
            return this;
        }

        public ModalConfig build() {
            return new ModalConfig(tokenId, tokenSecret, Optional.ofNullable(environment), serverUrl, appName, image,
                    dockerfileCommands, Optional.ofNullable(cpu), Optional.ofNullable(memoryBytes), timeout,
                    Optional.ofNullable(idleTimeout), Optional.ofNullable(workdir), serverPort, ports,
                    Optional.ofNullable(trustedCertificates), builderVersion, callTimeout);
        }
    }
}
