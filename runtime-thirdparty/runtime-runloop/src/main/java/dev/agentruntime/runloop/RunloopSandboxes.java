package dev.agentruntime.runloop;

import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.runloop.internal.Devbox;
import dev.agentruntime.runloop.internal.RunloopApi;
import dev.agentruntime.spi.SessionLabels;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The devboxes of this library on a Runloop account, found by the session labels in their metadata (Runloop's list
 * has no metadata filter: every page is read, {@code starting_after} the last id, and filtered here). Devboxes that
 * are shut down or failed are history, not listed.
 */
public final class RunloopSandboxes implements SandboxHousekeeping {

    private static final Logger log = LoggerFactory.getLogger(RunloopSandboxes.class);
    private final RunloopApi api;

    public RunloopSandboxes(RunloopConfig config) {
        this.api = RunloopApi.create(config.baseUrl(), config.apiKey(), null);
    }

    @Override
    public List<SandboxInfo> list() {
        return api.listAll(box -> !box.ended()).stream()
                .flatMap(box -> SessionLabels.parse(box.metadata())
                        .filter(labels -> labels.role().equals(SessionLabels.ROLE_SANDBOX))
                        .map(labels -> labels.toInfo(RunloopRuntimeProvider.TYPE, box.id(), box.status(),
                                box.metadata())).stream())
                .toList();
    }

    /** The live devbox of {@code sessionId}, when there is one. */
    Optional<Devbox> devboxOf(String sessionId) {
        return findDevbox(api, sessionId);
    }

    static Optional<Devbox> findDevbox(RunloopApi api, String sessionId) {
        return api.listAll(box -> !box.ended() && SessionLabels.parse(box.metadata())
                .filter(l -> l.sessionId().equals(sessionId) && l.role().equals(SessionLabels.ROLE_SANDBOX))
                .isPresent()).stream().findFirst();
    }

    /** Shuts down every live devbox of {@code sessionId}. */
    @Override
    public boolean delete(String sessionId) {
        boolean any = false;
        for (Devbox box : api.listAll(b -> !b.ended() && SessionLabels.parse(b.metadata())
                .filter(l -> l.sessionId().equals(sessionId)).isPresent())) {
            log.info("Runloop: shutting down devbox {} of session {}", box.id(), sessionId);
            api.shutdown(box.id(), true);
            any = true;
        }
        return any;
    }

    @Override
    public void close() {
        // the HTTP pool is shared; nothing of ours to release
    }
}
