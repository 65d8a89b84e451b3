package dev.agentruntime.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.Action;
import dev.agentruntime.BrowseUrlAction;
import dev.agentruntime.CmdOutputMetadata;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.ErrorObservation;
import dev.agentruntime.FileEditAction;
import dev.agentruntime.FileEditObservation;
import dev.agentruntime.FileReadAction.ImplSource;
import dev.agentruntime.FileReadAction;
import dev.agentruntime.FileReadObservation;
import dev.agentruntime.FileWriteAction;
import dev.agentruntime.FileWriteObservation;
import dev.agentruntime.IPythonRunCellAction;
import dev.agentruntime.IPythonRunCellObservation;
import dev.agentruntime.NullObservation;
import dev.agentruntime.Observation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts actions and observations to and from the OpenHands wire JSON. Field sets and order follow
 * {@code openhands/events/serialization}; unknown fields are ignored on input, legacy keys are accepted.
 */
public final class WireCodec {

    /** Shared, thread-safe mapper (configured once, never mutated afterwards). */
    public static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    public static final List<String> ACTION_TYPES = List.of("run", "run_ipython", "read", "write", "edit", "browse");

    private WireCodec() {
    }

    // ---------------------------------------------------------------- actions

    public static ObjectNode encodeAction(Action action) {
        ObjectNode root = NODES.objectNode();
        root.put("message", action.message());
        root.put("action", action.type());
        ObjectNode args = root.putObject("args");
        if (action instanceof CmdRunAction a) {
            args.put("command", a.command());
            args.put("is_input", a.isInput());
            args.put("thought", a.thought());
            args.put("blocking", a.blocking());
            args.put("is_static", a.isStatic());
            putNullable(args, "cwd", a.cwd());
            args.put("hidden", a.hidden());
            putCommon(args);
        } else if (action instanceof IPythonRunCellAction a) {
            args.put("code", a.code());
            args.put("thought", a.thought());
            args.put("include_extra", a.includeExtra());
            args.put("confirmation_state", "confirmed");
            args.put("security_risk", -1);
            args.put("kernel_init_code", a.kernelInitCode());
        } else if (action instanceof FileReadAction a) {
            args.put("path", a.path());
            args.put("start", a.start());
            args.put("end", a.end());
            args.put("thought", a.thought());
            args.put("security_risk", -1);
            args.put("impl_source", a.implSource().wire());
            if (a.viewRange() == null) {
                args.putNull("view_range");
            } else {
                ArrayNode range = args.putArray("view_range");
                a.viewRange().forEach(range::add);
            }
        } else if (action instanceof FileWriteAction a) {
            args.put("path", a.path());
            args.put("content", a.content());
            args.put("start", a.start());
            args.put("end", a.end());
            args.put("thought", a.thought());
            args.put("security_risk", -1);
        } else if (action instanceof FileEditAction a) {
            args.put("path", a.path());
            putNullable(args, "command", a.command());
            putNullable(args, "file_text", a.fileText());
            putNullable(args, "old_str", a.oldStr());
            putNullable(args, "new_str", a.newStr());
            if (a.insertLine() == null) {
                args.putNull("insert_line");
            } else {
                args.put("insert_line", a.insertLine());
            }
            args.put("content", a.content());
            args.put("start", a.start());
            args.put("end", a.end());
            args.put("thought", a.thought());
            args.put("security_risk", -1);
            args.put("impl_source", a.implSource().wire());
        } else if (action instanceof BrowseUrlAction a) {
            args.put("url", a.url());
            args.put("thought", a.thought());
            args.put("security_risk", -1);
            args.put("return_axtree", a.returnAxtree());
        }
        action.timeout().ifPresent(t -> root.put("timeout", t.toMillis() / 1000.0));
        return root;
    }

    private static void putCommon(ObjectNode args) {
        args.put("confirmation_state", "confirmed");
        args.put("security_risk", -1);
    }

    /**
     * Decodes an action object (the value of {@code "action"} in an {@code /execute_action} body).
     *
     * @throws WireFormatException 400 for an unknown or missing type, 422 for a missing or mistyped argument
     */
    public static Action decodeAction(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw new WireFormatException(400, "'action' must be a JSON object with an \"action\" type and \"args\"");
        }
        JsonNode typeNode = node.get("action");
        if (typeNode == null || !typeNode.isTextual()) {
            throw new WireFormatException(400, "Missing action type: the object needs \"action\": one of " + ACTION_TYPES);
        }
        JsonNode argsNode = node.get("args");
        if (argsNode != null && !argsNode.isNull() && !argsNode.isObject()) {
            throw new WireFormatException(422, "'args' must be a JSON object");
        }
        Args args = new Args(typeNode.asText(), argsNode == null || argsNode.isNull() ? NODES.objectNode() : argsNode);
        Duration timeout = timeout(node.get("timeout"));
        return switch (typeNode.asText()) {
            case "run" -> new CmdRunAction(args.string("command"), args.bool("is_input", false),
                    args.optString("thought", ""), args.bool("blocking", false), args.bool("is_static", false),
                    args.optString("cwd", null), args.bool("hidden", false), timeout);
            case "run_ipython" -> new IPythonRunCellAction(args.string("code"), args.optString("thought", ""),
                    args.bool("include_extra", true), args.optString("kernel_init_code", ""), timeout);
            case "read" -> new FileReadAction(args.string("path"), args.integer("start", 0), args.integer("end", -1),
                    args.optString("thought", ""), args.implSource(ImplSource.DEFAULT), args.intList("view_range"),
                    timeout);
            case "write" -> new FileWriteAction(args.string("path"), args.string("content"), args.integer("start", 0),
                    args.integer("end", -1), args.optString("thought", ""), timeout);
            // OpenHands' default command is "", but an explicit null (LLM-based edits) stays null on re-encoding.
            case "edit" -> new FileEditAction(args.string("path"),
                    args.node().has("command") ? args.optString("command", null) : "",
                    args.optString("file_text", null), args.optString("old_str", null),
                    args.optString("new_str", null), args.insertLine(), args.optString("content", ""),
                    args.integer("start", 1), args.integer("end", -1), args.optString("thought", ""),
                    args.implSource(ImplSource.OH_ACI), timeout);
            case "browse" -> new BrowseUrlAction(args.string("url"), args.optString("thought", ""),
                    args.bool("return_axtree", false), timeout);
            default -> throw new WireFormatException(400, "Unknown action type '" + typeNode.asText()
                    + "'. This server executes: " + String.join(", ", ACTION_TYPES));
        };
    }

    private static Duration timeout(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isNumber() || node.asDouble() <= 0) {
            throw new WireFormatException(422, "'timeout' must be a positive number of seconds, was " + node);
        }
        return Duration.ofMillis(Math.round(node.asDouble() * 1000));
    }

    // ----------------------------------------------------------- observations

    public static ObjectNode encodeObservation(Observation observation) {
        ObjectNode root = NODES.objectNode();
        root.put("message", observation.message());
        root.put("observation", observation.type());
        root.put("content", observation.content());
        ObjectNode extras = root.putObject("extras");
        if (observation instanceof CmdOutputObservation o) {
            extras.put("command", o.command());
            ObjectNode m = extras.putObject("metadata");
            CmdOutputMetadata md = o.metadata();
            m.put("exit_code", md.exitCode());
            m.put("pid", md.pid());
            putNullable(m, "username", md.username());
            putNullable(m, "hostname", md.hostname());
            putNullable(m, "working_dir", md.workingDir());
            putNullable(m, "py_interpreter_path", md.pyInterpreterPath());
            m.put("prefix", md.prefix());
            m.put("suffix", md.suffix());
            extras.put("hidden", o.hidden());
            root.put("success", o.success());
        } else if (observation instanceof IPythonRunCellObservation o) {
            extras.put("code", o.code());
            if (o.imageUrls() == null) {
                extras.putNull("image_urls");
            } else {
                ArrayNode urls = extras.putArray("image_urls");
                o.imageUrls().forEach(urls::add);
            }
            root.put("success", true);
        } else if (observation instanceof FileReadObservation o) {
            extras.put("path", o.path());
            extras.put("impl_source", o.implSource().wire());
        } else if (observation instanceof FileWriteObservation o) {
            extras.put("path", o.path());
        } else if (observation instanceof FileEditObservation o) {
            extras.put("path", o.path());
            extras.put("prev_exist", o.prevExist());
            putNullable(extras, "old_content", o.oldContent());
            putNullable(extras, "new_content", o.newContent());
            extras.put("impl_source", o.implSource().wire());
            putNullable(extras, "diff", o.diff());
            extras.putNull("_diff_cache");
        } else if (observation instanceof ErrorObservation o) {
            extras.put("error_id", o.errorId());
        }
        return root;
    }

    /**
     * Decodes an observation, accepting legacy extras ({@code exit_code}, {@code command_id}) and ignoring unknown keys.
     *
     * @throws WireFormatException when the type is missing or unknown
     */
    public static Observation decodeObservation(JsonNode node) {
        if (node == null || !node.isObject() || !node.path("observation").isTextual()) {
            throw new WireFormatException(400, "Not an observation: expected an object with an \"observation\" type");
        }
        String type = node.get("observation").asText();
        String content = node.path("content").isNull() ? "" : node.path("content").asText("");
        JsonNode extras = node.path("extras");
        return switch (type) {
            case "run" -> {
                JsonNode m = extras.path("metadata");
                int exit = m.has("exit_code") ? m.get("exit_code").asInt(-1) : extras.path("exit_code").asInt(-1);
                int pid = m.has("pid") ? m.get("pid").asInt(-1) : extras.path("command_id").asInt(-1);
                CmdOutputMetadata md = new CmdOutputMetadata(exit, pid, text(m, "username"), text(m, "hostname"),
                        text(m, "working_dir"), text(m, "py_interpreter_path"), text(m, "prefix"), text(m, "suffix"));
                yield new CmdOutputObservation(content, text(extras, "command"), md, extras.path("hidden").asBoolean(false));
            }
            case "run_ipython" -> {
                List<String> urls = null;
                if (extras.path("image_urls").isArray()) {
                    urls = new ArrayList<>();
                    for (JsonNode u : extras.get("image_urls")) {
                        urls.add(u.asText());
                    }
                }
                yield new IPythonRunCellObservation(content, text(extras, "code"), urls);
            }
            case "read" -> new FileReadObservation(content, text(extras, "path"),
                    implSourceOr(text(extras, "impl_source"), ImplSource.DEFAULT));
            case "write" -> new FileWriteObservation(content, text(extras, "path"));
            case "edit" -> new FileEditObservation(content, text(extras, "path"), extras.path("prev_exist").asBoolean(false),
                    text(extras, "old_content"), text(extras, "new_content"),
                    implSourceOr(text(extras, "impl_source"), ImplSource.OH_ACI), text(extras, "diff"));
            case "error" -> new ErrorObservation(content, text(extras, "error_id"));
            case "null" -> new NullObservation(content);
            default -> throw new WireFormatException(400, "Unknown observation type '" + type + "'");
        };
    }

    // ------------------------------------------------------------------ JSON

    public static String toJson(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize JSON tree", e);
        }
    }

    /** Parses JSON text; malformed input is a 400 {@link WireFormatException} naming the problem. */
    public static JsonNode parse(String json) {
        try {
            JsonNode node = MAPPER.readTree(json);
            if (node == null || node.isMissingNode()) {
                throw new WireFormatException(400, "Malformed JSON: the body is empty");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new WireFormatException(400, "Malformed JSON: " + e.getOriginalMessage());
        }
    }

    private static ImplSource implSourceOr(String wire, ImplSource fallback) {
        if (wire == null) {
            return fallback;
        }
        try {
            return ImplSource.fromWire(wire);
        } catch (IllegalArgumentException e) {
            return fallback;
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    private static void putNullable(ObjectNode node, String field, String value) {
        if (value == null) {
            node.putNull(field);
        } else {
            node.put(field, value);
        }
    }

    /** Typed access to an action's {@code args}, with errors that name the field and action. */
    private record Args(String action, JsonNode node) {

        String string(String field) {
            JsonNode value = node.get(field);
            if (value == null || value.isNull()) {
                throw new WireFormatException(422, "Missing required field '" + field + "' in args of action '" + action + "'");
            }
            if (!value.isTextual()) {
                throw new WireFormatException(422, "Field '" + field + "' of action '" + action + "' must be a string, was " + value.getNodeType());
            }
            return value.asText();
        }

        String optString(String field, String fallback) {
            JsonNode value = node.get(field);
            if (value == null || value.isNull()) {
                return fallback;
            }
            if (!value.isTextual()) {
                throw new WireFormatException(422, "Field '" + field + "' of action '" + action + "' must be a string, was " + value.getNodeType());
            }
            return value.asText();
        }

        boolean bool(String field, boolean fallback) {
            JsonNode value = node.get(field);
            if (value == null || value.isNull()) {
                return fallback;
            }
            if (!value.isBoolean()) {
                throw new WireFormatException(422, "Field '" + field + "' of action '" + action + "' must be true or false, was " + value);
            }
            return value.asBoolean();
        }

        int integer(String field, int fallback) {
            JsonNode value = node.get(field);
            if (value == null || value.isNull()) {
                return fallback;
            }
            if (!value.canConvertToInt() || !value.isIntegralNumber()) {
                throw new WireFormatException(422, "Field '" + field + "' of action '" + action + "' must be an integer, was " + value);
            }
            return value.asInt();
        }

        List<Integer> intList(String field) {
            JsonNode value = node.get(field);
            if (value == null || value.isNull()) {
                return null;
            }
            if (!value.isArray()) {
                throw new WireFormatException(422, "Field '" + field + "' of action '" + action + "' must be a list of integers, was " + value);
            }
            List<Integer> out = new ArrayList<>();
            for (JsonNode item : value) {
                if (!item.isIntegralNumber()) {
                    throw new WireFormatException(422, "Field '" + field + "' of action '" + action + "' must be a list of integers, was " + value);
                }
                out.add(item.asInt());
            }
            return out;
        }

        /**
         * {@code insert_line} may arrive as a number or a numeric string; a non-numeric string is left for the editor
         * to report (it answers with an {@code ERROR:} observation, as OpenHands does), so it decodes to null here and
         * the server reads the raw value.
         */
        Integer insertLine() {
            JsonNode value = node.get("insert_line");
            if (value == null || value.isNull()) {
                return null;
            }
            if (value.isIntegralNumber()) {
                return value.asInt();
            }
            if (value.isTextual()) {
                try {
                    return Integer.parseInt(value.asText().trim());
                } catch (NumberFormatException e) {
                    return null;
                }
            }
            throw new WireFormatException(422, "Field 'insert_line' of action 'edit' must be an integer, was " + value);
        }

        ImplSource implSource(ImplSource fallback) {
            String wire = optString("impl_source", null);
            if (wire == null) {
                return fallback;
            }
            try {
                return ImplSource.fromWire(wire);
            } catch (IllegalArgumentException e) {
                throw new WireFormatException(422, "Field 'impl_source' of action '" + action + "': " + e.getMessage());
            }
        }
    }
}

