package dev.agentruntime.modal;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.Secret;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One profile of Modal's configuration file ({@code ~/.modal.toml}, or {@code MODAL_CONFIG_PATH}), as the Modal CLI
 * writes it:
 *
 * <pre>
 * [my-workspace]
 * token_id = "ak-..."
 * token_secret = "as-..."
 * environment = "main"      # optional
 * server_url = "https://api.modal.com"   # optional
 * active = true
 * </pre>
 *
 * Only the flat {@code key = value} subset of TOML the CLI writes is read (strings, booleans); the token secret is a
 * {@link Secret}.
 *
 * @param name the profile's section name
 */
public record ModalProfile(String name, Optional<Secret> tokenId, Optional<Secret> tokenSecret,
                           Optional<String> environment, Optional<String> serverUrl) {

    /**
     * Reads {@code file} and picks the profile {@code wanted}, or else the one marked {@code active = true}, or else
     * the only one; empty when the file does not exist or names no such profile.
     *
     * @throws InvalidConfigException when the file is not the TOML the Modal CLI writes, or {@code wanted} is absent
     */
    public static Optional<ModalProfile> load(Path file, Optional<String> wanted) {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the Modal configuration " + file, e);
        }
        Map<String, Map<String, String>> sections = parse(file, lines);
        String chosen = wanted.orElseGet(() -> sections.entrySet().stream()
                .filter(s -> "true".equals(s.getValue().get("active"))).map(Map.Entry::getKey).findFirst()
                .orElse(sections.size() == 1 ? sections.keySet().iterator().next() : null));
        if (chosen == null) {
            return Optional.empty();
        }
        Map<String, String> values = sections.get(chosen);
        if (values == null) {
            throw new InvalidConfigException("The Modal profile '" + chosen + "' is not in " + file + "; it has "
                    + sections.keySet() + ". Check MODAL_PROFILE.");
        }
        return Optional.of(new ModalProfile(chosen, secret(values.get("token_id")),
                secret(values.get("token_secret")), Optional.ofNullable(values.get("environment")),
                Optional.ofNullable(values.get("server_url"))));
    }

    private static Optional<Secret> secret(String value) {
        return value == null || value.isEmpty() ? Optional.empty() : Optional.of(Secret.of(value));
    }

    private static Map<String, Map<String, String>> parse(Path file, List<String> lines) {
        Map<String, Map<String, String>> sections = new LinkedHashMap<>();
        Map<String, String> current = null;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("[") && line.endsWith("]")) {
                String name = unquote(line.substring(1, line.length() - 1).strip());
                current = sections.computeIfAbsent(name, n -> new LinkedHashMap<>());
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0 || current == null) {
                throw new InvalidConfigException("Line " + (i + 1) + " of " + file + " is not 'key = value' inside a"
                        + " [profile] section");
            }
            String value = line.substring(eq + 1).strip();
            if (!value.startsWith("\"") && !value.startsWith("'")) {
                int comment = value.indexOf('#');
                value = comment >= 0 ? value.substring(0, comment).strip() : value;
            }
            current.put(line.substring(0, eq).strip(), unquote(value));
        }
        return sections;
    }

    private static String unquote(String value) {
        if (value.length() >= 2 && (value.startsWith("\"") && value.lastIndexOf('"') > 0
                || value.startsWith("'") && value.lastIndexOf('\'') > 0)) {
            char quote = value.charAt(0);
            return value.substring(1, value.lastIndexOf(quote)).replace("\\\"", "\"").replace("\\\\", "\\");
        }
        return value;
    }
}
