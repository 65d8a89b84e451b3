package dev.agentruntime;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A sandbox as its labels describe it, from {@link SandboxHousekeeping#list()}.
 *
 * @param type       the backend type, e.g. {@code "docker"}
 * @param sessionId  the session it belongs to
 * @param sandboxId  the backend's own id for it (container id, pod name, vendor sandbox id)
 * @param state      the backend's state word for it ({@code running}, {@code paused}, {@code Pending}, ...)
 * @param ownerHost  the host of the process that created it
 * @param ownerPid   that process's pid, -1 when unknown
 * @param ownerGone  whether that process is certainly gone (only judged on the owner's own host)
 * @param keepAlive  created to outlive its owner: never reaped
 * @param createdAt  when it was created, when recorded
 * @param labels     every label (or metadata entry) recorded on it
 */
public record SandboxInfo(String type, String sessionId, String sandboxId, String state, String ownerHost,
                          long ownerPid, boolean ownerGone, boolean keepAlive, Optional<Instant> createdAt,
                          Map<String, String> labels) {

    public SandboxInfo {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(sessionId, "sessionId");
        Objects.requireNonNull(sandboxId, "sandboxId");
        state = Objects.requireNonNullElse(state, "unknown");
        ownerHost = Objects.requireNonNullElse(ownerHost, "");
        createdAt = Objects.requireNonNullElse(createdAt, Optional.empty());
        labels = Map.copyOf(Objects.requireNonNullElse(labels, Map.of()));
    }
}
