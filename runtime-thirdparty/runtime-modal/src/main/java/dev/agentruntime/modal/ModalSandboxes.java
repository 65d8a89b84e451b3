package dev.agentruntime.modal;

import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.modal.internal.ModalApi;
import dev.agentruntime.spi.SessionLabels;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Housekeeping for the Modal backend: the running sandboxes of the configured app that carry this library's tags
 * ({@code SandboxList} filtered by tag), terminated by session id ({@code SandboxTerminate}). Finished sandboxes are
 * not listed: Modal keeps nothing of them that could be cleaned up.
 */
public final class ModalSandboxes implements SandboxHousekeeping {

    private final ModalApi api;

    public ModalSandboxes(ModalConfig config) {
        this.api = new ModalApi(config);
    }

    @Override
    public List<SandboxInfo> list() {
        return list(SessionLabels.managedSelector());
    }

    private List<SandboxInfo> list(Map<String, String> selector) {
        Optional<String> app = app();
        if (app.isEmpty()) {
            return List.of();
        }
        List<SandboxInfo> all = new ArrayList<>();
        for (var sandbox : api.list(app.get(), selector)) {
            Map<String, String> tags = new LinkedHashMap<>();
            sandbox.getTagsList().forEach(tag -> tags.put(tag.getTagName(), tag.getTagValue()));
            SessionLabels.parse(tags).ifPresent(labels -> all.add(labels.toInfo(ModalRuntimeProvider.TYPE,
                    sandbox.getId(), sandbox.getTaskInfo().getFinishedAt() > 0 ? "finished" : "running", tags)));
        }
        return all;
    }

    @Override
    public Optional<SandboxInfo> find(String sessionId) {
        return list(SessionLabels.sessionSelector(sessionId)).stream().findFirst();
    }

    @Override
    public boolean delete(String sessionId) {
        boolean removed = false;
        for (SandboxInfo info : list(SessionLabels.sessionSelector(sessionId))) {
            try {
                api.terminate(info.sandboxId());
                removed = true;
            } catch (RuntimeNotFoundException gone) {
                // ended meanwhile
            }
        }
        return removed;
    }

    private Optional<String> app() {
        return api.appLookup(Instant.now().plus(api.config().callTimeout()));
    }

    @Override
    public void close() {
        api.close();
    }
}
