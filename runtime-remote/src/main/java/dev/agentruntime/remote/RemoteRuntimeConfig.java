package dev.agentruntime.remote;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import dev.agentruntime.spi.BackendConfig;
import dev.agentruntime.spi.Options;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Settings of the remote backend: where the Remote Runtime API answers, the key it wants, and what {@code POST /start}
 * asks for. Immutable; build with {@link #builder()}, or give string options ({@link Options} syntax):
 *
 * <table>
 *   <caption>options</caption>
 *   <tr><th>option</th><th>OpenHands setting / environment</th><th>meaning</th></tr>
 *   <tr><td>{@code api.url}</td><td>{@code SANDBOX_REMOTE_RUNTIME_API_URL}</td><td>the API's base URL</td></tr>
 *   <tr><td>{@code api.key}</td><td>{@code SANDBOX_API_KEY} (or {@code ALLHANDS_API_KEY})</td>
 *       <td>sent as {@code X-API-Key}</td></tr>
 *   <tr><td>{@code image}</td><td>{@code SANDBOX_RUNTIME_CONTAINER_IMAGE}</td>
 *       <td>the sandbox image; omitted: the server's default</td></tr>
 *   <tr><td>{@code command}</td><td>—</td><td>the sandbox's server command (space separated); omitted: the
 *       server starts its own (our gateway: our action server)</td></tr>
 *   <tr><td>{@code working.dir}</td><td>—</td><td>the server process's working directory</td></tr>
 *   <tr><td>{@code resource.factor}</td><td>{@code SANDBOX_REMOTE_RUNTIME_RESOURCE_FACTOR}</td>
 *       <td>1, 2, 4 or 8</td></tr>
 *   <tr><td>{@code runtime.class}</td><td>{@code SANDBOX_REMOTE_RUNTIME_CLASS}</td>
 *       <td>{@code gvisor} (the default) or {@code sysbox}</td></tr>
 *   <tr><td>{@code pause.on.close}</td><td>{@code SANDBOX_PAUSE_CLOSED_RUNTIMES}</td>
 *       <td>keep-alive close pauses instead of leaving the sandbox running (default true)</td></tr>
 *   <tr><td>{@code api.timeout}</td><td>{@code SANDBOX_REMOTE_RUNTIME_API_TIMEOUT}</td>
 *       <td>per-call timeout of API requests (default 180 s)</td></tr>
 *   <tr><td>{@code build.context}</td><td>—</td><td>a directory with a Dockerfile: the image is built by the
 *       API's {@code /build} first (content-addressed, so only once)</td></tr>
 * </table>
 *
 * @param apiUrl         the Remote Runtime API's base URL, e.g. {@code https://runtime.example.com}
 * @param apiKey         the API key ({@code X-API-Key})
 * @param image          the image to start; empty: built from {@code buildContext}, or the server's default
 * @param command        the server command inside the sandbox; empty: the API server's own choice
 * @param workingDir     the server process's working directory, when the command needs one
 * @param resourceFactor how many times the default resources (1, 2, 4 or 8)
 * @param runtimeClass   {@code sysbox} (sent as {@code runtime_class: "sysbox-runc"}) or empty for the default
 * @param pauseOnClose   whether closing a keep-alive runtime pauses it (else it is left running)
 * @param apiTimeout     timeout of each API call (not of actions: those wait for their own timeout)
 * @param buildContext   a Docker build context to build the image from through {@code POST /build}
 */
public record RemoteRuntimeConfig(URI apiUrl, Secret apiKey, Optional<String> image, List<String> command,
                                  Optional<String> workingDir, int resourceFactor, Optional<String> runtimeClass,
                                  boolean pauseOnClose, Duration apiTimeout, Optional<Path> buildContext)
        implements BackendConfig {

    public static final Set<String> OPTION_KEYS = Set.of("api.url", "api.key", "image", "command", "working.dir",
            "resource.factor", "runtime.class", "pause.on.close", "api.timeout", "build.context");
    public static final Duration DEFAULT_API_TIMEOUT = Duration.ofSeconds(180);
    private static final Set<Integer> RESOURCE_FACTORS = Set.of(1, 2, 4, 8);

    public RemoteRuntimeConfig {
        Objects.requireNonNull(apiUrl, "apiUrl");
        String scheme = apiUrl.getScheme() == null ? "" : apiUrl.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || apiUrl.getHost() == null) {
            throw new InvalidConfigException("The remote runtime API URL must be http(s)://host[:port][/path], was "
                    + apiUrl);
        }
        if (apiUrl.getRawQuery() != null || apiUrl.getRawUserInfo() != null) {
            throw new InvalidConfigException("The remote runtime API URL must carry no query or user info (the key"
                    + " goes in api.key)");
        }
        if (apiKey == null) {
            throw new InvalidConfigException("The remote backend needs an API key: set api.key, SANDBOX_API_KEY or"
                    + " RemoteRuntimeConfig.builder().apiKey(...)");
        }
        image = (image == null ? Optional.<String>empty() : image).filter(i -> !i.isBlank());
        command = List.copyOf(Objects.requireNonNullElse(command, List.of()));
        workingDir = (workingDir == null ? Optional.<String>empty() : workingDir).filter(d -> !d.isBlank());
        if (!RESOURCE_FACTORS.contains(resourceFactor)) {
            throw new InvalidConfigException("resource.factor must be 1, 2, 4 or 8, was " + resourceFactor);
        }
        runtimeClass = (runtimeClass == null ? Optional.<String>empty() : runtimeClass)
                .map(c -> c.strip().toLowerCase(Locale.ROOT)).filter(c -> !c.isEmpty());
        runtimeClass.ifPresent(c -> {
            if (!c.equals("sysbox") && !c.equals("gvisor")) {
                throw new InvalidConfigException("runtime.class must be gvisor or sysbox, was '" + c + "'");
            }
        });
        apiTimeout = Objects.requireNonNullElse(apiTimeout, DEFAULT_API_TIMEOUT);
        if (apiTimeout.isNegative() || apiTimeout.isZero()) {
            throw new InvalidConfigException("api.timeout must be positive, was " + apiTimeout);
        }
        buildContext = buildContext == null ? Optional.empty() : buildContext;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** The typed config of a {@link RuntimeConfig}: its backend config if it is ours, else its options converted. */
    public static RemoteRuntimeConfig from(RuntimeConfig config) {
        return Options.typedConfig(config, RemoteRuntimeConfig.class, OPTION_KEYS, RemoteRuntimeConfig::fromOptions);
    }

    /** Converts string options (see the class comment for the keys). */
    public static RemoteRuntimeConfig fromOptions(Options o) {
        Builder b = builder();
        b.apiUrl(o.uri("api.url").orElseThrow(() -> new InvalidConfigException("The remote backend needs the API's"
                + " URL: set api.url (or SANDBOX_REMOTE_RUNTIME_API_URL)")));
        b.apiKey = o.secret("api.key").orElse(null);
        o.string("image").ifPresent(b::image);
        o.string("command").map(c -> Arrays.stream(c.strip().split("\\s+")).filter(s -> !s.isEmpty()).toList())
                .ifPresent(b::command);
        o.string("working.dir").ifPresent(b::workingDir);
        o.integer("resource.factor").ifPresent(b::resourceFactor);
        o.string("runtime.class").ifPresent(b::runtimeClass);
        b.pauseOnClose(o.bool("pause.on.close", true));
        o.duration("api.timeout").ifPresent(b::apiTimeout);
        o.path("build.context").ifPresent(b::buildContext);
        return b.build();
    }

    /** What {@code POST /start} sends as {@code runtime_class}: only sysbox is named, as OpenHands does. */
    public Optional<String> runtimeClassOnTheWire() {
        return runtimeClass.filter("sysbox"::equals).map(c -> "sysbox-runc");
    }

    /** Builds a {@link RemoteRuntimeConfig}. */
    public static final class Builder {
        private URI apiUrl;
        private Secret apiKey;
        private String image;
        private List<String> command = List.of();
        private String workingDir;
        private int resourceFactor = 1;
        private String runtimeClass;
        private boolean pauseOnClose = true;
        private Duration apiTimeout = DEFAULT_API_TIMEOUT;
        private Path buildContext;

        private Builder() {
        }

        private Builder(RemoteRuntimeConfig c) {
            apiUrl = c.apiUrl;
            apiKey = c.apiKey;
            image = c.image.orElse(null);
            command = c.command;
            workingDir = c.workingDir.orElse(null);
            resourceFactor = c.resourceFactor;
            runtimeClass = c.runtimeClass.orElse(null);
            pauseOnClose = c.pauseOnClose;
            apiTimeout = c.apiTimeout;
            buildContext = c.buildContext.orElse(null);
        }

        public Builder apiUrl(URI value) {
            this.apiUrl = value;
            return this;
        }

        public Builder apiKey(Secret value) {
            this.apiKey = value;
            return this;
        }

        public Builder apiKey(String value) {
            return apiKey(Secret.of(value));
        }

        public Builder image(String value) {
            this.image = value;
            return this;
        }

        public Builder command(List<String> value) {
            this.command = value;
            return this;
        }

        public Builder workingDir(String value) {
            this.workingDir = value;
            return this;
        }

        public Builder resourceFactor(int value) {
            this.resourceFactor = value;
            return this;
        }

        public Builder runtimeClass(String value) {
            this.runtimeClass = value;
            return this;
        }

        public Builder pauseOnClose(boolean value) {
            this.pauseOnClose = value;
            return this;
        }

        public Builder apiTimeout(Duration value) {
            this.apiTimeout = value;
            return this;
        }

        public Builder buildContext(Path value) {
            this.buildContext = value;
            return this;
        }

        public RemoteRuntimeConfig build() {
            return new RemoteRuntimeConfig(apiUrl, apiKey, Optional.ofNullable(image), command,
                    Optional.ofNullable(workingDir), resourceFactor, Optional.ofNullable(runtimeClass), pauseOnClose,
                    apiTimeout, Optional.ofNullable(buildContext));
        }
    }
}
