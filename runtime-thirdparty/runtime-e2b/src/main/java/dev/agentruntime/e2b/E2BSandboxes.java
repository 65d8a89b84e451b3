package dev.agentruntime.e2b;

import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.e2b.internal.E2BApi;
import dev.agentruntime.spi.SessionLabels;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Housekeeping for E2B sandboxes: the team's sandboxes (running and paused) that carry our session metadata, found
 * with E2B's metadata filter; delete by session id; {@code reap()} (owner gone, not keep-alive) comes with the
 * interface. The same object {@link dev.agentruntime.RuntimeFactory#housekeeping} gives for {@code type("e2b")}.
 */
public final class E2BSandboxes implements SandboxHousekeeping {

    private static final Logger log = LoggerFactory.getLogger(E2BSandboxes.class);

    private final E2BApi api;

    public E2BSandboxes(E2BConfig config) {
        this.api = new E2BApi(config);
    }

    @Override
    public List<SandboxInfo> list() {
        List<SandboxInfo> result = new ArrayList<>();
        for (E2BApi.Listed sandbox : api.list(SessionLabels.managedSelector())) {
            info(sandbox).ifPresent(result::add);
        }
        return result;
    }

    @Override
    public Optional<SandboxInfo> find(String sessionId) {
        return api.list(SessionLabels.sessionSelector(sessionId)).stream().map(E2BSandboxes::info)
                .flatMap(Optional::stream).findFirst();
    }

    @Override
    public boolean delete(String sessionId) {
        boolean removed = false;
        for (E2BApi.Listed sandbox : api.list(SessionLabels.sessionSelector(sessionId))) {
            if (api.kill(sandbox.sandboxId())) {
                log.info("killed E2B sandbox {} of session {}", sandbox.sandboxId(), sessionId);
                removed = true;
            }
        }
        return removed;
    }

    @Override
    public void close() {
        // the HTTP client is shared and holds nothing of ours
    }

    private static Optional<SandboxInfo> info(E2BApi.Listed sandbox) {
        return SessionLabels.parse(sandbox.metadata()).map(labels -> labels.toInfo(E2BRuntimeProvider.TYPE,
                sandbox.sandboxId(), sandbox.state(), sandbox.metadata()));
    }
}
