package dev.agentruntime.kubernetes.sim;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The shape of a watch sequence, the same for a recording and for a simulated run: one line per watch event with the
 * type, phase, binding, deletion state, finalizers, pod-level reason/message, the conditions in array order (type,
 * status, reason, message) and each container's state, last state, ready/started flags and restart count. Names are
 * kept (the tests use the recorded names); uids, IPs, timestamps, resource versions and durations are not part of a
 * shape, and neither is the deletion grace beyond "graceful" versus 0. Wording is: every reason and message is
 * compared after uids and IPs are masked.
 */
final class Shapes {

    private static final Pattern UUID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    private static final Pattern IP = Pattern.compile("\\b\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\b");

    private Shapes() {
    }

    /** A recorded {@code watch} array (items with {@code type}, {@code metadata}, {@code spec.nodeName}, {@code status}). */
    static List<String> recordedPod(JsonNode watch) {
        List<String> out = new ArrayList<>();
        for (JsonNode item : watch) {
            if (item.path("type").asText().equals("BOOKMARK")) {
                continue;
            }
            out.add(pod(item.path("type").asText(), item.path("metadata"), item.path("spec.nodeName").asText(""),
                    item.path("status")));
        }
        return out;
    }

    /** One observed watch event on a pod (the full object). */
    static String observedPod(String type, JsonNode pod) {
        return pod(type, pod.path("metadata"), pod.path("spec").path("nodeName").asText(""), pod.path("status"));
    }

    private static String pod(String type, JsonNode metadata, String nodeName, JsonNode status) {
        StringBuilder s = new StringBuilder(type);
        s.append(" phase=").append(status.path("phase").asText("-"));
        s.append(" bound=").append(!nodeName.isEmpty());
        if (metadata.hasNonNull("deletionTimestamp")) {
            s.append(" deleting(").append(metadata.path("deletionGracePeriodSeconds").asLong(-1) == 0 ? "0" : "graceful")
                    .append(')');
        }
        if (metadata.path("finalizers").isArray() && !metadata.path("finalizers").isEmpty()) {
            s.append(" finalizers=").append(metadata.path("finalizers"));
        }
        if (status.hasNonNull("reason")) {
            s.append(" reason=").append(status.path("reason").asText());
        }
        if (status.hasNonNull("message")) {
            s.append(" message=\"").append(mask(status.path("message").asText())).append('"');
        }
        s.append(" podIP=").append(status.hasNonNull("podIP"));
        s.append(" startTime=").append(status.hasNonNull("startTime"));
        s.append(" |");
        for (JsonNode c : status.path("conditions")) {
            s.append(' ').append(c.path("type").asText()).append('=').append(c.path("status").asText());
            if (c.hasNonNull("reason")) {
                s.append('/').append(c.path("reason").asText());
            }
            if (c.hasNonNull("message")) {
                s.append("(\"").append(mask(c.path("message").asText())).append("\")");
            }
        }
        for (String list : List.of("initContainerStatuses", "containerStatuses")) {
            for (JsonNode c : status.path(list)) {
                s.append(" | ").append(list.startsWith("init") ? "init " : "").append(c.path("name").asText())
                        .append(": ").append(state(c.path("state")));
                s.append(" last=").append(state(c.path("lastState")));
                s.append(" ready=").append(c.path("ready").asBoolean());
                s.append(" started=").append(c.path("started").asBoolean());
                s.append(" restarts=").append(c.path("restartCount").asInt());
                s.append(" image=").append(c.path("image").asText());
                s.append(" imageID=").append(!c.path("imageID").asText("").isEmpty());
                s.append(" containerID=").append(c.hasNonNull("containerID"));
            }
        }
        return s.toString();
    }

    private static String state(JsonNode state) {
        if (state.has("running")) {
            return "running";
        }
        if (state.has("waiting")) {
            JsonNode w = state.path("waiting");
            return "waiting(" + w.path("reason").asText() + (w.hasNonNull("message")
                    ? " \"" + mask(w.path("message").asText()) + "\"" : "") + ")";
        }
        if (state.has("terminated")) {
            JsonNode t = state.path("terminated");
            return "terminated(" + t.path("exitCode").asInt() + " " + t.path("reason").asText()
                    + (t.hasNonNull("message") ? " \"" + mask(t.path("message").asText()) + "\"" : "")
                    + (t.hasNonNull("startedAt") ? "" : " never-started") + ")";
        }
        return "-";
    }

    /** A recorded {@code events_watch} array. */
    static List<String> recordedEvents(JsonNode eventsWatch) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : eventsWatch) {
            out.add(event(e.path("type").asText(), e.path("reason").asText(), e.path("eventType").asText(),
                    e.path("count"), e.path("fieldPath"), e.path("message").asText(), e.path("reportingComponent").asText(),
                    e.path("source")));
        }
        return out;
    }

    /** One observed Event watch event. */
    static String observedEvent(String type, JsonNode event) {
        return event(type, event.path("reason").asText(), event.path("type").asText(), event.path("count"),
                event.path("involvedObject").path("fieldPath"), event.path("message").asText(),
                event.path("reportingComponent").asText(), event.path("source"));
    }

    private static String event(String type, String reason, String eventType, JsonNode count, JsonNode fieldPath,
                                String message, String reporter, JsonNode source) {
        return type + " " + reason + " " + eventType + " count=" + (count.isNumber() ? count.asInt() : "-")
                + " fieldPath=" + (fieldPath.isTextual() ? fieldPath.asText() : "-")
                + " by=" + reporter + "/" + source.path("component").asText("-")
                + " \"" + mask(message) + "\"";
    }

    static String mask(String text) {
        return IP.matcher(UUID.matcher(text).replaceAll("<uid>")).replaceAll("<ip>");
    }
}
