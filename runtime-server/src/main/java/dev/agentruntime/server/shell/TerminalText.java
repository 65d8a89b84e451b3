package dev.agentruntime.server.shell;

import java.util.regex.Pattern;

/**
 * Turns raw terminal output into the plain text a terminal would show: ANSI escape sequences removed and
 * carriage-return overwrites resolved per line (progress bars keep their last state).
 */
final class TerminalText {

    private static final Pattern ANSI = Pattern.compile(
            "\u001B\\[[0-?]*[ -/]*[@-~]"              // CSI: colours, cursor moves
            + "|\u001B\\][^\u0007\u001B]*(?:\u0007|\u001B\\\\)" // OSC: window titles
            + "|\u001B[ -/]+[0-~]"                     // nF: charset selection (ESC ( B), ESC # 8, ...
            + "|\u001B[0-~]");                         // two-byte: ESC 7 / ESC 8 (save/restore cursor), ESC =, ESC M, ESC c

    private TerminalText() {
    }

    static String clean(String raw) {
        String text = raw.indexOf('\u001B') >= 0 ? ANSI.matcher(raw).replaceAll("") : raw;
        text = withoutInvisibleControls(text);
        if (text.indexOf('\r') < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        int start = 0;
        while (start <= text.length()) {
            int end = text.indexOf('\n', start);
            String line = text.substring(start, end < 0 ? text.length() : end);
            out.append(resolveCarriageReturns(line));
            if (end < 0) {
                break;
            }
            out.append('\n');
            start = end + 1;
        }
        return out.toString();
    }

    /**
     * Control characters a terminal shows nothing for: NUL, BEL, SO/SI and the rest of C0 apart from the ones that
     * move the cursor (backspace, tab, newline, vertical tab, form feed, carriage return) and ESC, plus DEL. The
     * terminal echoes a key sent to an idle prompt as its raw byte (ETX for C-c, with {@code -echoctl}); a screen
     * would show nothing there, and neither does the observation.
     */
    private static String withoutInvisibleControls(String text) {
        StringBuilder out = null; // created at the first invisible character: most output has none
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (invisible(c)) {
                if (out == null) {
                    out = new StringBuilder(text.length()).append(text, 0, i);
                }
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? text : out.toString();
    }

    private static boolean invisible(char c) {
        return (c < 0x20 && (c < '\b' || c > '\r') && c != '\u001B') || c == 0x7F;
    }

    /**
     * "50%\r100%" shows as "100%"; trailing "\r"s (CRLF endings) are dropped. One backward scan: trimming the
     * trailing carriage returns one substring at a time was quadratic in their number.
     */
    private static String resolveCarriageReturns(String line) {
        int cr = line.lastIndexOf('\r');
        if (cr < 0) {
            return line;
        }
        int end = line.length();
        while (end > 0 && line.charAt(end - 1) == '\r') {
            end--;
        }
        int last = line.lastIndexOf('\r', end - 1);
        return line.substring(last + 1, end);
    }
}
