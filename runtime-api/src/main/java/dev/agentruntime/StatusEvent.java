package dev.agentruntime;

import java.time.Instant;

/** A status change of a sandbox, with a short human message (e.g. "Waiting for /alive on port 31234"). */
public record StatusEvent(String runtimeId, RuntimeStatus status, String message, Instant at) {
}
