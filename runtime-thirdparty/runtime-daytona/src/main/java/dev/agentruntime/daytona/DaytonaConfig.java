package dev.agentruntime.daytona;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.Secret;
import dev.agentruntime.spi.BackendConfig;
import dev.agentruntime.spi.Options;
import dev.agentruntime.spi.ServerBundle;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The Daytona backend's settings: the account (an API key, or a JWT with its organization id), where sandboxes come
 * from (a snapshot, or a declarative image Daytona builds), their resources and Daytona's auto-stop / auto-archive /
 * auto-delete safety nets. Immutable; build with {@link #builder()} and hand it over with
 * {@link dev.agentruntime.RuntimeConfig.Builder#backendConfig}:
 *
 * <pre>{@code
 * DaytonaConfig daytona = DaytonaConfig.builder()
 *         .apiKey(Secret.of(System.getenv("DAYTONA_API_KEY")))
 *         .snapshot("agent-runtime-server")        // a snapshot with the server baked in (see the README)
 *         .cpu(2).memoryGb(4)
 *         .build();
 * try (Runtime sandbox = RuntimeFactory.connect(RuntimeConfig.builder().type("daytona").backendConfig(daytona).build())) {
 *     sandbox.run("uname -a");
 * }
 * }</pre>
 *
 * <p>The same settings are string options ({@link #OPTION_KEYS}), and {@code RuntimeConfig.fromEnvironment()} reads
 * Daytona's own variables: {@code DAYTONA_API_KEY}, {@code DAYTONA_API_URL}, {@code DAYTONA_TARGET},
 * {@code DAYTONA_JWT_TOKEN}, {@code DAYTONA_ORGANIZATION_ID}.
 *
 * @param apiUrl              the API base, {@value #DEFAULT_API_URL} unless told otherwise
 * @param apiKey              an API key ({@code Authorization: Bearer}); or
 * @param jwtToken            a JWT, sent with
 * @param organizationId      the organization it acts for ({@code X-Daytona-Organization-ID})
 * @param target              the region sandboxes are created in; empty: the organization's default
 * @param snapshot            the snapshot (id or name) sandboxes are made from; empty with no image: Daytona's default
 * @param image               a declarative image instead of a snapshot: Daytona builds {@code FROM <image>}
 * @param environment         environment variables of the sandbox itself (the shell's go in
 *                            {@link dev.agentruntime.RuntimeConfig#environment()})
 * @param labels              extra Daytona labels (the session labels are always added)
 * @param cpu                 cores; only with an image (a snapshot fixes its resources)
 * @param memoryGb            memory in GiB; only with an image
 * @param diskGb              disk in GiB; only with an image
 * @param autoStopInterval    Daytona stops a sandbox without activity for this long (whole minutes; ZERO: never);
 *                            an open runtime refreshes the activity at a third of it
 * @param autoArchiveInterval a stopped sandbox is archived after this long; empty: Daytona's default
 * @param autoDeleteInterval  a stopped sandbox is deleted after this long (ZERO: as soon as it stops); empty: at once
 *                            for ordinary sessions, never for keep-alive ones
 * @param user                the OS user the sandbox runs as; empty: the snapshot's
 * @param serverPort          the port our server listens on inside the sandbox (reached through its preview URL)
 * @param installDir          where the server bundle is (or gets) unpacked in the sandbox
 * @param callTimeout         how long one API or toolbox call may take
 */
public record DaytonaConfig(
        URI apiUrl,
        Optional<Secret> apiKey,
        Optional<Secret> jwtToken,
        Optional<String> organizationId,
        Optional<String> target,
        Optional<String> snapshot,
        Optional<String> image,
        Map<String, String> environment,
        Map<String, String> labels,
        Optional<Integer> cpu,
        Optional<Integer> memoryGb,
        Optional<Integer> diskGb,
        Duration autoStopInterval,
        Optional<Duration> autoArchiveInterval,
        Optional<Duration> autoDeleteInterval,
        Optional<String> user,
        int serverPort,
        String installDir,
        Duration callTimeout) implements BackendConfig {

    public static final String DEFAULT_API_URL = "https://app.daytona.io/api";
    public static final Duration DEFAULT_AUTO_STOP = Duration.ofMinutes(15);
    public static final int DEFAULT_SERVER_PORT = 30000;
    public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(60);

    /** The string option keys (see {@link #fromOptions(Options)}). */
    public static final Set<String> OPTION_KEYS = Set.of("api.url", "api.key", "jwt.token", "organization.id",
            "target", "snapshot", "image", "env", "labels", "cpu", "memory", "disk", "auto.stop.interval",
            "auto.archive.interval", "auto.delete.interval", "user", "server.port", "install.dir", "call.timeout");

    public DaytonaConfig {
        apiUrl = Objects.requireNonNullElse(apiUrl, URI.create(DEFAULT_API_URL));
        if (!"http".equals(apiUrl.getScheme()) && !"https".equals(apiUrl.getScheme())) {
            throw new InvalidConfigException("Daytona apiUrl must be an http(s) URL such as " + DEFAULT_API_URL
                    + ", was '" + apiUrl + "'");
        }
        apiKey = Objects.requireNonNullElse(apiKey, Optional.empty());
        jwtToken = Objects.requireNonNullElse(jwtToken, Optional.empty());
        organizationId = text(organizationId);
        if (apiKey.isEmpty() && jwtToken.isEmpty()) {
            throw new InvalidConfigException("Daytona needs credentials: set DAYTONA_API_KEY (option api.key), or "
                    + "DAYTONA_JWT_TOKEN and DAYTONA_ORGANIZATION_ID (options jwt.token, organization.id)");
        }
        if (apiKey.isEmpty() && organizationId.isEmpty()) {
            throw new InvalidConfigException("A Daytona JWT needs the organization it acts for: set "
                    + "DAYTONA_ORGANIZATION_ID (option organization.id)");
        }
        target = text(target);
        snapshot = text(snapshot);
        image = text(image);
        if (snapshot.isPresent() && image.isPresent()) {
            throw new InvalidConfigException("Daytona sandboxes come from a snapshot or from an image, not both: got "
                    + "snapshot '" + snapshot.get() + "' and image '" + image.get() + "'");
        }
        environment = Map.copyOf(Objects.requireNonNullElse(environment, Map.of()));
        environment.keySet().forEach(name -> {
            if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new InvalidConfigException("Daytona sandbox environment variable name '" + name
                        + "' is not valid");
            }
        });
        labels = Map.copyOf(Objects.requireNonNullElse(labels, Map.of()));
        cpu = positive(cpu, "cpu");
        memoryGb = positive(memoryGb, "memoryGb");
        diskGb = positive(diskGb, "diskGb");
        if (snapshot.isPresent() && (cpu.isPresent() || memoryGb.isPresent() || diskGb.isPresent())) {
            throw new InvalidConfigException("Daytona takes cpu, memory and disk only for sandboxes made from an "
                    + "image; snapshot '" + snapshot.get() + "' fixes its own resources");
        }
        autoStopInterval = minutes(Objects.requireNonNullElse(autoStopInterval, DEFAULT_AUTO_STOP),
                "autoStopInterval");
        autoArchiveInterval = Objects.requireNonNullElse(autoArchiveInterval, Optional.<Duration>empty())
                .map(d -> minutes(d, "autoArchiveInterval"));
        autoDeleteInterval = Objects.requireNonNullElse(autoDeleteInterval, Optional.<Duration>empty())
                .map(d -> minutes(d, "autoDeleteInterval"));
        user = text(user);
        if (serverPort < 1 || serverPort > 65535) {
            throw new InvalidConfigException("Daytona serverPort must be 1..65535, was " + serverPort);
        }
        installDir = Objects.requireNonNullElse(installDir, ServerBundle.DEFAULT_INSTALL_DIR);
        if (!installDir.startsWith("/")) {
            throw new InvalidConfigException("Daytona installDir must be an absolute sandbox path, was '" + installDir
                    + "'");
        }
        callTimeout = Objects.requireNonNullElse(callTimeout, DEFAULT_CALL_TIMEOUT);
        if (callTimeout.isNegative() || callTimeout.isZero()) {
            throw new InvalidConfigException("Daytona callTimeout must be positive, was " + callTimeout);
        }
    }

    private static Optional<String> text(Optional<String> value) {
        return Objects.requireNonNullElse(value, Optional.<String>empty()).filter(s -> !s.isBlank());
    }

    private static Optional<Integer> positive(Optional<Integer> value, String name) {
        Optional<Integer> v = Objects.requireNonNullElse(value, Optional.empty());
        v.ifPresent(n -> {
            if (n < 1) {
                throw new InvalidConfigException("Daytona " + name + " must be at least 1, was " + n);
            }
        });
        return v;
    }

    private static Duration minutes(Duration value, String name) {
        if (value.isNegative() || value.toSeconds() % 60 != 0) {
            throw new InvalidConfigException("Daytona " + name + " is counted in whole minutes (e.g. 15m, or 0 to "
                    + "disable), was " + value);
        }
        return value;
    }

    /** The settings of string options ({@link #OPTION_KEYS}); {@code env} and {@code labels} are {@code k=v,k=v}. */
    public static DaytonaConfig fromOptions(Map<String, String> options) {
        return fromOptions(Options.of(DaytonaRuntimeProvider.TYPE, options, OPTION_KEYS));
    }

    /** Like {@link #fromOptions(Map)}, from options already checked against {@link #OPTION_KEYS}. */
    public static DaytonaConfig fromOptions(Options o) {
        Builder b = builder();
        o.uri("api.url").ifPresent(b::apiUrl);
        o.secret("api.key").ifPresent(b::apiKey);
        o.secret("jwt.token").ifPresent(b::jwtToken);
        o.string("organization.id").ifPresent(b::organizationId);
        o.string("target").ifPresent(b::target);
        o.string("snapshot").ifPresent(b::snapshot);
        o.string("image").ifPresent(b::image);
        b.environment(pairs(o, "env"));
        b.labels(pairs(o, "labels"));
        o.integer("cpu").ifPresent(b::cpu);
        o.integer("memory").ifPresent(b::memoryGb);
        o.integer("disk").ifPresent(b::diskGb);
        o.duration("auto.stop.interval").ifPresent(b::autoStopInterval);
        o.duration("auto.archive.interval").ifPresent(b::autoArchiveInterval);
        o.duration("auto.delete.interval").ifPresent(b::autoDeleteInterval);
        o.string("user").ifPresent(b::user);
        o.integer("server.port").ifPresent(b::serverPort);
        o.string("install.dir").ifPresent(b::installDir);
        o.duration("call.timeout").ifPresent(b::callTimeout);
        return b.build();
    }

    private static Map<String, String> pairs(Options o, String key) {
        Map<String, String> result = new LinkedHashMap<>();
        for (String item : o.list(key)) {
            int eq = item.indexOf('=');
            if (eq <= 0) {
                throw new InvalidConfigException("Daytona option " + key + " takes name=value pairs separated by "
                        + "commas, got '" + item + "'");
            }
            result.put(item.substring(0, eq).strip(), item.substring(eq + 1).strip());
        }
        return result;
    }

    /** The backend's settings of {@code config}: its {@code DaytonaConfig}, or its string options converted. */
    public static DaytonaConfig from(dev.agentruntime.RuntimeConfig config) {
        return Options.typedConfig(config, DaytonaConfig.class, OPTION_KEYS, DaytonaConfig::fromOptions);
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.apiUrl = apiUrl;
        b.apiKey = apiKey.orElse(null);
        b.jwtToken = jwtToken.orElse(null);
        b.organizationId = organizationId.orElse(null);
        b.target = target.orElse(null);
        b.snapshot = snapshot.orElse(null);
        b.image = image.orElse(null);
        b.environment.putAll(environment);
        b.labels.putAll(labels);
        b.cpu = cpu.orElse(null);
        b.memoryGb = memoryGb.orElse(null);
        b.diskGb = diskGb.orElse(null);
        b.autoStopInterval = autoStopInterval;
        b.autoArchiveInterval = autoArchiveInterval.orElse(null);
        b.autoDeleteInterval = autoDeleteInterval.orElse(null);
        b.user = user.orElse(null);
        b.serverPort = serverPort;
        b.installDir = installDir;
        b.callTimeout = callTimeout;
        return b;
    }

    /** Builds a {@link DaytonaConfig}. */
    public static final class Builder {
        private URI apiUrl;
        private Secret apiKey;
        private Secret jwtToken;
        private String organizationId;
        private String target;
        private String snapshot;
        private String image;
        private final Map<String, String> environment = new LinkedHashMap<>();
        private final Map<String, String> labels = new LinkedHashMap<>();
        private Integer cpu;
        private Integer memoryGb;
        private Integer diskGb;
        private Duration autoStopInterval;
        private Duration autoArchiveInterval;
        private Duration autoDeleteInterval;
        private String user;
        private int serverPort = DEFAULT_SERVER_PORT;
        private String installDir;
        private Duration callTimeout;

        private Builder() {
        }

        public Builder apiUrl(URI value) {
            this.apiUrl = value;
            return this;
        }

        public Builder apiKey(Secret value) {
            this.apiKey = value;
            return this;
        }

        public Builder jwtToken(Secret value) {
            this.jwtToken = value;
            return this;
        }

        public Builder organizationId(String value) {
            this.organizationId = value;
            return this;
        }

        public Builder target(String value) {
            this.target = value;
            return this;
        }

        public Builder snapshot(String value) {
            this.snapshot = value;
            return this;
        }

        public Builder image(String value) {
            this.image = value;
            return this;
        }

        public Builder env(String name, String value) {
            environment.put(name, value);
            return this;
        }

        public Builder environment(Map<String, String> values) {
            environment.putAll(values);
            return this;
        }

        public Builder label(String name, String value) {
            labels.put(name, value);
            return this;
        }

        public Builder labels(Map<String, String> values) {
            labels.putAll(values);
            return this;
        }

        public Builder cpu(int value) {
            this.cpu = value;
            return this;
        }

        public Builder memoryGb(int value) {
            this.memoryGb = value;
            return this;
        }

        public Builder diskGb(int value) {
            this.diskGb = value;
            return this;
        }

        public Builder autoStopInterval(Duration value) {
            this.autoStopInterval = value;
            return this;
        }

        public Builder autoArchiveInterval(Duration value) {
            this.autoArchiveInterval = value;
            return this;
        }

        public Builder autoDeleteInterval(Duration value) {
            this.autoDeleteInterval = value;
            return this;
        }

        public Builder user(String value) {
            this.user = value;
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

        public Builder callTimeout(Duration value) {
            this.callTimeout = value;
            return this;
        }

        public DaytonaConfig build() {
            return new DaytonaConfig(apiUrl, Optional.ofNullable(apiKey), Optional.ofNullable(jwtToken),
                    Optional.ofNullable(organizationId), Optional.ofNullable(target), Optional.ofNullable(snapshot),
                    Optional.ofNullable(image), environment, labels, Optional.ofNullable(cpu),
                    Optional.ofNullable(memoryGb), Optional.ofNullable(diskGb), autoStopInterval,
                    Optional.ofNullable(autoArchiveInterval), Optional.ofNullable(autoDeleteInterval),
                    Optional.ofNullable(user), serverPort, installDir, callTimeout);
        }
    }
}
