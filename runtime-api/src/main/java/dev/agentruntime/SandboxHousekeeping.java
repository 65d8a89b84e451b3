package dev.agentruntime;

import java.util.List;
import java.util.Optional;

/**
 * Finds a backend's sandboxes again without a {@link Runtime}: lists them, deletes one by session id, reaps those
 * whose owner is gone. Sandboxes are found by the labels (or vendor metadata) every backend records on them, never
 * by name alone. Get one from {@link RuntimeFactory#housekeeping(RuntimeConfig)}:
 *
 * <pre>{@code
 * try (SandboxHousekeeping sandboxes = RuntimeFactory.housekeeping(RuntimeConfig.builder().type("docker").build())) {
 *     sandboxes.reap();                    // e.g. at application start: clean up after crashed runs
 *     sandboxes.delete("my-session");      // end a keep-alive session
 * }
 * }</pre>
 */
public interface SandboxHousekeeping extends AutoCloseable {

    /** Every sandbox this backend manages on its endpoint, running or not. */
    List<SandboxInfo> list();

    /** The sandbox of {@code sessionId}, when there is one. */
    default Optional<SandboxInfo> find(String sessionId) {
        return list().stream().filter(info -> info.sessionId().equals(sessionId)).findFirst();
    }

    /**
     * Removes the sandbox of {@code sessionId} (and what belongs to it), whatever its state.
     *
     * @return true when something was removed
     */
    boolean delete(String sessionId);

    /**
     * Removes the sandboxes whose owning process is certainly gone (see {@link SandboxInfo#ownerGone()}), except
     * keep-alive ones, which are meant to outlive their owner.
     *
     * @return what was removed
     */
    default List<SandboxInfo> reap() {
        List<SandboxInfo> reaped = new java.util.ArrayList<>();
        for (SandboxInfo info : list()) {
            if (info.ownerGone() && !info.keepAlive() && delete(info.sessionId())) {
                reaped.add(info);
            }
        }
        return reaped;
    }

    /** Releases the connection to the backend; closes only what this object opened. */
    @Override
    void close();
}
