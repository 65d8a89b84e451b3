package dev.agentruntime.local;

import dev.agentruntime.BackendConfig;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Settings of the local backend. Also reachable as string options: {@code java} (the java executable),
 * {@code server-jar}, {@code jvm-options} (space separated, replace the defaults), {@code inherit-environment}
 * (true/false).
 *
 * @param javaExecutable     the java that runs the server; empty means the current JVM's
 * @param serverJar          the server jar; empty means {@code ServerJar.locate()}
 * @param jvmOptions         JVM options for the server; empty means the lean defaults
 * @param inheritEnvironment whether the shell inherits this process's environment (default true, like OpenHands)
 */
public record LocalRuntimeConfig(Optional<Path> javaExecutable, Optional<Path> serverJar,
                                 Optional<List<String>> jvmOptions, boolean inheritEnvironment)
        implements BackendConfig {

    public static final Set<String> OPTION_KEYS = Set.of("java", "server-jar", "jvm-options", "inherit-environment");

    public LocalRuntimeConfig {
        javaExecutable = javaExecutable == null ? Optional.empty() : javaExecutable;
        serverJar = serverJar == null ? Optional.empty() : serverJar;
        jvmOptions = jvmOptions == null ? Optional.empty() : jvmOptions.map(List::copyOf);
    }

    public static LocalRuntimeConfig defaults() {
        return new LocalRuntimeConfig(Optional.empty(), Optional.empty(), Optional.empty(), true);
    }

    /** The typed config of a {@link RuntimeConfig}: its backend config if it is ours, else its options converted. */
    static LocalRuntimeConfig from(RuntimeConfig config) {
        if (config.backendConfig().isPresent()) {
            if (config.backendConfig().get() instanceof LocalRuntimeConfig local) {
                return local;
            }
            throw new InvalidConfigException("The local backend takes a LocalRuntimeConfig, not "
                    + config.backendConfig().get().getClass().getName());
        }
        return fromOptions(config.options(), config);
    }

    static LocalRuntimeConfig fromOptions(Map<String, String> options, RuntimeConfig config) {
        config.requireKnownOptions(OPTION_KEYS);
        String inherit = options.getOrDefault("inherit-environment", "true");
        if (!inherit.equals("true") && !inherit.equals("false")) {
            throw new InvalidConfigException("Option inherit-environment must be true or false, was '" + inherit + "'");
        }
        return new LocalRuntimeConfig(
                Optional.ofNullable(options.get("java")).map(Path::of),
                Optional.ofNullable(options.get("server-jar")).map(Path::of),
                Optional.ofNullable(options.get("jvm-options")).map(v -> Arrays.asList(v.trim().split("\\s+"))),
                Boolean.parseBoolean(inherit));
    }

    public LocalRuntimeConfig withJvmOptions(List<String> options) {
        return new LocalRuntimeConfig(javaExecutable, serverJar, Optional.of(options), inheritEnvironment);
    }

    public LocalRuntimeConfig withServerJar(Path jar) {
        return new LocalRuntimeConfig(javaExecutable, Optional.of(jar), jvmOptions, inheritEnvironment);
    }

    public LocalRuntimeConfig withInheritEnvironment(boolean value) {
        return new LocalRuntimeConfig(javaExecutable, serverJar, jvmOptions, value);
    }
}
