package dev.agentruntime.testkit;

import dev.agentruntime.Action;
import dev.agentruntime.Capability;
import dev.agentruntime.Observation;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.spi.RuntimeProvider;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A backend with a "control plane" in memory, for the {@link AgentSandbox} extension's tests: sandboxes exist in
 * {@link #EXISTING} from connect to close, housekeeping lists and deletes them. Option {@code mode}:
 * {@code unavailable} (connect throws {@link RuntimeUnavailableException}), {@code leak} (close forgets to remove
 * the sandbox).
 */
public final class FakeSandboxBackend implements RuntimeProvider {

    static final String TYPE = "junit-fake";
    /** Session id → sandbox, while the "backend" has it. */
    static final Map<String, Sandbox> EXISTING = new ConcurrentHashMap<>();
    /** Every sandbox ever connected, in order. */
    static final List<Sandbox> CONNECTED = new CopyOnWriteArrayList<>();

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Runtime create(RuntimeConfig config) {
        return new Sandbox(config);
    }

    @Override
    public SandboxHousekeeping housekeeping(RuntimeConfig connection) {
        return new SandboxHousekeeping() {
            @Override
            public List<SandboxInfo> list() {
                return EXISTING.values().stream().map(s -> new SandboxInfo(TYPE, s.id(), "fake-" + s.id(), "running",
                        "localhost", ProcessHandle.current().pid(), false, false, Optional.empty(), Map.of())).toList();
            }

            @Override
            public boolean delete(String sessionId) {
                return EXISTING.remove(sessionId) != null;
            }

            @Override
            public void close() {
            }
        };
    }

    static void reset() {
        EXISTING.clear();
        CONNECTED.clear();
    }

    static final class Sandbox implements Runtime {
        final RuntimeConfig config;
        volatile RuntimeStatus status = RuntimeStatus.STOPPED;
        volatile int closes;

        Sandbox(RuntimeConfig config) {
            this.config = config;
        }

        @Override
        public String id() {
            return config.sessionId();
        }

        @Override
        public RuntimeStatus status() {
            return status;
        }

        @Override
        public Set<Capability> capabilities() {
            return Set.of(Capability.SHELL);
        }

        @Override
        public void connect() {
            if ("unavailable".equals(config.options().get("mode"))) {
                throw new RuntimeUnavailableException("the fake engine at fake://nowhere does not answer");
            }
            status = RuntimeStatus.READY;
            EXISTING.put(id(), this);
            CONNECTED.add(this);
        }

        @Override
        public Observation execute(Action action) {
            throw new UnsupportedOperationException("fake");
        }

        @Override
        public void copyTo(Path hostSrc, String sandboxDest, boolean recursive) {
        }

        @Override
        public Path copyFrom(String sandboxPath) {
            return null;
        }

        @Override
        public List<String> listFiles(String sandboxPath) {
            return List.of();
        }

        @Override
        public Map<String, Integer> webHosts() {
            return Map.of();
        }

        @Override
        public void close() {
            closes++;
            status = RuntimeStatus.CLOSED;
            if (!"leak".equals(config.options().get("mode"))) {
                EXISTING.remove(id());
            }
        }
    }
}
