package dev.agentruntime.daytona.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What this backend reads of Daytona's {@code Sandbox} JSON.
 *
 * @param state           one of Daytona's 22 {@code SandboxState} values ({@code started}, {@code stopped},
 *                        {@code error}, {@code build_failed}, {@code paused}, ...)
 * @param errorReason     why it is in {@code error} / {@code build_failed}
 * @param toolboxProxyUrl the toolbox base; requests go to {@code <toolboxProxyUrl>/<id>/<path>}
 * @param sandboxClass    {@code container}, {@code linux-vm}, ...; empty when the API did not say
 */
public record DaytonaSandbox(String id, String name, String state, Optional<String> errorReason,
                             Optional<String> toolboxProxyUrl, Map<String, String> labels,
                             Optional<String> sandboxClass, boolean recoverable) {

    public static final String STARTED = "started";
    public static final String STOPPED = "stopped";
    public static final String PAUSED = "paused";
    public static final String ERROR = "error";
    public static final String BUILD_FAILED = "build_failed";
    public static final String DESTROYED = "destroyed";
    public static final String DESTROYING = "destroying";
    public static final String ARCHIVED = "archived";
    /** Classes whose pause keeps memory and processes (a VM snapshot); containers cannot pause. */
    public static final Set<String> PAUSABLE_CLASSES = Set.of("linux-vm");

    public DaytonaSandbox {
        labels = Map.copyOf(labels);
    }

    /** Parses a {@code Sandbox} or {@code SandboxListItem}. */
    public static DaytonaSandbox parse(JsonNode node) {
        Map<String, String> labels = new LinkedHashMap<>();
        JsonNode l = node.path("labels");
        if (l.isObject()) {
            l.fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
        }
        return new DaytonaSandbox(node.path("id").asText(), node.path("name").asText(""),
                node.path("state").asText("unknown"), text(node, "errorReason"), text(node, "toolboxProxyUrl"),
                labels, text(node, "sandboxClass"), node.path("recoverable").asBoolean(false));
    }

    private static Optional<String> text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() || value.asText().isBlank() ? Optional.empty()
                : Optional.of(value.asText());
    }

    /** Whether it failed for good ({@code error}, {@code build_failed}). */
    public boolean failed() {
        return ERROR.equals(state) || BUILD_FAILED.equals(state);
    }

    /** Whether it is gone or going. */
    public boolean gone() {
        return DESTROYED.equals(state) || DESTROYING.equals(state);
    }

    /** Whether its class can pause (keeping processes). */
    public boolean pausable() {
        return sandboxClass.map(PAUSABLE_CLASSES::contains).orElse(false);
    }

    /** The state and, when there is one, the reason, for messages. */
    public String describeState() {
        return "'" + state + "'" + errorReason.map(r -> " (" + r + ")").orElse("");
    }
}
