package dev.agentruntime.local;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.spi.BackendConfig;
import dev.agentruntime.spi.Options;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Settings of the local backend. Also reachable as string options ({@link dev.agentruntime.spi.Options} syntax, so
 * {@code AGENT_RUNTIME_OPTION_SOURCE_BASHRC=false} works too): {@code java} (the java executable),
 * {@code server.jar}, {@code jvm.options} (space separated, replace the defaults), {@code inherit.environment},
 * {@code class.data.sharing} and {@code source.bashrc} (booleans), {@code idle.timeout} (a duration).
 *
 * @param javaExecutable     the java that runs the server; empty means the current JVM's
 * @param serverJar          the server jar; empty means {@code ServerJar.locate()}
 * @param jvmOptions         JVM options for the server; empty means {@link dev.agentruntime.spi.ServerLaunch#JVM_FLAGS}
 * @param inheritEnvironment whether the shell inherits this process's environment (default true, like OpenHands)
 * @param classDataSharing   whether servers map a class-data archive of the server jar, made once in the background
 *                           on first use (default true; about half the server JVM's start-up CPU)
 * @param sourceBashrc       whether the shell sources {@code ~/.bashrc} as it starts, like OpenHands (default true);
 *                           false starts sandboxes faster when the user's {@code ~/.bashrc} is slow (pyenv, nvm)
 * @param idleTimeout        a keep-alive sandbox's server exits after this long without a request (it no longer ends
 *                           with this JVM); default 5 minutes, {@link Duration#ZERO} for never
 */
public record LocalRuntimeConfig(Optional<Path> javaExecutable, Optional<Path> serverJar,
                                 Optional<List<String>> jvmOptions, boolean inheritEnvironment,
                                 boolean classDataSharing, boolean sourceBashrc, Duration idleTimeout)
        implements BackendConfig {

    public static final Set<String> OPTION_KEYS = Set.of("java", "server.jar", "jvm.options", "inherit.environment",
            "class.data.sharing", "source.bashrc", "idle.timeout");
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);

    public LocalRuntimeConfig {
        javaExecutable = javaExecutable == null ? Optional.empty() : javaExecutable;
        serverJar = serverJar == null ? Optional.empty() : serverJar;
        jvmOptions = jvmOptions == null ? Optional.empty() : jvmOptions.map(List::copyOf);
        idleTimeout = idleTimeout == null ? DEFAULT_IDLE_TIMEOUT : idleTimeout;
        if (idleTimeout.isNegative()) {
            throw new InvalidConfigException("idleTimeout must not be negative (ZERO disables it), was " + idleTimeout);
        }
    }

    public static LocalRuntimeConfig defaults() {
        return new LocalRuntimeConfig(Optional.empty(), Optional.empty(), Optional.empty(), true, true, true,
                DEFAULT_IDLE_TIMEOUT);
    }

    /** The typed config of a {@link RuntimeConfig}: its backend config if it is ours, else its options converted. */
    static LocalRuntimeConfig from(RuntimeConfig config) {
        return Options.typedConfig(config, LocalRuntimeConfig.class, OPTION_KEYS, LocalRuntimeConfig::fromOptions);
    }

    /** Converts string options (see the class comment for the keys). */
    public static LocalRuntimeConfig fromOptions(Options options) {
        return new LocalRuntimeConfig(options.path("java"), options.path("server.jar"),
                options.string("jvm.options").map(v -> Arrays.asList(v.trim().split("\\s+"))),
                options.bool("inherit.environment", true), options.bool("class.data.sharing", true),
                options.bool("source.bashrc", true), options.duration("idle.timeout").orElse(DEFAULT_IDLE_TIMEOUT));
    }

    public LocalRuntimeConfig withJvmOptions(List<String> options) {
        return new LocalRuntimeConfig(javaExecutable, serverJar, Optional.of(options), inheritEnvironment,
                classDataSharing, sourceBashrc, idleTimeout);
    }

    public LocalRuntimeConfig withServerJar(Path jar) {
        return new LocalRuntimeConfig(javaExecutable, Optional.of(jar), jvmOptions, inheritEnvironment,
                classDataSharing, sourceBashrc, idleTimeout);
    }

    public LocalRuntimeConfig withInheritEnvironment(boolean value) {
        return new LocalRuntimeConfig(javaExecutable, serverJar, jvmOptions, value, classDataSharing, sourceBashrc,
                idleTimeout);
    }

    public LocalRuntimeConfig withClassDataSharing(boolean value) {
        return new LocalRuntimeConfig(javaExecutable, serverJar, jvmOptions, inheritEnvironment, value, sourceBashrc,
                idleTimeout);
    }

    public LocalRuntimeConfig withSourceBashrc(boolean value) {
        return new LocalRuntimeConfig(javaExecutable, serverJar, jvmOptions, inheritEnvironment, classDataSharing,
                value, idleTimeout);
    }

    public LocalRuntimeConfig withIdleTimeout(Duration value) {
        return new LocalRuntimeConfig(javaExecutable, serverJar, jvmOptions, inheritEnvironment, classDataSharing,
                sourceBashrc, value);
    }
}
