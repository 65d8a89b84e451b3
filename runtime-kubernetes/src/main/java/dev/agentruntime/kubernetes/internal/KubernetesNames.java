package dev.agentruntime.kubernetes.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Kubernetes' own naming rules (apimachinery's {@code util/validation}), checked before anything is sent, so a bad
 * name fails here with the API server's wording instead of as a 422 from a real cluster (fabric8's mock server accepts
 * anything). Each {@code *Errors} method returns the API server's detail messages for one value, in its order; an
 * empty list means valid. {@link #invalid(String, Object, String)} formats one as the API server's cause message does
 * ({@code metadata.name: Invalid value: "Sandbox-ABC": a lowercase RFC 1123 subdomain must ...}).
 *
 * <p>Which rule applies where (as a v1.32 API server enforces it): object names of Pods, ConfigMaps, Secrets, PVCs,
 * Ingresses and NetworkPolicies are DNS-1123 subdomains (≤ 253); Service names are DNS-1035 labels (≤ 63, first
 * character a letter); label keys and annotation keys are qualified names (optional DNS-1123-subdomain prefix and
 * '/', name part ≤ 63); label values ≤ 63 characters; container port names are IANA service names (≤ 15); Service
 * port names and container names are DNS-1123 labels; all annotations together ≤ 256 KiB.
 */
public final class KubernetesNames {

    public static final int DNS1123_SUBDOMAIN_MAX_LENGTH = 253;
    public static final int DNS1123_LABEL_MAX_LENGTH = 63;
    public static final int DNS1035_LABEL_MAX_LENGTH = 63;
    public static final int QUALIFIED_NAME_MAX_LENGTH = 63;
    public static final int LABEL_VALUE_MAX_LENGTH = 63;
    public static final int PORT_NAME_MAX_LENGTH = 15;
    public static final int TOTAL_ANNOTATION_SIZE_LIMIT_BYTES = 256 * 1024;

    private static final String DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
    private static final String DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*";
    private static final String DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?";
    private static final String QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
    private static final String LABEL_VALUE_FMT = "(" + QUALIFIED_NAME_FMT + ")?";

    private static final Pattern DNS1123_LABEL = Pattern.compile(DNS1123_LABEL_FMT);
    private static final Pattern DNS1123_SUBDOMAIN = Pattern.compile(DNS1123_SUBDOMAIN_FMT);
    private static final Pattern DNS1035_LABEL = Pattern.compile(DNS1035_LABEL_FMT);
    private static final Pattern QUALIFIED_NAME = Pattern.compile(QUALIFIED_NAME_FMT);
    private static final Pattern LABEL_VALUE = Pattern.compile(LABEL_VALUE_FMT);
    private static final Pattern PORT_NAME_CHARSET = Pattern.compile("[-a-z0-9]+");
    private static final Pattern HAS_LETTER = Pattern.compile(".*[a-z].*");

    private static final String DNS1123_LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case "
            + "alphanumeric characters or '-', and must start and end with an alphanumeric character";
    private static final String DNS1123_SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case "
            + "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
    private static final String DNS1035_LABEL_MSG = "a DNS-1035 label must consist of lower case alphanumeric "
            + "characters or '-', start with an alphabetic character, and end with an alphanumeric character";
    private static final String QUALIFIED_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', "
            + "and must start and end with an alphanumeric character";
    private static final String LABEL_VALUE_MSG = "a valid label must be an empty string or consist of alphanumeric "
            + "characters, '-', '_' or '.', and must start and end with an alphanumeric character";

    private KubernetesNames() {
    }

    /** Object names of most kinds (Pod, ConfigMap, Secret, PVC, Ingress, NetworkPolicy, Namespace is a label). */
    public static List<String> dns1123SubdomainErrors(String value) {
        List<String> errors = new ArrayList<>();
        if (value.length() > DNS1123_SUBDOMAIN_MAX_LENGTH) {
            errors.add(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
        }
        if (!DNS1123_SUBDOMAIN.matcher(value).matches()) {
            errors.add(regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"));
        }
        return errors;
    }

    /** Container names, Service port names, namespace names. */
    public static List<String> dns1123LabelErrors(String value) {
        List<String> errors = new ArrayList<>();
        if (value.length() > DNS1123_LABEL_MAX_LENGTH) {
            errors.add(maxLenError(DNS1123_LABEL_MAX_LENGTH));
        }
        if (!DNS1123_LABEL.matcher(value).matches()) {
            errors.add(regexError(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"));
        }
        return errors;
    }

    /** Service names (they become DNS names, so the first character must be a letter). */
    public static List<String> dns1035LabelErrors(String value) {
        List<String> errors = new ArrayList<>();
        if (value.length() > DNS1035_LABEL_MAX_LENGTH) {
            errors.add(maxLenError(DNS1035_LABEL_MAX_LENGTH));
        }
        if (!DNS1035_LABEL.matcher(value).matches()) {
            errors.add(regexError(DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123"));
        }
        return errors;
    }

    /** Label keys and annotation keys: {@code [prefix/]name}, the prefix a DNS-1123 subdomain. */
    public static List<String> qualifiedNameErrors(String value) {
        List<String> errors = new ArrayList<>();
        String[] parts = value.split("/", -1);
        String name;
        if (parts.length == 1) {
            name = parts[0];
        } else if (parts.length == 2) {
            String prefix = parts[0];
            name = parts[1];
            if (prefix.isEmpty()) {
                errors.add("prefix part must be non-empty");
            } else {
                for (String message : dns1123SubdomainErrors(prefix)) {
                    errors.add("prefix part " + message);
                }
            }
        } else {
            errors.add("a qualified name " + regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name",
                    "123-abc") + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
            return errors;
        }
        if (name.isEmpty()) {
            errors.add("name part must be non-empty");
        } else if (name.length() > QUALIFIED_NAME_MAX_LENGTH) {
            errors.add("name part " + maxLenError(QUALIFIED_NAME_MAX_LENGTH));
        }
        if (!QUALIFIED_NAME.matcher(name).matches()) {
            errors.add("name part " + regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name",
                    "123-abc"));
        }
        return errors;
    }

    /** Label values (may be empty). */
    public static List<String> labelValueErrors(String value) {
        List<String> errors = new ArrayList<>();
        if (value.length() > LABEL_VALUE_MAX_LENGTH) {
            errors.add(maxLenError(LABEL_VALUE_MAX_LENGTH));
        }
        if (!LABEL_VALUE.matcher(value).matches()) {
            errors.add(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"));
        }
        return errors;
    }

    /** Container port names (IANA_SVC_NAME, RFC 6335): at most 15 characters. Service port names are DNS labels. */
    public static List<String> portNameErrors(String value) {
        List<String> errors = new ArrayList<>();
        if (value.length() > PORT_NAME_MAX_LENGTH) {
            errors.add(maxLenError(PORT_NAME_MAX_LENGTH));
        }
        if (!PORT_NAME_CHARSET.matcher(value).matches()) {
            errors.add("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
        }
        if (!HAS_LETTER.matcher(value).matches()) {
            errors.add("must contain at least one letter (a-z)");
        }
        if (value.contains("--")) {
            errors.add("must not contain consecutive hyphens");
        }
        if (!value.isEmpty() && (value.charAt(0) == '-' || value.charAt(value.length() - 1) == '-')) {
            errors.add("must not begin or end with a hyphen");
        }
        return errors;
    }

    /**
     * Every problem with a label map, as the API server's causes ({@code metadata.labels: Invalid value: ...}), keys
     * first, in the map's iteration order. {@code field} is the path to report, normally {@code metadata.labels}.
     */
    public static List<String> labelErrors(String field, Map<String, String> labels) {
        List<String> errors = new ArrayList<>();
        for (Map.Entry<String, String> label : labels.entrySet()) {
            for (String message : qualifiedNameErrors(label.getKey())) {
                errors.add(invalid(field, label.getKey(), message));
            }
            String value = label.getValue() == null ? "" : label.getValue();
            for (String message : labelValueErrors(value)) {
                errors.add(invalid(field, value, message));
            }
        }
        return errors;
    }

    /**
     * Every problem with an annotation map: keys are qualified names (checked lower-cased, as the API server does) and
     * all keys and values together may not exceed {@value #TOTAL_ANNOTATION_SIZE_LIMIT_BYTES} bytes.
     */
    public static List<String> annotationErrors(String field, Map<String, String> annotations) {
        List<String> errors = new ArrayList<>();
        long total = 0;
        for (Map.Entry<String, String> annotation : annotations.entrySet()) {
            for (String message : qualifiedNameErrors(annotation.getKey().toLowerCase(Locale.ROOT))) {
                errors.add(invalid(field, annotation.getKey(), message));
            }
            total += annotation.getKey().getBytes(StandardCharsets.UTF_8).length;
            total += annotation.getValue() == null ? 0 : annotation.getValue().getBytes(StandardCharsets.UTF_8).length;
        }
        if (total > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES) {
            errors.add(field + ": Too long: may not be more than " + TOTAL_ANNOTATION_SIZE_LIMIT_BYTES + " bytes");
        }
        return errors;
    }

    /**
     * A DNS-1123 label made from free text (a session id, a user name): lower-cased, every run of other characters
     * turned into one '-', trimmed to {@code maxLength} and to alphanumeric ends; {@code fallback} if nothing is
     * left. The result always passes {@link #dns1123LabelErrors(String)} when {@code fallback} does.
     */
    public static String toDns1123Label(String text, int maxLength, String fallback) {
        if (maxLength < 1 || maxLength > DNS1123_LABEL_MAX_LENGTH) {
            throw new IllegalArgumentException("maxLength must be between 1 and " + DNS1123_LABEL_MAX_LENGTH
                    + ", was " + maxLength);
        }
        String lower = text.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-");
        if (lower.length() > maxLength) {
            lower = lower.substring(0, maxLength);
        }
        lower = lower.replaceAll("^-+", "").replaceAll("-+$", "");
        return lower.isEmpty() ? fallback : lower;
    }

    /** The API server's cause text for one invalid value: {@code <field>: Invalid value: "<value>": <detail>}. */
    public static String invalid(String field, Object value, String detail) {
        return field + ": Invalid value: " + goValue(value) + ": " + detail;
    }

    /** How Go's {@code %#v} prints the value in a field error: strings quoted and escaped, numbers as they are. */
    public static String goValue(Object value) {
        if (value instanceof Number || value instanceof Boolean) {
            return String.valueOf(value);
        }
        String s = String.valueOf(value);
        StringBuilder quoted = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> quoted.append("\\\"");
                case '\\' -> quoted.append("\\\\");
                case '\n' -> quoted.append("\\n");
                case '\t' -> quoted.append("\\t");
                case '\r' -> quoted.append("\\r");
                default -> quoted.append(c);
            }
        }
        return quoted.append('"').toString();
    }

    static String maxLenError(int length) {
        return "must be no more than " + length + " characters";
    }

    private static String regexError(String message, String format, String... examples) {
        StringBuilder out = new StringBuilder(message).append(" (e.g. ");
        for (int i = 0; i < examples.length; i++) {
            if (i > 0) {
                out.append(" or ");
            }
            out.append('\'').append(examples[i]).append("', ");
        }
        return out.append("regex used for validation is '").append(format).append("')").toString();
    }
}
