package dev.agentruntime.daytona;

import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.daytona.internal.DaytonaApi;
import dev.agentruntime.daytona.internal.DaytonaSandbox;
import dev.agentruntime.spi.SessionLabels;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Housekeeping for Daytona sandboxes without a runtime: lists the account's sandboxes that carry our labels
 * ({@code dev.agentruntime.managed-by=agent-runtime}, listed by Daytona's label filter, every page), deletes a session's
 * by its session label, and reaps those whose owning process is gone ({@link SandboxHousekeeping#reap()}).
 * Sandboxes already being destroyed are not listed.
 *
 * <pre>{@code
 * try (SandboxHousekeeping sandboxes = RuntimeFactory.housekeeping(RuntimeConfig.fromEnvironment().toBuilder()
 *         .type("daytona").build())) {
 *     sandboxes.delete("my-kept-session");
 * }
 * }</pre>
 */
public final class DaytonaSandboxes implements SandboxHousekeeping {

    private final DaytonaApi api;

    public DaytonaSandboxes(DaytonaConfig config) {
        this(new DaytonaApi(config));
    }

    DaytonaSandboxes(DaytonaApi api) {
        this.api = api;
    }

    @Override
    public List<SandboxInfo> list() {
        List<SandboxInfo> result = new ArrayList<>();
        for (DaytonaSandbox sandbox : api.list(SessionLabels.managedSelector())) {
            if (sandbox.gone()) {
                continue;
            }
            Optional<SessionLabels> labels = SessionLabels.parse(sandbox.labels());
            labels.filter(l -> SessionLabels.ROLE_SANDBOX.equals(l.role())).ifPresent(l ->
                    result.add(l.toInfo(DaytonaRuntimeProvider.TYPE, sandbox.id(), sandbox.state(),
                            sandbox.labels())));
        }
        return result;
    }

    /** Deletes every sandbox of {@code sessionId} (normally one). */
    @Override
    public boolean delete(String sessionId) {
        boolean deleted = false;
        for (DaytonaSandbox sandbox : api.list(SessionLabels.sessionSelector(sessionId))) {
            if (!sandbox.gone()) {
                deleted |= api.delete(sandbox.id());
            }
        }
        return deleted;
    }

    /** Holds no connection of its own (the HTTP pool is shared). */
    @Override
    public void close() {
    }
}
