package dev.agentruntime.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.agentruntime.docker.internal.DockerClients;
import dev.agentruntime.docker.internal.Labels;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/** The tests' own view of the daemon, to check what the runtime did. */
final class DockerTestClient implements AutoCloseable {

    private final DockerClients.Handle handle = DockerClients.open(DockerRuntimeConfig.defaults());

    DockerClient client() {
        return handle.client();
    }

    Optional<InspectContainerResponse> inspect(String idOrName) {
        try {
            return Optional.of(client().inspectContainerCmd(idOrName).exec());
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }

    /** Waits (condition with a deadline) until the container no longer exists; false if it still does then. */
    boolean awaitGone(String idOrName, Duration timeout) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            if (inspect(idOrName).isEmpty()) {
                return true;
            }
            Thread.sleep(100); // polling the daemon for a condition, bounded by the deadline
        }
        return inspect(idOrName).isEmpty();
    }

    /** Containers of a session, by label. */
    long countSession(String sessionId) {
        return client().listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(Labels.MANAGED_BY, Labels.MANAGED_BY_VALUE, Labels.SESSION_ID, sessionId))
                .exec().size();
    }

    /** Waits (condition with a deadline) until no container carries the session's label. */
    boolean awaitNoSession(String sessionId, Duration timeout) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        while (countSession(sessionId) > 0) {
            if (Instant.now().isAfter(deadline)) {
                return false;
            }
            Thread.sleep(100); // the daemon finishes an auto-removal asynchronously; bounded by the deadline
        }
        return true;
    }

    void removeQuietly(String idOrName) {
        try {
            client().removeContainerCmd(idOrName).withForce(true).exec();
        } catch (RuntimeException ignored) {
            // cleanup
        }
    }

    @Override
    public void close() {
        handle.close();
    }
}
