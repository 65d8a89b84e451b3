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
 * {@code server-jar}, {@code jvm-options} (space separated, replace the defaults), {@code inherit-environment},
 * {@code class-data-sharing} and {@code source-bashrc} (true/false).
 *
 * @param javaExecutable     the java that runs the server; empty means the current JVM's
 * @param serverJar          the server jar; empty means {@code ServerJar.locate()}
 * @param jvmOptions         JVM options for the server; empty means the lean defaults
 * @param inheritEnvironment whether the shell inherits this process's environment (default true, like OpenHands)
 * @param classDataSharing   whether servers map a class-data archive of the server jar, made once in the background
 *                           on first use (default true; about half the server JVM's start-up CPU)
 * @param sourceBashrc       whether the shell sources {@code ~/.bashrc} as it starts, like OpenHands (default true);
 *                           false starts sandboxes faster when the user's {@code ~/.bashrc} is slow (pyenv, nvm)
 */
public record LocalRuntimeConfig(Optional<Path> javaExecutable, Optional<Path> serverJar,
                                 Optional<List<String>> jvmOptions, boolean inheritEnvironment,
                                 boolean classDataSharing, boolean sourceBashrc)
        implements BackendConfig {

    public static final Set<String> OPTION_KEYS = Set.of("java", "server-jar", "jvm-options", "inherit-environment",
            "class-data-sharing", "source-bashrc");

    public LocalRuntimeConfig {
        javaExecutable = javaExecutable == null ? Optional.empty() : javaExecutable;
        serverJar = serverJar == null ? Optional.empty() : serverJar;
        jvmOptions = jvmOptions == null ? Optional.empty() : jvmOptions.map(List::copyOf);
    }

    /** The settings before class-data sharing and {@code source-bashrc} existed; both on. */
    public LocalRuntimeConfig(Optional<Path> javaExecutable, Optional<Path> serverJar,
                              Optional<List<String>> jvmOptions, boolean inheritEnvironment) {
        this(javaExecutable, serverJar, jvmOptions, inheritEnvironment, true, true);
    }

    public static LocalRuntimeConfig defaults() {
        return new LocalRuntimeConfig(Optional.empty(), Optional.empty(), Optional.empty(), true, true, true);
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
        return new LocalRuntimeConfig(
                Optional.ofNullable(options.get("java")).map(Path::of),
                Optional.ofNullable(options.get("server-jar")).map(Path::of),
                Optional.ofNullable(options.get("jvm-options")).map(v -> Arrays.asList(v.trim().split("\\s+"))),
                flag(options, "inherit-environment"), flag(options, "class-data-sharing"),
                flag(options, "source-bashrc"));
    }

    private static boolean flag(Map<String, String> options, String key) {
        String value = options.getOrDefault(key, "true");
        if (!value.equals("true") && !value.equals("false")) {
            throw new InvalidConfigException("Option " + key + " must be true or false, was '" + value + "'");
        }
        return Boolean.parseBoolean(value);
    }

    public LocalRuntimeConfig withJvmOptions(List<String> options) {
        return new LocalRuntimeConfig(javaExecutable, serverJar, Optional.of(options), inheritEnvironment,
                classDataSharing, sourceBashrc);
    }

    public LocalRuntimeConfig withServerJar(Path jar) {
        return new LocalRuntimeConfig(javaExecutable, Optional.of(jar), jvmOptions, inheritEnvironment,
                classDataSharing, sourceBashrc);
    }

    public LocalRuntimeConfig withInheritEnvironment(boolean value) {
        return new LocalRuntimeConfig(javaExecutable, serverJar, jvmOptions, value, classDataSharing, sourceBashrc);
    }

    public LocalRuntimeConfig withClassDataSharing(boolean value) {
        return new LocalRuntimeConfig(javaExecutable, serverJar, jvmOptions, inheritEnvironment, value, sourceBashrc);
    }

    public LocalRuntimeConfig withSourceBashrc(boolean value) {
        return new LocalRuntimeConfig(javaExecutable, serverJar, jvmOptions, inheritEnvironment, classDataSharing,
                value);
    }
}
