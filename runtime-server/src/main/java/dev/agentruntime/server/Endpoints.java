package dev.agentruntime.server;

import java.util.Map;

/** Endpoints beyond the core ones: file transfer (upload, download, list). */
final class Endpoints {

    private Endpoints() {
    }

    static Map<String, ActionServer.Endpoint> extra(ServerOptions options) {
        return Map.of();
    }
}
