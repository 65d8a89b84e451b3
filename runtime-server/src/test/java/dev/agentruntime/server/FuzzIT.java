package dev.agentruntime.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.server.ServerProcess.Response;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;

/**
 * A bounded, fixed-seed fuzz of {@code /execute_action} and {@code /upload_file} bodies against the real server:
 * malformed JSON, wrong types, huge numbers, Unicode edge cases (lone surrogates, NUL, non-characters), deep nesting,
 * truncated bodies, truncated and wrong multipart, hostile zips. Every answer must be 2xx or 4xx with a JSON body,
 * never 5xx and never a dropped connection, and after every batch an {@code echo} must still answer. Commands are
 * always {@code echo} of a quoted payload and paths stay in the working directory, so the fuzz can only ever touch
 * its own sandbox. Counts are printed.
 */
class FuzzIT {

    private static final long SEED = 0x15_2025L;
    private static final int ACTION_CASES = Integer.getInteger("agent.runtime.fuzz.actions", 3000);
    private static final int UPLOAD_CASES = Integer.getInteger("agent.runtime.fuzz.uploads", 1000);
    private static final int BATCH = 250;
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private static final String[] TYPES = {"run", "read", "write", "edit", "browse", "run_ipython", "", "RUN", "mcp"};
    private static final String[] EDIT_COMMANDS = {"view", "create", "str_replace", "insert", "undo_edit", "rm", ""};

    @Test
    void actionAndUploadBodiesNeverGetA5xxOrWedgeTheServer() {
        Random random = new Random(SEED);
        try (ServerProcess server = ServerProcess.start(Map.of("SESSION_API_KEY", "fuzz-key",
                "NO_CHANGE_TIMEOUT_SECONDS", "1"))) {
            Map<Integer, Integer> actionStatuses = new TreeMap<>();
            for (int i = 0; i < ACTION_CASES; i++) {
                String body = actionBody(random, server.workingDir(), i);
                Response response = server.send("POST", "/execute_action", body, "fuzz-key", Duration.ofSeconds(60));
                check(response, "action case " + i + ": " + abbreviate(body));
                actionStatuses.merge(response.status(), 1, Integer::sum);
                if ((i + 1) % BATCH == 0) {
                    assertEchoAnswers(server, "after action case " + i);
                }
            }
            Map<Integer, Integer> uploadStatuses = new TreeMap<>();
            for (int i = 0; i < UPLOAD_CASES; i++) {
                Upload upload = uploadBody(random, server.workingDir(), i);
                Response response = server.postBytes(upload.query, upload.contentType, upload.body);
                check(response, "upload case " + i + ": " + upload.query);
                uploadStatuses.merge(response.status(), 1, Integer::sum);
                if ((i + 1) % BATCH == 0) {
                    assertEchoAnswers(server, "after upload case " + i);
                }
            }
            System.out.printf("[fuzz] seed %#x: %d /execute_action cases by status %s; %d /upload_file cases by status"
                    + " %s; 0 5xx, 0 wedged (an echo answered after each of %d batches)%n", SEED, ACTION_CASES,
                    actionStatuses, UPLOAD_CASES, uploadStatuses, (ACTION_CASES + UPLOAD_CASES) / BATCH);
            assertThat(actionStatuses.keySet()).allMatch(s -> s >= 200 && s < 500);
            assertThat(uploadStatuses.keySet()).allMatch(s -> s >= 200 && s < 500);
        }
    }

    private static void check(Response response, String what) {
        assertThat(response.status()).as(what + " -> " + response.body()).isBetween(200, 499);
        assertThat(response.contentType()).as(what).startsWith("application/json");
        response.json(); // parses
    }

    private static void assertEchoAnswers(ServerProcess server, String when) {
        server.ensureIdle();
        assertThat(server.execute("echo fuzz-alive").content()).as(when).isEqualTo("fuzz-alive");
    }

    // ------------------------------------------------------------------ actions

    private static String actionBody(Random r, Path root, int i) {
        int kind = r.nextInt(10);
        if (kind == 0) {
            return garbage(r);
        }
        ObjectNode action = NODES.objectNode();
        String type = TYPES[r.nextInt(TYPES.length)];
        if (r.nextInt(20) > 0) {
            action.set("action", r.nextInt(15) == 0 ? anyValue(r, 0) : NODES.textNode(type));
        }
        ObjectNode args = NODES.objectNode();
        switch (type) {
            case "run" -> {
                args.set("command", r.nextInt(8) == 0 ? anyValue(r, 0) : NODES.textNode(command(r)));
                maybe(r, args, "is_input", bool(r));
                maybe(r, args, "blocking", bool(r));
                maybe(r, args, "hidden", bool(r));
                maybe(r, args, "is_static", NODES.booleanNode(false));
                maybe(r, args, "cwd", r.nextBoolean() ? NODES.nullNode() : NODES.textNode(path(r, root)));
            }
            case "read" -> {
                args.set("path", r.nextInt(8) == 0 ? anyValue(r, 0) : NODES.textNode(path(r, root)));
                maybe(r, args, "start", number(r));
                maybe(r, args, "end", number(r));
                maybe(r, args, "impl_source", NODES.textNode(r.nextBoolean() ? "oh_aci" : text(r, 8)));
                maybe(r, args, "view_range", r.nextBoolean() ? range(r) : anyValue(r, 0));
            }
            case "write" -> {
                args.set("path", r.nextInt(8) == 0 ? anyValue(r, 0) : NODES.textNode(path(r, root)));
                args.set("content", r.nextInt(8) == 0 ? anyValue(r, 0) : NODES.textNode(text(r, r.nextInt(4000))));
                maybe(r, args, "start", number(r));
                maybe(r, args, "end", number(r));
            }
            case "edit" -> {
                args.set("path", r.nextInt(8) == 0 ? anyValue(r, 0) : NODES.textNode(path(r, root)));
                args.put("command", EDIT_COMMANDS[r.nextInt(EDIT_COMMANDS.length)]);
                maybe(r, args, "file_text", NODES.textNode(text(r, r.nextInt(2000))));
                maybe(r, args, "old_str", NODES.textNode(text(r, r.nextInt(20))));
                maybe(r, args, "new_str", NODES.textNode(text(r, r.nextInt(20))));
                maybe(r, args, "insert_line", r.nextBoolean() ? number(r) : NODES.textNode(text(r, 4)));
                maybe(r, args, "impl_source", NODES.textNode(r.nextBoolean() ? "oh_aci" : "llm_based_edit"));
            }
            case "run_ipython" -> args.set("code", anyValue(r, 0)); // wrong types only: no code is run
            default -> {
                args.set("url", NODES.textNode(text(r, 30)));
                args.set(text(r, 5), anyValue(r, 0));
            }
        }
        for (int extra = r.nextInt(3); extra > 0; extra--) {
            args.set(text(r, 6), anyValue(r, 0));
        }
        if (r.nextInt(12) == 0) {
            action.set("args", anyValue(r, 0));
        } else if (r.nextInt(30) > 0) {
            action.set("args", args);
        }
        if (r.nextInt(3) > 0) {
            action.set("timeout", r.nextInt(6) == 0 ? anyValue(r, 0) : timeout(r));
        }
        JsonNode body;
        if (r.nextInt(25) == 0) {
            body = anyValue(r, 0);
        } else {
            ObjectNode envelope = NODES.objectNode();
            envelope.set(r.nextInt(30) == 0 ? "actions" : "action", r.nextInt(25) == 0 ? anyValue(r, 0) : action);
            body = envelope;
        }
        String json = body.toString();
        json = escapeSometimes(r, json);
        if (r.nextInt(12) == 0) {
            json = json.substring(0, r.nextInt(json.length() + 1)); // truncated
        }
        if (r.nextInt(40) == 0) {
            json = "[".repeat(2000 + r.nextInt(3000)) + "]".repeat(r.nextInt(10)); // deep nesting
        }
        return json;
    }

    /** Raw-JSON tricks that a tree cannot carry: lone surrogate and NUL escapes, duplicate keys, BOMs. */
    private static String escapeSometimes(Random r, String json) {
        return switch (r.nextInt(14)) {
            case 0 -> json.replaceFirst("\"echo ", "\"echo \\\\ud800");
            case 1 -> json.replaceFirst("\"echo ", "\"echo \\\\udfff\\\\ud800");
            case 2 -> json.replaceFirst("\"echo ", "\"echo a\\\\u0000b");
            case 3 -> json.replaceFirst("\\{", "{\"action\": 1, ");
            case 4 -> "\uFEFF" + json;
            default -> json;
        };
    }

    /** Always an echo of a single-quoted payload (or a key): the shell never runs anything else. */
    private static String command(Random r) {
        return switch (r.nextInt(12)) {
            case 0 -> "C-c";
            case 1 -> "";
            case 2 -> "echo " + quote(text(r, 20)) + " && echo " + quote(text(r, 5));
            case 3 -> "echo one; echo two";
            default -> "echo " + quote(text(r, r.nextInt(60)));
        };
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** A path inside the working directory: the name is random Unicode, but never a separator or '..'. */
    private static String path(Random r, Path root) {
        String name = text(r, 1 + r.nextInt(30)).replace('/', '_').replace('\\', '_');
        if (name.isBlank() || name.equals(".") || name.equals("..")) {
            name = "n" + r.nextInt(100);
        }
        return root.resolve("fuzz").toString() + "/" + name.replace("..", "__");
    }

    private static final String[] ALPHABETS = {
        "abcdefghijklmnopqrstuvwxyz0123456789 ", "\"'`$\\{}[]()<>|&;*?!#~%^=+,.:-_\t\n\r",
        "äöüßéèçñÆØÅ", "中文日本語한국어", "\u200B\u200E\u202E\uFEFF\uFFFD\uFFFF", "\u0001\u0002\u001B\u007F",
    };

    private static String text(Random r, int length) {
        StringBuilder s = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            int pick = r.nextInt(20);
            if (pick == 0) {
                s.appendCodePoint(0x1F600 + r.nextInt(80)); // a surrogate pair
            } else {
                String alphabet = ALPHABETS[pick % ALPHABETS.length];
                s.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
        }
        return s.toString();
    }

    private static JsonNode anyValue(Random r, int depth) {
        return switch (r.nextInt(depth > 3 ? 6 : 9)) {
            case 0 -> NODES.nullNode();
            case 1 -> bool(r);
            case 2 -> number(r);
            case 3 -> NODES.textNode(text(r, r.nextInt(40)));
            case 4 -> NODES.numberNode(new java.math.BigInteger(200, r));
            case 5 -> NODES.numberNode(r.nextBoolean() ? 1e308 : -1e-308);
            case 6 -> {
                ArrayNode a = NODES.arrayNode();
                for (int i = r.nextInt(4); i > 0; i--) {
                    a.add(anyValue(r, depth + 1));
                }
                yield a;
            }
            default -> {
                ObjectNode o = NODES.objectNode();
                for (int i = r.nextInt(4); i > 0; i--) {
                    o.set(text(r, 5), anyValue(r, depth + 1));
                }
                yield o;
            }
        };
    }

    private static JsonNode number(Random r) {
        return switch (r.nextInt(7)) {
            case 0 -> NODES.numberNode(-1);
            case 1 -> NODES.numberNode(0);
            case 2 -> NODES.numberNode(Long.MAX_VALUE);
            case 3 -> NODES.numberNode(Integer.MIN_VALUE);
            case 4 -> NODES.numberNode(r.nextDouble() * 1e12);
            case 5 -> NODES.textNode(Integer.toString(r.nextInt(100)));
            default -> NODES.numberNode(r.nextInt(200) - 50);
        };
    }

    private static JsonNode timeout(Random r) {
        return switch (r.nextInt(6)) {
            case 0 -> NODES.numberNode(1e308);
            case 1 -> NODES.numberNode(-5);
            case 2 -> NODES.numberNode(0);
            case 3 -> NODES.numberNode(0.001);
            default -> NODES.numberNode(5 + r.nextInt(20));
        };
    }

    private static JsonNode range(Random r) {
        ArrayNode a = NODES.arrayNode();
        for (int i = r.nextInt(4); i > 0; i--) {
            a.add(number(r));
        }
        return a;
    }

    private static JsonNode bool(Random r) {
        return r.nextInt(6) == 0 ? NODES.textNode("yes") : NODES.booleanNode(r.nextBoolean());
    }

    private static void maybe(Random r, ObjectNode args, String field, JsonNode value) {
        if (r.nextBoolean()) {
            args.set(field, value);
        }
    }

    private static String garbage(Random r) {
        byte[] bytes = new byte[r.nextInt(200)];
        r.nextBytes(bytes);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    private static String abbreviate(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    // ------------------------------------------------------------------ uploads

    private record Upload(String query, String contentType, byte[] body) {
    }

    private static Upload uploadBody(Random r, Path root, int i) {
        String dest = root.resolve("uploads").resolve("u" + i).toString();
        String query = switch (r.nextInt(12)) {
            case 0 -> "/upload_file";
            case 1 -> "/upload_file?destination=relative/dir";
            case 2 -> "/upload_file?destination=" + dest + "&recursive=" + text(r, 3).replaceAll("[^a-z]", "x");
            case 3 -> "/upload_file?destination=%FF%FE" + dest; // escapes that are not UTF-8
            case 4 -> "/upload_file?destination=" + dest + "&recursive=true";
            default -> "/upload_file?destination=" + dest;
        };
        String boundary = ServerProcess.BOUNDARY;
        String contentType = switch (r.nextInt(14)) {
            case 0 -> "application/json";
            case 1 -> "multipart/form-data";
            case 2 -> "multipart/form-data; boundary=other-boundary";
            default -> "multipart/form-data; boundary=" + boundary;
        };
        boolean zip = r.nextInt(3) > 0;
        String filename = zip ? "f" + i + ".zip" : switch (r.nextInt(8)) {
            case 0 -> "../escape.txt";
            case 1 -> "";
            case 2 -> "a".repeat(300);
            case 3 -> "..";
            default -> "f" + i + ".txt";
        };
        byte[] content = zip ? hostileZip(r) : text(r, r.nextInt(500)).getBytes(StandardCharsets.UTF_8);
        byte[] body = ServerProcess.multipart(filename, content);
        switch (r.nextInt(10)) {
            case 0 -> body = java.util.Arrays.copyOf(body, r.nextInt(body.length + 1)); // truncated multipart
            case 1 -> {
                byte[] flipped = body.clone();
                for (int k = r.nextInt(8); k >= 0; k--) {
                    flipped[r.nextInt(flipped.length)] ^= (byte) (1 + r.nextInt(255));
                }
                body = flipped;
            }
            case 2 -> body = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--"
                    + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII);
            default -> {
                // well-formed
            }
        }
        return new Upload(query, contentType, body);
    }

    private static byte[] hostileZip(Random r) {
        try {
            switch (r.nextInt(8)) {
                case 0 -> {
                    return HostileZips.bomb(1 + r.nextInt(3), 1 + r.nextInt(8), r.nextBoolean());
                }
                case 1 -> {
                    byte[] bytes = new byte[r.nextInt(300)];
                    r.nextBytes(bytes);
                    return bytes; // not a zip
                }
                case 2 -> {
                    return HostileZips.longName(200 + r.nextInt(200));
                }
                default -> {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    try (ZipOutputStream zip = new ZipOutputStream(out)) {
                        for (int e = r.nextInt(6); e >= 0; e--) {
                            String name = switch (r.nextInt(9)) {
                                case 0 -> "../up-" + e;
                                case 1 -> "/abs-" + e;
                                case 2 -> "dir" + e + "/";
                                case 3 -> "a/../../b" + e;
                                case 4 -> "C:/win" + e;
                                case 5 -> "dup";
                                default -> "d/" + text(r, 1 + r.nextInt(12)).replace('/', '_') + e;
                            };
                            try {
                                zip.putNextEntry(new ZipEntry(name));
                            } catch (java.util.zip.ZipException duplicate) {
                                continue;
                            }
                            if (!name.endsWith("/")) {
                                zip.write(text(r, r.nextInt(200)).getBytes(StandardCharsets.UTF_8));
                            }
                            zip.closeEntry();
                        }
                    }
                    byte[] bytes = out.toByteArray();
                    if (r.nextInt(3) == 0 && bytes.length > 0) {
                        bytes = r.nextBoolean() ? java.util.Arrays.copyOf(bytes, r.nextInt(bytes.length)) : flip(r, bytes);
                    }
                    return bytes;
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static byte[] flip(Random r, byte[] bytes) {
        byte[] out = bytes.clone();
        for (int k = 1 + r.nextInt(6); k > 0; k--) {
            out[r.nextInt(out.length)] ^= (byte) (1 + r.nextInt(255));
        }
        return out;
    }
}
