package dev.agentruntime;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * No {@link dev.agentruntime.spi.RuntimeProvider} on the class path serves the requested type; the message lists
 * those that do and, for a type given in another case or with a typo, says which one was probably meant.
 */
public class UnknownRuntimeTypeException extends InvalidConfigException {

    private final List<String> availableTypes;

    public UnknownRuntimeTypeException(String requested, List<String> availableTypes) {
        super(message(requested, availableTypes));
        this.availableTypes = List.copyOf(availableTypes);
    }

    public List<String> availableTypes() {
        return availableTypes;
    }

    /** The available type {@code requested} most likely meant: the same in another case, or within two edits. */
    public static Optional<String> closest(String requested, List<String> availableTypes) {
        String wanted = requested.toLowerCase(Locale.ROOT).strip();
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String type : availableTypes) {
            int distance = editDistance(wanted, type.toLowerCase(Locale.ROOT));
            if (distance < bestDistance) {
                best = type;
                bestDistance = distance;
            }
        }
        return bestDistance <= Math.min(2, Math.max(1, wanted.length() / 3)) ? Optional.of(best) : Optional.empty();
    }

    private static String message(String requested, List<String> availableTypes) {
        String guess = closest(requested, availableTypes).map(type -> " Did you mean '" + type + "'?").orElse("");
        return "No runtime backend of type '" + requested + "' is on the class path." + guess + " Available types: "
                + (availableTypes.isEmpty() ? "(none)" : String.join(", ", availableTypes))
                + ". Add the backend's module (e.g. dev.agentruntime:runtime-" + requested.toLowerCase(Locale.ROOT)
                + ") as a dependency or pick one of the available types.";
    }

    /** Levenshtein distance, with a transposition of neighbours counting as one edit ("dokcer"). */
    private static int editDistance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
