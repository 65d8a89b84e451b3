package dev.agentruntime.remote;

import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.remote.internal.RemoteApi;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Housekeeping for the remote backend: the runtimes the API key can see ({@code GET /list}), stopped by session id
 * ({@code POST /stop}). Owners are not judged here (the server knows its clients, this process does not), so
 * {@link #reap()} removes nothing: the server reaps idle runtimes itself.
 */
public final class RemoteSandboxes implements SandboxHousekeeping {

    private final RemoteApi api;

    public RemoteSandboxes(RemoteRuntimeConfig config) {
        this.api = new RemoteApi(config);
    }

    @Override
    public List<SandboxInfo> list() {
        List<SandboxInfo> all = new ArrayList<>();
        for (RemoteApi.RemoteRuntimeInfo runtime : api.list()) {
            Map<String, String> labels = new LinkedHashMap<>();
            labels.put("runtime_id", runtime.runtimeId());
            runtime.url().ifPresent(url -> labels.put("url", url.toString()));
            all.add(new SandboxInfo(RemoteRuntimeProvider.TYPE, runtime.sessionId().orElse(runtime.runtimeId()),
                    runtime.runtimeId(), runtime.status().orElse("unknown"), "", -1, false, false,
                    runtime.createdAt(), labels));
        }
        return all;
    }

    @Override
    public boolean delete(String sessionId) {
        boolean stopped = false;
        for (SandboxInfo info : list()) {
            if (info.sessionId().equals(sessionId)) {
                api.stop(info.sandboxId());
                stopped = true;
            }
        }
        return stopped;
    }

    @Override
    public void close() {
        api.close();
    }
}
