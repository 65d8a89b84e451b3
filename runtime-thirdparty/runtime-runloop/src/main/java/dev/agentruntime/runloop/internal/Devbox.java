package dev.agentruntime.runloop.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.Secret;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The parts of Runloop's {@code DevboxView} the backend reads.
 *
 * @param status          {@code queued|provisioning|initializing|running|suspending|suspended|resuming|failure|shutdown}
 * @param failureReason   {@code out_of_memory|out_of_disk|execution_failed|health_check_failed}, when failed
 * @param shutdownReason  {@code api_shutdown|keep_alive_timeout|entrypoint_exit|idle|ttl_expired}, when shut down
 */
public record Devbox(String id, String status, Optional<String> name, Map<String, String> metadata,
                     Optional<String> failureReason, Optional<String> shutdownReason, Optional<Tunnel> tunnel) {

    /** Statuses a devbox never leaves. */
    public static final Set<String> ENDED = Set.of("failure", "shutdown");

    /** A devbox's tunnel ({@code TunnelView}). */
    public record Tunnel(String key, String authMode, Optional<Secret> authToken) {

        static Optional<Tunnel> of(JsonNode node) {
            if (node == null || node.isNull() || !node.hasNonNull("tunnel_key")) {
                return Optional.empty();
            }
            String token = text(node, "auth_token");
            return Optional.of(new Tunnel(node.get("tunnel_key").asText(), Optional.ofNullable(text(node, "auth_mode"))
                    .orElse("open"), token == null || token.isEmpty() ? Optional.empty() : Optional.of(Secret.of(token))));
        }

        @Override
        public String toString() {
            return "Tunnel[" + key + ", " + authMode + "]";
        }
    }

    public boolean ended() {
        return ENDED.contains(status);
    }

    static Devbox of(JsonNode node) {
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode m = node.get("metadata");
        if (m != null && m.isObject()) {
            m.fields().forEachRemaining(e -> metadata.put(e.getKey(), e.getValue().asText()));
        }
        return new Devbox(node.path("id").asText(), node.path("status").asText("unknown"),
                Optional.ofNullable(text(node, "name")), Map.copyOf(metadata),
                Optional.ofNullable(text(node, "failure_reason")), Optional.ofNullable(text(node, "shutdown_reason")),
                Tunnel.of(node.get("tunnel")));
    }

    /** A sentence for messages: the status and why. */
    public String describe() {
        return "status " + status + failureReason.map(r -> " (failure reason " + r + ")").orElse("")
                + shutdownReason.map(r -> " (shutdown reason " + r + ")").orElse("");
    }

    static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }
}
