package dev.agentruntime.spi;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * A backend's string options ({@link RuntimeConfig#options()}), read once into its typed configuration with one
 * syntax for every backend:
 * <ul>
 *   <li>keys are dotted lower case ({@code pull.policy}, {@code source.bashrc}); {@code -}, {@code _} and case are
 *       ignored, so {@code AGENT_RUNTIME_OPTION_SOURCE_BASHRC} and {@code source-bashrc} name the same option;</li>
 *   <li>booleans: {@code true|false|yes|no|on|off|1|0};</li>
 *   <li>durations: {@code 250ms}, {@code 90s}, {@code 5m}, {@code 1h}, ISO-8601 ({@code PT5M}) or plain seconds;</li>
 *   <li>sizes: {@code 512m}, {@code 2g}, {@code 64k} (powers of 1024) or plain bytes;</li>
 *   <li>lists: comma separated; secrets are read as {@link Secret}s and never printed.</li>
 * </ul>
 * Unknown keys are rejected with the valid ones listed; a malformed value names its key and the expected form.
 *
 * <pre>{@code
 * static DockerRuntimeConfig fromOptions(Options o) {
 *     return DockerRuntimeConfig.builder().image(o.string("image", DEFAULT_IMAGE))
 *             .init(o.bool("init", true)).idleTimeout(o.duration("idle.timeout").orElse(DEFAULT_IDLE)).build();
 * }
 * }</pre>
 */
public final class Options {

    private final String type;
    private final Map<String, String> values;

    private Options(String type, Map<String, String> values) {
        this.type = type;
        this.values = values;
    }

    /** The options of {@code config}, checked against the backend's {@code validKeys} (dotted form). */
    public static Options of(RuntimeConfig config, Set<String> validKeys) {
        return of(config.type(), config.options(), validKeys);
    }

    /**
     * @throws InvalidConfigException naming unknown keys (with the valid ones), or two spellings of one key
     */
    public static Options of(String type, Map<String, String> options, Set<String> validKeys) {
        Map<String, String> normalized = new LinkedHashMap<>();
        Map<String, String> spelledAs = new LinkedHashMap<>();
        for (Map.Entry<String, String> option : options.entrySet()) {
            String key = normalizeKey(option.getKey());
            String earlier = spelledAs.put(key, option.getKey());
            if (earlier != null) {
                throw new InvalidConfigException("Option '" + key + "' for runtime type '" + type + "' is given twice, as '"
                        + earlier + "' and as '" + option.getKey() + "'");
            }
            normalized.put(key, option.getValue() == null ? "" : option.getValue().trim());
        }
        Set<String> unknown = new TreeSet<>(normalized.keySet());
        unknown.removeAll(validKeys);
        if (!unknown.isEmpty()) {
            throw new InvalidConfigException("Unknown option(s) " + unknown + " for runtime type '" + type
                    + "'. Valid options: " + new TreeSet<>(validKeys));
        }
        return new Options(type, normalized);
    }

    /**
     * The one rule for typed configuration versus string options: a backend config of the backend's own type wins,
     * giving both is an error (nothing is merged silently), and without one the options are converted.
     *
     * @throws InvalidConfigException when the backend config is of another backend's type, or both were given
     */
    public static <T extends BackendConfig> T typedConfig(RuntimeConfig config, Class<T> type, Set<String> validKeys,
                                                          Function<Options, T> fromOptions) {
        if (config.backendConfig().isPresent()) {
            BackendConfig given = config.backendConfig().get();
            if (!type.isInstance(given)) {
                throw new InvalidConfigException("The " + config.type() + " runtime takes a " + type.getSimpleName()
                        + " as backendConfig, not a " + given.getClass().getName());
            }
            if (!config.options().isEmpty()) {
                throw new InvalidConfigException("Runtime " + config.sessionId() + " has both a " + type.getSimpleName()
                        + " and string options " + new TreeSet<>(config.options().keySet())
                        + "; put everything in the " + type.getSimpleName() + " (options are for the environment and"
                        + " the command line)");
            }
            return type.cast(given);
        }
        return fromOptions.apply(of(config, validKeys));
    }

    /**
     * The options a backend's own environment variables give, for {@link RuntimeProvider#optionsFromEnvironment}:
     * each variable of {@code variables} (name → option key) that is set and not blank, in {@code variables}' order.
     */
    public static Map<String, String> fromEnvironment(Map<String, String> variables, Map<String, String> environment) {
        Map<String, String> options = new java.util.LinkedHashMap<>();
        variables.forEach((variable, option) -> {
            String value = environment.get(variable);
            if (value != null && !value.isBlank()) {
                options.put(option, value);
            }
        });
        return options;
    }

    /** {@code Pull_Policy}, {@code pull-policy} and {@code pull.policy} all become {@code pull.policy}. */
    public static String normalizeKey(String key) {
        return RuntimeConfig.optionKey(key);
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    public Optional<String> string(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public String string(String key, String defaultValue) {
        return values.getOrDefault(key, defaultValue);
    }

    public boolean bool(String key, boolean defaultValue) {
        String value = values.get(key);
        return value == null ? defaultValue : parseBoolean(describe(key), value);
    }

    public Optional<Duration> duration(String key) {
        return string(key).map(value -> parseDuration(describe(key), value));
    }

    public OptionalLong bytes(String key) {
        String value = values.get(key);
        return value == null ? OptionalLong.empty() : OptionalLong.of(parseBytes(describe(key), value));
    }

    public Optional<Integer> integer(String key) {
        return string(key).map(value -> {
            try {
                return Integer.parseInt(value);
            } catch (NumberFormatException e) {
                throw new InvalidConfigException(describe(key) + " must be a whole number, was '" + value + "'");
            }
        });
    }

    public Optional<Double> decimal(String key) {
        return string(key).map(value -> {
            try {
                double d = Double.parseDouble(value);
                if (!Double.isFinite(d)) {
                    throw new NumberFormatException();
                }
                return d;
            } catch (NumberFormatException e) {
                throw new InvalidConfigException(describe(key) + " must be a number, was '" + value + "'");
            }
        });
    }

    /** A comma-separated list, items trimmed, empty items dropped; empty when the option is not set. */
    public List<String> list(String key) {
        return string(key).map(Options::splitList).orElse(List.of());
    }

    public Optional<Secret> secret(String key) {
        return string(key).filter(value -> !value.isEmpty()).map(Secret::of);
    }

    public Optional<Path> path(String key) {
        return string(key).map(Path::of);
    }

    public Optional<URI> uri(String key) {
        return string(key).map(value -> {
            try {
                URI uri = new URI(value);
                if (uri.getScheme() == null) {
                    throw new IllegalArgumentException("no scheme");
                }
                return uri;
            } catch (Exception e) {
                throw new InvalidConfigException(describe(key) + " must be a URI such as https://host:port, was '"
                        + value + "'");
            }
        });
    }

    /** Calls {@code parser} on the value and turns any failure into an error naming the option. */
    public <T> Optional<T> parsed(String key, Function<String, T> parser, String expected) {
        return string(key).map(value -> {
            try {
                return parser.apply(value);
            } catch (InvalidConfigException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new InvalidConfigException(describe(key) + " must be " + expected + ", was '" + value + "'", e);
            }
        });
    }

    private String describe(String key) {
        return "option " + key;
    }

    /** {@code true|false|yes|no|on|off|1|0}, any case. */
    public static boolean parseBoolean(String what, String value) {
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw new InvalidConfigException(what + " must be true or false (or yes/no, on/off, 1/0), was '"
                    + value + "'");
        };
    }

    /** {@code 250ms}, {@code 90s}, {@code 5m}, {@code 1h}, {@code 2d}, ISO-8601 or plain seconds; never negative. */
    public static Duration parseDuration(String what, String value) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        try {
            Duration duration;
            if (v.startsWith("p")) {
                duration = Duration.parse(v.toUpperCase(Locale.ROOT));
            } else if (v.endsWith("ms")) {
                duration = Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2).strip()));
            } else {
                char last = v.isEmpty() ? ' ' : v.charAt(v.length() - 1);
                String number = Character.isLetter(last) ? v.substring(0, v.length() - 1).strip() : v;
                double amount = Double.parseDouble(number);
                double seconds = switch (last) {
                    case 'd' -> amount * 86_400;
                    case 'h' -> amount * 3_600;
                    case 'm' -> amount * 60;
                    case 's' -> amount;
                    default -> {
                        if (Character.isLetter(last)) {
                            throw new NumberFormatException(v);
                        }
                        yield amount;
                    }
                };
                if (!Double.isFinite(seconds) || seconds > Long.MAX_VALUE / 1_000_000.0) {
                    throw new NumberFormatException(v);
                }
                duration = Duration.ofMillis(Math.round(seconds * 1000));
            }
            if (duration.isNegative()) {
                throw new NumberFormatException(v);
            }
            return duration;
        } catch (NumberFormatException | DateTimeParseException | ArithmeticException e) {
            throw new InvalidConfigException(what + " must look like 250ms, 90s, 5m, 1h, PT5M or a number of seconds,"
                    + " was '" + value + "'");
        }
    }

    /** {@code 512m}, {@code 2g}, {@code 1.5g}, {@code 64k}, {@code 1048576}; units are powers of 1024. */
    public static long parseBytes(String what, String value) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        if (v.endsWith("ib")) {
            v = v.substring(0, v.length() - 2);
        } else if (v.endsWith("b")) {
            v = v.substring(0, v.length() - 1);
        }
        long unit = 1;
        if (!v.isEmpty()) {
            switch (v.charAt(v.length() - 1)) {
                case 'k' -> unit = 1L << 10;
                case 'm' -> unit = 1L << 20;
                case 'g' -> unit = 1L << 30;
                case 't' -> unit = 1L << 40;
                default -> unit = 1;
            }
        }
        String number = unit == 1 ? v : v.substring(0, v.length() - 1).strip();
        try {
            double amount = Double.parseDouble(number) * unit;
            if (!(amount >= 0) || amount > Long.MAX_VALUE) {
                throw new NumberFormatException(v);
            }
            return Math.round(amount);
        } catch (NumberFormatException e) {
            throw new InvalidConfigException(what + " must look like 512m, 2g or a number of bytes, was '"
                    + value + "'");
        }
    }

    /** Splits a comma-separated list, trimming items and dropping empty ones. */
    public static List<String> splitList(String value) {
        return Arrays.stream(value.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    @Override
    public String toString() {
        return "Options[" + type + ", keys=" + values.keySet() + "]"; // values may be secrets
    }
}
