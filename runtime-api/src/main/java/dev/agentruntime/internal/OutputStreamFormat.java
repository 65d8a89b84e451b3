package dev.agentruntime.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The streamed answer of {@code /execute_action} (our extension of the protocol, docs/PROTOCOL.md "Streaming"):
 * newline-delimited JSON, one object a line. Event lines start with {@code {"event":}:
 * {@code {"event":"output","text":"..."}} carries output as it arrived,
 * {@code {"event":"error","status":500,"detail":"..."}} an error after the stream began. The last line is the
 * observation, byte for byte the body a plain request gets. Shared by the server and the client.
 */
public final class OutputStreamFormat {

    /** The media type a client puts in {@code Accept} to ask for the stream, and the server's answer type. */
    public static final String MEDIA_TYPE = "application/x-ndjson";
    private static final String EVENT_PREFIX = "{\"event\":";

    private OutputStreamFormat() {
    }

    /** One event line: {@code output} with its text, or {@code error} with a status and detail. */
    public record Event(String type, String text, int status) {
        public boolean isOutput() {
            return "output".equals(type);
        }

        public boolean isError() {
            return "error".equals(type);
        }
    }

    /** Whether an {@code Accept} header asks for the stream (an exact media type among those listed). */
    public static boolean wanted(String accept) {
        if (accept == null) {
            return false;
        }
        for (String part : accept.split(",")) {
            String type = part.split(";", 2)[0].strip();
            if (type.equalsIgnoreCase(MEDIA_TYPE)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a response's {@code Content-Type} is the stream. */
    public static boolean isStream(String contentType) {
        return contentType != null && contentType.split(";", 2)[0].strip().equalsIgnoreCase(MEDIA_TYPE);
    }

    /** An output event line, newline included. */
    public static byte[] outputLine(CharSequence text) {
        ObjectNode node = WireCodec.MAPPER.createObjectNode();
        node.put("event", "output");
        node.put("text", text.toString());
        return line(node);
    }

    /** An error event line, newline included. */
    public static byte[] errorLine(int status, String detail) {
        ObjectNode node = WireCodec.MAPPER.createObjectNode();
        node.put("event", "error");
        node.put("status", status);
        node.put("detail", detail);
        return line(node);
    }

    /** The event a line carries, or null when it is the observation. */
    public static Event parse(String line) {
        if (!line.startsWith(EVENT_PREFIX)) {
            return null;
        }
        JsonNode node = WireCodec.parse(line);
        String type = node.path("event").asText();
        if ("error".equals(type)) {
            return new Event(type, node.path("detail").asText(), node.path("status").asInt(500));
        }
        return new Event(type, node.path("text").asText(), 0);
    }

    /** {@code {"detail": text}}, the plain error body the event stands for. */
    public static String detailJson(String detail) {
        ObjectNode node = WireCodec.MAPPER.createObjectNode();
        node.put("detail", detail);
        return WireCodec.toJson(node);
    }

    private static byte[] line(ObjectNode node) {
        try {
            byte[] json = WireCodec.MAPPER.writeValueAsBytes(node);
            byte[] out = java.util.Arrays.copyOf(json, json.length + 1);
            out[json.length] = '\n';
            return out;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

}
