package dev.agentruntime.modal.internal;

import dev.agentruntime.modal.ModalConfig;
import dev.agentruntime.modal.internal.proto.PortSpec;
import dev.agentruntime.modal.internal.proto.PortSpecs;
import dev.agentruntime.modal.internal.proto.Resources;
import dev.agentruntime.modal.internal.proto.Sandbox;
import dev.agentruntime.modal.internal.proto.TunnelData;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The {@code Sandbox} definition this backend creates, and the URLs of its tunnels. */
public final class SandboxSpecs {

    /** The sandbox's main process: it only has to stay up; our server is started through the command router. */
    static final List<String> ENTRYPOINT = List.of("sleep", "infinity");

    private SandboxSpecs() {
    }

    public static Sandbox definition(ModalConfig modal, String imageId, List<String> secretIds) {
        Sandbox.Builder sandbox = Sandbox.newBuilder().addAllEntrypointArgs(ENTRYPOINT).setImageId(imageId)
                .addAllSecretIds(secretIds).setTimeoutSecs((int) modal.timeout().toSeconds());
        Resources.Builder resources = Resources.newBuilder();
        modal.cpu().ifPresent(cores -> resources.setMilliCpu((int) Math.round(cores * 1000)));
        modal.memoryBytes().ifPresent(bytes -> resources.setMemoryMb((int) Math.max(1, bytes / (1024 * 1024))));
        if (modal.cpu().isPresent() || modal.memoryBytes().isPresent()) {
            sandbox.setResources(resources);
        }
        modal.idleTimeout().ifPresent(idle -> sandbox.setIdleTimeoutSecs((int) idle.toSeconds()));
        modal.workdir().ifPresent(sandbox::setWorkdir);
        PortSpecs.Builder ports = PortSpecs.newBuilder()
                .addPorts(PortSpec.newBuilder().setPort(modal.serverPort()).setUnencrypted(false));
        modal.ports().forEach(port -> ports.addPorts(PortSpec.newBuilder().setPort(port).setUnencrypted(false)));
        return sandbox.setOpenPorts(ports).build();
    }

    /**
     * Container port → URL, as Modal's SDKs build it: {@code https://host}, with {@code :port} unless 443;
     * {@code http://} when the API itself is spoken in plain text (a local Modal).
     */
    public static Map<Integer, URI> tunnelUrls(List<TunnelData> tunnels, boolean plaintext) {
        Map<Integer, URI> urls = new LinkedHashMap<>();
        for (TunnelData tunnel : tunnels) {
            String scheme = plaintext ? "http" : "https";
            int port = tunnel.getPort();
            boolean defaultPort = port == 0 || !plaintext && port == 443;
            urls.put(tunnel.getContainerPort(), URI.create(scheme + "://" + tunnel.getHost()
                    + (defaultPort ? "" : ":" + port)));
        }
        return urls;
    }
}
