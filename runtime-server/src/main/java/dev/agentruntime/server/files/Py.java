package dev.agentruntime.server.files;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The handful of Python string, path and message conventions the OpenHands messages are built from, so the
 * text we answer matches what {@code str()}, {@code repr()}, {@code pathlib} and {@code io} would have produced.
 */
final class Py {

    private Py() {
    }

    /**
     * {@code str(pathlib.PurePosixPath(p))}: repeated slashes and {@code .} segments collapse, a trailing slash
     * goes, {@code ..} stays, and the empty path is {@code .}.
     */
    static String path(String p) {
        boolean absolute = p.startsWith("/");
        StringBuilder out = new StringBuilder(absolute ? "/" : "");
        for (String segment : p.split("/")) {
            if (segment.isEmpty() || segment.equals(".")) {
                continue;
            }
            if (out.length() > 0 && out.charAt(out.length() - 1) != '/') {
                out.append('/');
            }
            out.append(segment);
        }
        return out.length() == 0 ? "." : out.toString();
    }

    /** {@code str(Path(base) / child)} for a relative child. */
    static String join(String base, String child) {
        return path(base + "/" + child);
    }

    /** A filesystem path for a Python path string, or empty when the JDK cannot represent it (e.g. a NUL byte). */
    static Optional<Path> fs(String p) {
        try {
            return Optional.of(Path.of(p));
        } catch (InvalidPathException e) {
            return Optional.empty();
        }
    }

    /** {@code Path.suffix}: the last dot-extension of the final segment, or "" (".bashrc" and "a." have none). */
    static String suffix(String p) {
        String name = p.substring(p.lastIndexOf('/') + 1);
        int dot = name.lastIndexOf('.');
        return dot > 0 && dot < name.length() - 1 ? name.substring(dot) : "";
    }

    /** {@code str.isspace()} for one character (Unicode White_Space plus the ASCII separators 0x1c-0x1f). */
    static boolean isSpace(char c) {
        switch (c) {
            case ' ', '\t', '\n', '\u000b', '\f', '\r', '\u001c', '\u001d', '\u001e', '\u001f', '\u0085', '\u00a0',
                 '\u1680', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000' -> {
                return true;
            }
            default -> {
                return c >= '\u2000' && c <= '\u200a';
            }
        }
    }

    /** {@code str.strip()}. */
    static String strip(String s) {
        int from = 0;
        int to = s.length();
        while (from < to && isSpace(s.charAt(from))) {
            from++;
        }
        while (to > from && isSpace(s.charAt(to - 1))) {
            to--;
        }
        return s.substring(from, to);
    }

    /** Text-mode reading with universal newlines: {@code \r\n} and lone {@code \r} become {@code \n}. */
    static String universalNewlines(String s) {
        if (s.indexOf('\r') < 0) {
            return s;
        }
        return s.replace("\r\n", "\n").replace('\r', '\n');
    }

    /** {@code file.readlines()} on text already in universal-newline form: every line keeps its {@code \n}. */
    static List<String> readLines(String text) {
        List<String> lines = new ArrayList<>();
        int from = 0;
        while (from < text.length()) {
            int nl = text.indexOf('\n', from);
            int to = nl < 0 ? text.length() : nl + 1;
            lines.add(text.substring(from, to));
            from = to;
        }
        return lines;
    }

    /** {@code str.splitlines()} (without keepends), including its extra line boundaries. */
    static List<String> splitLines(String s) {
        List<String> out = new ArrayList<>();
        int start = 0;
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            boolean boundary = c == '\n' || c == '\r' || c == '\u000b' || c == '\f' || c == '\u001c' || c == '\u001d'
                    || c == '\u001e' || c == '\u0085' || c == '\u2028' || c == '\u2029';
            if (!boundary) {
                i++;
                continue;
            }
            out.add(s.substring(start, i));
            i += c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n' ? 2 : 1;
            start = i;
        }
        if (start < s.length()) {
            out.add(s.substring(start));
        }
        return out;
    }

    static int count(String s, char c) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == c) {
                n++;
            }
        }
        return n;
    }

    /** {@code len(s)}: Python counts code points, not UTF-16 units. */
    static int length(String s) {
        return s.codePointCount(0, s.length());
    }

    /** {@code s[:n]} in code points. */
    static String head(String s, int codePoints) {
        if (length(s) <= codePoints) {
            return s;
        }
        return s.substring(0, s.offsetByCodePoints(0, codePoints));
    }

    /** {@code repr(s)} for the strings that appear in OS error messages. */
    static String repr(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder out = new StringBuilder().append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c == quote) {
                        out.append('\\');
                    }
                    if (c < 0x20 || c == 0x7f) {
                        out.append(String.format("\\x%02x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append(quote).toString();
    }

    /** {@code str(list_of_ints)}: {@code [1, 2]}. */
    static String list(List<?> values) {
        StringBuilder out = new StringBuilder("[");
        for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
                out.append(", ");
            }
            Object v = values.get(i);
            out.append(v == null ? "None" : v);
        }
        return out.append(']').toString();
    }

    /** {@code f'{x:.1f}'}: Python rounds the exact binary value half-to-even. */
    static String oneDecimal(double x) {
        return new BigDecimal(x).setScale(1, RoundingMode.HALF_EVEN).toPlainString();
    }

    /** {@code 10} for a whole number (OHEditor prints its limit as an int), else one decimal. */
    static String oneDecimalOrWhole(double x) {
        return x == Math.rint(x) ? Long.toString((long) x) : oneDecimal(x);
    }

    /** {@code str(OSError)} as Python prints it for the common errno values, e.g. {@code [Errno 2] No such file ...}. */
    static String osError(IOException e, String path) {
        String reason = e instanceof FileSystemException fse ? fse.getReason() : null;
        if (e instanceof NoSuchFileException) {
            return "[Errno 2] No such file or directory: " + repr(path);
        }
        if (e instanceof AccessDeniedException) {
            return "[Errno 13] Permission denied: " + repr(path);
        }
        if (reason != null) {
            switch (reason) {
                case "Is a directory" -> {
                    return "[Errno 21] Is a directory: " + repr(path);
                }
                case "Not a directory" -> {
                    return "[Errno 20] Not a directory: " + repr(path);
                }
                case "Operation not permitted" -> {
                    return "[Errno 1] Operation not permitted: " + repr(path);
                }
                case "No space left on device" -> {
                    return "[Errno 28] No space left on device: " + repr(path);
                }
                default -> {
                    return reason + ": " + repr(path);
                }
            }
        }
        return String.valueOf(e.getMessage());
    }
}
