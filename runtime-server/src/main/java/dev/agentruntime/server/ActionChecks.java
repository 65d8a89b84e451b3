package dev.agentruntime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Map;

/**
 * What an action must satisfy before anything runs, checked on the raw JSON so that no part of the server (the shell,
 * the file service, the kernel) ever sees it otherwise. The one place for these rules:
 *
 * <ul>
 *   <li>Every string in the action is well-formed Unicode: a lone UTF-16 surrogate ({@code "\ud800"} in JSON) has no
 *       UTF-8 form, so no file, terminal or path could carry it faithfully. {@code 422}, naming the field and index.
 *   <li>No NUL character in a command, an {@code is_input} text, a path or a working directory: bash and the kernel
 *       cut C strings at NUL, so the rest would be silently dropped. {@code 422}. (File contents may hold NUL.)
 *   <li>Sizes: a command, an {@code is_input} text (and each of its lines: the terminal's canonical limit), a write's
 *       content and the editor's texts have limits ({@link ServerLimits}). {@code 413}.
 *   <li>A {@code timeout} beyond the longest action time is clamped to it ({@code 1e308} means "as long as
 *       allowed"), so no deadline arithmetic can overflow.
 * </ul>
 */
final class ActionChecks {

    private ActionChecks() {
    }

    static void check(JsonNode action, ServerLimits limits) {
        if (action == null || !action.isObject()) {
            return; // the codec reports the shape
        }
        wellFormed(action, "action", 0);
        clampTimeout((ObjectNode) action, limits);
        JsonNode args = action.get("args");
        if (args == null || !args.isObject()) {
            return;
        }
        String type = action.path("action").asText("");
        switch (type) {
            case "run" -> {
                boolean input = args.path("is_input").asBoolean(false);
                JsonNode command = args.get("command");
                if (command != null && command.isTextual()) {
                    String text = command.textValue();
                    noNul(text, "args.command", input ? "send a key like C-@ instead" : "write binary data to a file"
                            + " with the write action or /upload_file and use it from there");
                    if (input) {
                        inputSize(text, limits);
                    } else {
                        size(text, limits.maxCommandBytes(), "args.command", "AGENT_RUNTIME_MAX_COMMAND_BYTES",
                                "put a long script in a file (the write action) and run the file");
                    }
                }
                textNoNul(args, "cwd");
            }
            case "read", "write", "edit" -> {
                textNoNul(args, "path");
                long max = limits.maxFileBytes();
                String hint = "write large files with /upload_file";
                for (String field : new String[] {"content", "file_text", "old_str", "new_str"}) {
                    JsonNode value = args.get(field);
                    if (value != null && value.isTextual()) {
                        size(value.textValue(), max, "args." + field, "AGENT_RUNTIME_MAX_FILE_BYTES", hint);
                    }
                }
            }
            case "run_ipython" -> {
                JsonNode code = args.get("code");
                if (code != null && code.isTextual()) {
                    noNul(code.textValue(), "args.code", "write binary data to a file");
                    size(code.textValue(), limits.maxCommandBytes(), "args.code", "AGENT_RUNTIME_MAX_COMMAND_BYTES",
                            "put long code in a file and run it");
                }
            }
            default -> {
                // other types carry nothing that reaches a process or a file
            }
        }
    }

    private static void clampTimeout(ObjectNode action, ServerLimits limits) {
        JsonNode timeout = action.get("timeout");
        double max = limits.maxActionTime().toMillis() / 1000.0;
        if (timeout != null && timeout.isNumber() && timeout.asDouble() > max) {
            action.put("timeout", max);
        }
    }

    /** Every string (and field name) under {@code node} is valid Unicode. */
    private static void wellFormed(JsonNode node, String where, int depth) {
        if (node.isTextual()) {
            int bad = loneSurrogate(node.textValue());
            if (bad >= 0) {
                throw lone(where, node.textValue(), bad);
            }
        } else if (node.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> field = fields.next();
                int bad = loneSurrogate(field.getKey());
                if (bad >= 0) {
                    throw lone(where + " (a field name)", field.getKey(), bad);
                }
                wellFormed(field.getValue(), where + "." + field.getKey(), depth + 1);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                wellFormed(node.get(i), where + "[" + i + "]", depth + 1);
            }
        }
    }

    private static HttpIo.RequestException lone(String where, String text, int index) {
        return new HttpIo.RequestException(422, where.replaceFirst("^action\\.", "") + " contains a lone UTF-16"
                + " surrogate (\\u" + String.format("%04x", (int) text.charAt(index)) + " at index " + index + "): JSON"
                + " strings must be valid Unicode (a character beyond U+FFFF is a surrogate pair). Nothing was run.");
    }

    /** The index of the first unpaired surrogate, or -1. */
    static int loneSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else {
                    return i;
                }
            } else if (Character.isLowSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    private static void textNoNul(JsonNode args, String field) {
        JsonNode value = args.get(field);
        if (value != null && value.isTextual()) {
            noNul(value.textValue(), "args." + field, "paths cannot contain NUL");
        }
    }

    private static void noNul(String text, String field, String hint) {
        int at = text.indexOf('\0');
        if (at >= 0) {
            throw new HttpIo.RequestException(422, field + " contains a NUL character at index " + at + ": it cannot"
                    + " reach bash or the file system intact (C strings end at NUL); " + hint + ". Nothing was run.");
        }
    }

    private static void inputSize(String text, ServerLimits limits) {
        size(text, limits.maxInputBytes(), "args.command (is_input)", "AGENT_RUNTIME_MAX_INPUT_BYTES",
                "write the input to a file and redirect the program's stdin from it");
        int lineBytes = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\r') {
                lineBytes = 0;
                continue;
            }
            lineBytes += utf8Length(c);
            if (Character.isHighSurrogate(c)) {
                i++;
            }
            if (lineBytes > ServerLimits.MAX_INPUT_LINE_BYTES) {
                throw new HttpIo.RequestException(413, "args.command (is_input) has a line longer than "
                        + ServerLimits.MAX_INPUT_LINE_BYTES + " bytes: a terminal in canonical mode delivers at most"
                        + " that much of one line to the program and drops the rest. Break the input into lines, or"
                        + " write it to a file and redirect the program's stdin from it. Nothing was sent.");
            }
        }
    }

    private static void size(String text, long max, String field, String variable, String hint) {
        long bytes = utf8Length(text, max);
        if (bytes > max) {
            throw new HttpIo.RequestException(413, field + " is larger than the limit of " + max + " bytes (UTF-8;"
                    + " set " + variable + " to change it): " + hint + ". Nothing was run.");
        }
    }

    /** UTF-8 length of {@code s}, stopping early once it exceeds {@code stopAbove}. */
    static long utf8Length(String s, long stopAbove) {
        if (s.length() > stopAbove) {
            return s.length(); // at least one byte per char
        }
        long n = 0;
        for (int i = 0; i < s.length() && n <= stopAbove; i++) {
            char c = s.charAt(i);
            n += utf8Length(c);
            if (Character.isHighSurrogate(c)) {
                i++;
            }
        }
        return n;
    }

    private static int utf8Length(char c) {
        if (c < 0x80) {
            return 1;
        }
        if (c < 0x800) {
            return 2;
        }
        return Character.isHighSurrogate(c) ? 4 : 3;
    }
}
