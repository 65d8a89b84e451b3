package dev.agentruntime.server;

import dev.agentruntime.server.files.TransferHandlers;
import java.util.Map;

/** Endpoints beyond the core ones: streaming file transfer (upload, download, list). */
final class Endpoints {

    private Endpoints() {
    }

    static Map<String, ActionServer.Endpoint> extra(ServerOptions options) {
        TransferHandlers transfers = new TransferHandlers(options.workingDir(), options.limits());
        return Map.of(
                "/upload_file", new ActionServer.Endpoint("POST", transfers::upload),
                "/download_files", new ActionServer.Endpoint("GET", transfers::download),
                "/list_files", new ActionServer.Endpoint("POST", transfers::list));
    }
}
