package dev.agentruntime.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Image;
import dev.agentruntime.BackendException;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.docker.internal.DockerClients;
import dev.agentruntime.docker.internal.ImagePreparer;
import dev.agentruntime.docker.internal.Labels;
import dev.agentruntime.internal.ServerJar;
import dev.agentruntime.spi.SandboxOwner;
import dev.agentruntime.spi.SessionLabels;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Housekeeping for Docker sandboxes, without a {@link DockerRuntime}: list them, delete one by session id, reap
 * those whose owning process is gone, prepare a sandbox image ahead of time, prune images of old server versions.
 * Containers are always selected by our labels ({@code dev.agentruntime.managed-by=agent-runtime}, the session id),
 * never by name alone. The same object {@link dev.agentruntime.RuntimeFactory#housekeeping} gives for
 * {@code type("docker")}.
 *
 * <pre>{@code
 * try (DockerSandboxes sandboxes = DockerSandboxes.connect()) {
 *     sandboxes.reap();                      // e.g. at application start: clean up after crashed runs
 *     sandboxes.delete("my-session");        // end a keep-alive session
 * }
 * }</pre>
 *
 * It holds one connection to the daemon, configured like the runtime's; close it when done.
 */
public final class DockerSandboxes implements SandboxHousekeeping {

    private static final Logger log = LoggerFactory.getLogger(DockerSandboxes.class);

    private final DockerRuntimeConfig connection;
    private final DockerClients.Handle handle;

    private DockerSandboxes(DockerRuntimeConfig connection) {
        this.connection = connection;
        this.handle = DockerClients.open(connection);
    }

    /** Housekeeping on the daemon of docker-java's default configuration. */
    public static DockerSandboxes connect() {
        return connect(DockerRuntimeConfig.defaults());
    }

    /** Housekeeping on the daemon {@code connection} points at (its image is the one {@link #prepareImage()} makes). */
    public static DockerSandboxes connect(DockerRuntimeConfig connection) {
        return new DockerSandboxes(connection);
    }

    /** Every sandbox container, running or not. */
    @Override
    public List<SandboxInfo> list() {
        List<SandboxInfo> result = new ArrayList<>();
        for (Container c : managed(Labels.ROLE_SANDBOX)) {
            info(c).ifPresent(result::add);
        }
        return result;
    }

    /** Removes the sandbox of {@code sessionId} (found by its session label), running or not. */
    @Override
    public boolean delete(String sessionId) {
        boolean removed = false;
        for (Container c : client().listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(Labels.MANAGED_BY, Labels.MANAGED_BY_VALUE, Labels.SESSION_ID, sessionId))
                .exec()) {
            removed |= remove(c);
        }
        return removed;
    }

    /**
     * Removes managed containers (sandboxes and image probes) whose owning process on this host is gone: no process
     * with the recorded pid, a pid reused by a later process, or a host rebooted since. Containers of other hosts
     * and keep-alive sandboxes are left alone.
     */
    @Override
    public List<SandboxInfo> reap() {
        SandboxOwner here = SandboxOwner.current();
        List<SandboxInfo> removed = new ArrayList<>();
        for (Container c : managed(null)) {
            Map<String, String> labels = labels(c);
            if ("true".equals(labels.get(Labels.KEEP_ALIVE))) {
                continue;
            }
            Optional<SandboxOwner> owner = SessionLabels.parseOwner(labels);
            if (owner.isPresent() && owner.get().isGoneOn(here) && remove(c)) {
                removed.add(info(c).orElseGet(() -> new SandboxInfo("docker", "", c.getId(), c.getState(),
                        owner.get().host(), owner.get().pid(), true, false, Optional.empty(), labels)));
            }
        }
        if (!removed.isEmpty()) {
            log.info("reaped {} container(s) whose owner is gone: {}", removed.size(),
                    removed.stream().map(SandboxInfo::sandboxId).toList());
        }
        return removed;
    }

    /**
     * Builds (or finds) the sandbox image for the connection's {@code image()} without starting a sandbox, e.g. to
     * warm a CI machine or for {@code AgentSandboxContainer}.
     */
    public SandboxImage prepareImage() {
        return new ImagePreparer(client(), message -> log.info("{}", message))
                .prepare(connection.image(), connection.pullPolicy(), Instant.now().plusSeconds(600));
    }

    /** Shorthand for preparing {@code config.image()} on the daemon {@code config} points at. */
    public static SandboxImage prepareImage(DockerRuntimeConfig config) {
        try (DockerSandboxes sandboxes = connect(config)) {
            return sandboxes.prepareImage();
        }
    }

    /**
     * Removes sandbox images built for another version of the action server (left behind by library upgrades) and
     * not used by any container. Images for the current server are kept: they are the cache.
     *
     * @return the removed image references
     */
    public List<String> pruneImages() {
        String current = ServerJar.sha256(ServerJar.locate());
        List<String> removed = new ArrayList<>();
        for (Image image : client().listImagesCmd().withLabelFilter(Map.of(Labels.MANAGED_BY,
                Labels.MANAGED_BY_VALUE, Labels.ROLE, Labels.ROLE_IMAGE)).exec()) {
            Map<String, String> labels = image.getLabels() == null ? Map.of() : image.getLabels();
            if (current.equals(labels.get(Labels.SERVER_SHA256))) {
                continue;
            }
            String ref = image.getRepoTags() != null && image.getRepoTags().length > 0 ? image.getRepoTags()[0]
                    : image.getId();
            try {
                client().removeImageCmd(image.getId()).withForce(false).exec();
                removed.add(ref);
            } catch (NotFoundException | ConflictException e) {
                log.debug("keeping image {}: {}", ref, e.getMessage()); // in use, or gone already
            }
        }
        if (!removed.isEmpty()) {
            log.info("pruned {} sandbox image(s) of other server versions: {}", removed.size(), removed);
        }
        return removed;
    }

    @Override
    public void close() {
        handle.close();
    }

    private DockerClient client() {
        return handle.client();
    }

    private List<Container> managed(String role) {
        var cmd = client().listContainersCmd().withShowAll(true);
        cmd = role == null ? cmd.withLabelFilter(Labels.managedFilter())
                : cmd.withLabelFilter(Map.of(Labels.MANAGED_BY, Labels.MANAGED_BY_VALUE, Labels.ROLE, role));
        return cmd.exec();
    }

    private boolean remove(Container c) {
        try {
            client().removeContainerCmd(c.getId()).withForce(true).exec();
            log.info("removed container {} ({})", name(c), c.getId().substring(0, 12));
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

    private static Map<String, String> labels(Container c) {
        return c.getLabels() == null ? Map.of() : c.getLabels();
    }

    private static Optional<SandboxInfo> info(Container c) {
        Map<String, String> labels = labels(c);
        return SessionLabels.parse(labels).map(session -> session.toInfo("docker", c.getId(), c.getState(), labels));
    }
}
