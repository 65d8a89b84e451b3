package dev.agentruntime.e2b;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import dev.agentruntime.spi.BackendConfig;
import dev.agentruntime.spi.Options;
import dev.agentruntime.spi.ServerBundle;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How to reach E2B and what sandbox to make there. Built with {@link #builder()}, or read from string options
 * ({@link RuntimeConfig#options()}; {@code E2B_API_KEY}, {@code E2B_DOMAIN}, {@code E2B_API_URL} and
 * {@code E2B_SANDBOX_URL} become {@code api.key}, {@code domain}, {@code api.url} and {@code sandbox.url} through
 * {@link RuntimeConfig#fromEnvironment()}).
 *
 * <pre>{@code
 * RuntimeConfig config = RuntimeConfig.builder().type("e2b")
 *         .backendConfig(E2BConfig.builder().apiKey(Secret.of(System.getenv("E2B_API_KEY"))).template("base").build())
 *         .build();
 * }</pre>
 *
 * @param apiKey              the team's API key ({@code X-API-KEY}); required
 * @param domain              the E2B domain sandboxes live under ({@code e2b.app}); sandbox hosts are
 *                            {@code {port}-{sandboxId}.{domain}} unless the sandbox names its own domain
 * @param apiUrl              the control plane ({@code https://api.{domain}} by default)
 * @param sandboxUrl          when set, every request to a sandbox (envd and our server) goes to this one URL and is
 *                            routed by the {@code E2b-Sandbox-Id} / {@code E2b-Sandbox-Port} headers (E2B's shared
 *                            sandbox host, a proxy, a local E2B)
 * @param template            template id or alias, or a snapshot id, the sandbox is created from ({@code base})
 * @param timeout             the sandbox's lifetime on E2B's side, refreshed by the heartbeat while the runtime is open
 *                            (the safety net if this process dies)
 * @param autoPause           pause instead of kill when the timeout passes
 * @param internetAccess      {@code allow_internet_access}; empty = E2B's default
 * @param publicTraffic       {@code network.allowPublicTraffic}; false makes E2B demand the traffic token, which the
 *                            runtime then sends on every request to the server
 * @param allowOut            {@code network.allowOut}
 * @param denyOut             {@code network.denyOut}
 * @param serverPort          the port our server listens on inside the sandbox
 * @param installDir          where the server is (or is unpacked) in the sandbox; a template baked from
 *                            {@link ServerBundle#dockerfileRecipe()} has it in {@link ServerBundle#DEFAULT_INSTALL_DIR}
 * @param user                the sandbox user envd runs the server as ({@code root}: it can write the install dir)
 * @param requestTimeout      how long one control-plane or envd call may take
 */
public record E2BConfig(Secret apiKey, String domain, URI apiUrl, Optional<URI> sandboxUrl, String template,
                        Duration timeout, boolean autoPause, Optional<Boolean> internetAccess,
                        Optional<Boolean> publicTraffic, List<String> allowOut, List<String> denyOut, int serverPort,
                        String installDir, String user, Duration requestTimeout) implements BackendConfig {

    public static final String DEFAULT_DOMAIN = "e2b.app";
    public static final String DEFAULT_TEMPLATE = "base";
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
    public static final int DEFAULT_SERVER_PORT = 49999;
    /** envd's port in every E2B sandbox. */
    public static final int ENVD_PORT = 49983;
    /** E2B caps a sandbox's timeout at 24 hours (Pro; Hobby: 1 hour). */
    public static final Duration MAX_TIMEOUT = Duration.ofHours(24);

    /** The option keys {@link #fromOptions(Options)} reads. */
    public static final Set<String> KEYS = Set.of("api.key", "domain", "api.url", "sandbox.url", "template", "timeout",
            "auto.pause", "internet.access", "public.traffic", "allow.out", "deny.out", "server.port", "install.dir",
            "user", "request.timeout");

    public E2BConfig {
        Objects.requireNonNull(apiKey, "apiKey: set E2B_API_KEY or E2BConfig.builder().apiKey(...)");
        domain = requireText(domain, "domain");
        Objects.requireNonNull(apiUrl, "apiUrl");
        sandboxUrl = Objects.requireNonNullElse(sandboxUrl, Optional.empty());
        template = requireText(template, "template");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.compareTo(Duration.ofSeconds(1)) < 0 || timeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new InvalidConfigException("E2B sandbox timeout must be between 1s and 24h, was " + timeout);
        }
        internetAccess = Objects.requireNonNullElse(internetAccess, Optional.empty());
        publicTraffic = Objects.requireNonNullElse(publicTraffic, Optional.empty());
        allowOut = List.copyOf(Objects.requireNonNullElse(allowOut, List.of()));
        denyOut = List.copyOf(Objects.requireNonNullElse(denyOut, List.of()));
        if (serverPort < 1 || serverPort > 65535 || serverPort == ENVD_PORT) {
            throw new InvalidConfigException("E2B server port must be 1..65535 and not envd's " + ENVD_PORT + ", was "
                    + serverPort);
        }
        installDir = requireText(installDir, "installDir");
        if (!installDir.startsWith("/")) {
            throw new InvalidConfigException("E2B install dir must be an absolute sandbox path, was " + installDir);
        }
        user = requireText(user, "user");
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        checkUrl(apiUrl, "api.url");
        sandboxUrl.ifPresent(url -> checkUrl(url, "sandbox.url"));
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.apiKey = apiKey;
        b.domain = domain;
        b.apiUrl = apiUrl;
        b.sandboxUrl = sandboxUrl.orElse(null);
        b.template = template;
        b.timeout = timeout;
        b.autoPause = autoPause;
        b.internetAccess = internetAccess.orElse(null);
        b.publicTraffic = publicTraffic.orElse(null);
        b.allowOut = allowOut;
        b.denyOut = denyOut;
        b.serverPort = serverPort;
        b.installDir = installDir;
        b.user = user;
        b.requestTimeout = requestTimeout;
        return b;
    }

    /** The E2B settings of {@code config}: its {@link E2BConfig}, or its string options converted. */
    public static E2BConfig from(RuntimeConfig config) {
        return Options.typedConfig(config, E2BConfig.class, KEYS, E2BConfig::fromOptions);
    }

    /** Reads the {@link #KEYS} options; {@code api.key} is required. */
    public static E2BConfig fromOptions(Options o) {
        Builder b = builder();
        b.apiKey = o.secret("api.key").orElseThrow(() -> new InvalidConfigException("The e2b runtime needs an API key:"
                + " set E2B_API_KEY (or option api.key). Find it at https://e2b.dev/dashboard?tab=keys."));
        o.string("domain").ifPresent(b::domain);
        o.uri("api.url").ifPresent(b::apiUrl);
        o.uri("sandbox.url").ifPresent(b::sandboxUrl);
        o.string("template").ifPresent(b::template);
        o.duration("timeout").ifPresent(b::timeout);
        b.autoPause(o.bool("auto.pause", false));
        if (o.has("internet.access")) {
            b.internetAccess(o.bool("internet.access", true));
        }
        if (o.has("public.traffic")) {
            b.publicTraffic(o.bool("public.traffic", true));
        }
        b.allowOut(o.list("allow.out"));
        b.denyOut(o.list("deny.out"));
        o.integer("server.port").ifPresent(b::serverPort);
        o.string("install.dir").ifPresent(b::installDir);
        o.string("user").ifPresent(b::user);
        o.duration("request.timeout").ifPresent(b::requestTimeout);
        return b.build();
    }

    /** {@code E2B_API_KEY}, {@code E2B_DOMAIN}, {@code E2B_API_URL}, {@code E2B_SANDBOX_URL} as options. */
    static Map<String, String> optionsFromEnvironment(Map<String, String> env) {
        Map<String, String> options = new java.util.LinkedHashMap<>();
        copy(env, "E2B_API_KEY", options, "api.key");
        copy(env, "E2B_DOMAIN", options, "domain");
        copy(env, "E2B_API_URL", options, "api.url");
        copy(env, "E2B_SANDBOX_URL", options, "sandbox.url");
        return options;
    }

    private static void copy(Map<String, String> env, String name, Map<String, String> options, String key) {
        String value = env.get(name);
        if (value != null && !value.isBlank()) {
            options.put(key, value.strip());
        }
    }

    private static String requireText(String value, String what) {
        if (value == null || value.isBlank()) {
            throw new InvalidConfigException("E2B " + what + " must not be empty");
        }
        return value.strip();
    }

    private static void checkUrl(URI url, String what) {
        String scheme = url.getScheme() == null ? "" : url.getScheme();
        if (!(scheme.equals("http") || scheme.equals("https")) || url.getHost() == null) {
            throw new InvalidConfigException("E2B " + what + " must be http(s)://host[:port], was " + url);
        }
    }

    /** Builds an {@link E2BConfig}; only the API key is required. */
    public static final class Builder {
        private Secret apiKey;
        private String domain = DEFAULT_DOMAIN;
        private URI apiUrl;
        private URI sandboxUrl;
        private String template = DEFAULT_TEMPLATE;
        private Duration timeout = DEFAULT_TIMEOUT;
        private boolean autoPause;
        private Boolean internetAccess;
        private Boolean publicTraffic;
        private List<String> allowOut = List.of();
        private List<String> denyOut = List.of();
        private int serverPort = DEFAULT_SERVER_PORT;
        private String installDir = ServerBundle.DEFAULT_INSTALL_DIR;
        private String user = "root";
        private Duration requestTimeout = Duration.ofSeconds(60);

        private Builder() {
        }

        public Builder apiKey(Secret value) {
            this.apiKey = value;
            return this;
        }

        public Builder domain(String value) {
            this.domain = value;
            return this;
        }

        public Builder apiUrl(URI value) {
            this.apiUrl = value;
            return this;
        }

        public Builder sandboxUrl(URI value) {
            this.sandboxUrl = value;
            return this;
        }

        public Builder template(String value) {
            this.template = value;
            return this;
        }

        public Builder timeout(Duration value) {
            this.timeout = value;
            return this;
        }

        public Builder autoPause(boolean value) {
            this.autoPause = value;
            return this;
        }

        public Builder internetAccess(boolean value) {
            this.internetAccess = value;
            return this;
        }

        public Builder publicTraffic(boolean value) {
            this.publicTraffic = value;
            return this;
        }

        public Builder allowOut(List<String> value) {
            this.allowOut = value;
            return this;
        }

        public Builder denyOut(List<String> value) {
            this.denyOut = value;
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

        public Builder user(String value) {
            this.user = value;
            return this;
        }

        public Builder requestTimeout(Duration value) {
            this.requestTimeout = value;
            return this;
        }

        public E2BConfig build() {
            String d = domain == null ? DEFAULT_DOMAIN : domain.strip();
            URI api = apiUrl != null ? apiUrl : URI.create("https://api." + d);
            return new E2BConfig(apiKey, d, api, Optional.ofNullable(sandboxUrl), template, timeout, autoPause,
                    Optional.ofNullable(internetAccess), Optional.ofNullable(publicTraffic), allowOut, denyOut,
                    serverPort, installDir, user, requestTimeout);
        }
    }
}
