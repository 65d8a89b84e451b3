package dev.agentruntime.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Image;
import dev.agentruntime.BackendException;
import dev.agentruntime.docker.internal.DockerClients;
import dev.agentruntime.docker.internal.ImagePreparer;
import dev.agentruntime.docker.internal.Labels;
import dev.agentruntime.internal.ServerJar;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Housekeeping for Docker sandboxes, without a {@link DockerRuntime}: list them, delete one by session id, reap
 * those whose owning process is gone, prepare a sandbox image ahead of time, prune images of old server versions. Containers are always selected by our
 * labels ({@code dev.agentruntime.managed-by=agent-runtime}, the session id), never by name alone.
 *
 * <pre>{@code
 * DockerSandboxes.reap();                      // e.g. at application start: clean up after crashed runs
 * DockerSandboxes.delete("my-session");        // end a keep-alive session
 * }</pre>
 *
 * Each call opens (and closes) its own connection, configured like the runtime's: pass a {@link DockerRuntimeConfig}
 * for an explicit endpoint or prefix, or use the no-argument forms for docker-java's defaults.
 */
public final class DockerSandboxes {

    private static final Logger log = LoggerFactory.getLogger(DockerSandboxes.class);

    private DockerSandboxes() {
    }

    /**
     * A sandbox container as its labels describe it.
     *
     * @param ownerPid  the creating process on {@code ownerHost}
     * @param keepAlive created with keep-alive: meant to outlive its owner, so never reaped
     */
    public record SandboxInfo(String sessionId, String containerName, String containerId, String state,
                              String ownerHost, long ownerPid, boolean keepAlive, Optional<Instant> createdAt) {
    }

    /** Every sandbox container (running or not) on the daemon of docker-java's default configuration. */
    public static List<SandboxInfo> list() {
        return list(DockerRuntimeConfig.defaults());
    }

    /** Every sandbox container on the daemon {@code connection} points at. */
    public static List<SandboxInfo> list(DockerRuntimeConfig connection) {
        try (DockerClients.Handle handle = DockerClients.open(connection)) {
            List<SandboxInfo> result = new ArrayList<>();
            for (Container c : managed(handle.client(), Labels.ROLE_SANDBOX)) {
                result.add(info(c));
            }
            return result;
        }
    }

    /**
     * Removes the sandbox of {@code sessionId} (found by its session label), running or not.
     *
     * @return true when a container was removed
     */
    public static boolean delete(String sessionId) {
        return delete(sessionId, DockerRuntimeConfig.defaults());
    }

    /** Like {@link #delete(String)} on the daemon {@code connection} points at. */
    public static boolean delete(String sessionId, DockerRuntimeConfig connection) {
        try (DockerClients.Handle handle = DockerClients.open(connection)) {
            boolean removed = false;
            for (Container c : handle.client().listContainersCmd().withShowAll(true)
                    .withLabelFilter(Map.of(Labels.MANAGED_BY, Labels.MANAGED_BY_VALUE, Labels.SESSION_ID, sessionId))
                    .exec()) {
                removed |= remove(handle.client(), c);
            }
            return removed;
        }
    }

    /**
     * Removes managed containers (sandboxes and image probes) whose owning process on this host is gone: no process
     * with the recorded pid, a pid reused by a later process, or a host rebooted since. Containers of other hosts
     * and keep-alive sandboxes are left alone.
     *
     * @return the names of the removed containers
     */
    public static List<String> reap() {
        return reap(DockerRuntimeConfig.defaults());
    }

    /** Like {@link #reap()} on the daemon {@code connection} points at. */
    public static List<String> reap(DockerRuntimeConfig connection) {
        Labels.Owner here = Labels.Owner.current();
        List<String> removed = new ArrayList<>();
        try (DockerClients.Handle handle = DockerClients.open(connection)) {
            for (Container c : managed(handle.client(), null)) {
                Map<String, String> labels = c.getLabels() == null ? Map.of() : c.getLabels();
                if ("true".equals(labels.get(Labels.KEEP_ALIVE))) {
                    continue;
                }
                Optional<Labels.Owner> owner = Labels.Owner.fromLabels(labels);
                if (owner.isPresent() && owner.get().isGoneOn(here) && remove(handle.client(), c)) {
                    removed.add(name(c));
                }
            }
        }
        if (!removed.isEmpty()) {
            log.info("reaped {} sandbox container(s) whose owner is gone: {}", removed.size(), removed);
        }
        return removed;
    }

    /**
     * Builds (or finds) the sandbox image for {@code config.image()} without starting a sandbox, e.g. to warm a CI
     * machine or for {@code AgentSandboxContainer}.
     */
    public static SandboxImage prepareImage(DockerRuntimeConfig config) {
        try (DockerClients.Handle handle = DockerClients.open(config)) {
            return new ImagePreparer(handle.client(), message -> log.info("{}", message))
                    .prepare(config.image(), config.pullPolicy(), Instant.now().plusSeconds(600));
        }
    }

    /**
     * Removes sandbox images built for another version of the action server (left behind by library upgrades) and
     * not used by any container. Images for the current server are kept: they are the cache.
     *
     * @return the removed image references
     */
    public static List<String> pruneImages() {
        return pruneImages(DockerRuntimeConfig.defaults());
    }

    /** Like {@link #pruneImages()} on the daemon {@code connection} points at. */
    public static List<String> pruneImages(DockerRuntimeConfig connection) {
        String current = ServerJar.sha256(ServerJar.locate());
        List<String> removed = new ArrayList<>();
        try (DockerClients.Handle handle = DockerClients.open(connection)) {
            for (Image image : handle.client().listImagesCmd().withLabelFilter(Map.of(Labels.MANAGED_BY,
                    Labels.MANAGED_BY_VALUE, Labels.ROLE, Labels.ROLE_IMAGE)).exec()) {
                Map<String, String> labels = image.getLabels() == null ? Map.of() : image.getLabels();
                if (current.equals(labels.get(Labels.SERVER_SHA256))) {
                    continue;
                }
                String ref = image.getRepoTags() != null && image.getRepoTags().length > 0 ? image.getRepoTags()[0]
                        : image.getId();
                try {
                    handle.client().removeImageCmd(image.getId()).withForce(false).exec();
                    removed.add(ref);
                } catch (NotFoundException | ConflictException e) {
                    log.debug("keeping image {}: {}", ref, e.getMessage()); // in use, or gone already
                }
            }
        }
        if (!removed.isEmpty()) {
            log.info("pruned {} sandbox image(s) of other server versions: {}", removed.size(), removed);
        }
        return removed;
    }

    private static List<Container> managed(DockerClient client, String role) {
        var cmd = client.listContainersCmd().withShowAll(true);
        cmd = role == null ? cmd.withLabelFilter(Labels.managedFilter())
                : cmd.withLabelFilter(Map.of(Labels.MANAGED_BY, Labels.MANAGED_BY_VALUE, Labels.ROLE, role));
        return cmd.exec();
    }

    private static boolean remove(DockerClient client, Container c) {
        try {
            client.removeContainerCmd(c.getId()).withForce(true).exec();
            log.info("removed sandbox container {} ({})", name(c), c.getId().substring(0, 12));
            return true;
        } catch (NotFoundException | ConflictException e) {
            return false; // gone already, or being removed by the daemon (auto-remove)
        } catch (RuntimeException e) {
            throw new BackendException("Removing container " + name(c) + " failed: " + e.getMessage(), e);
        }
    }

    private static String name(Container c) {
        String[] names = c.getNames();
        return names == null || names.length == 0 ? c.getId() : names[0].replaceFirst("^/", "");
    }

    private static SandboxInfo info(Container c) {
        Map<String, String> labels = c.getLabels() == null ? Map.of() : c.getLabels();
        long pid;
        try {
            pid = Long.parseLong(labels.getOrDefault(Labels.OWNER_PID, "-1"));
        } catch (NumberFormatException e) {
            pid = -1;
        }
        Optional<Instant> created;
        try {
            created = Optional.ofNullable(labels.get(Labels.CREATED_AT)).map(Instant::parse);
        } catch (RuntimeException e) {
            created = Optional.empty();
        }
        return new SandboxInfo(labels.getOrDefault(Labels.SESSION_ID, ""), name(c), c.getId(), c.getState(),
                labels.getOrDefault(Labels.OWNER_HOST, ""), pid, "true".equals(labels.get(Labels.KEEP_ALIVE)),
                created);
    }
}
