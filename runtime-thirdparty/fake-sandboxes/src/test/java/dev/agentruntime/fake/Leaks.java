package dev.agentruntime.fake;

import dev.agentruntime.docker.DockerRuntimeConfig;
import dev.agentruntime.docker.internal.DockerClients;
import java.util.List;
import java.util.Map;

/** What the engine still has of a closed host: must be nothing. */
final class Leaks {

    private Leaks() {
    }

    static Map<String, String> labelsOf(String containerId) {
        try (DockerClients.Handle docker = DockerClients.open(DockerRuntimeConfig.defaults())) {
            return docker.client().inspectContainerCmd(containerId).exec().getConfig().getLabels();
        }
    }

    static List<String> containersOf(String hostId) {
        try (DockerClients.Handle docker = DockerClients.open(DockerRuntimeConfig.defaults())) {
            return docker.client().listContainersCmd().withShowAll(true)
                    .withLabelFilter(Map.of(SandboxHost.LABEL_HOST, hostId)).exec().stream()
                    .map(c -> c.getNames()[0] + " " + c.getState()).toList();
        }
    }
}
