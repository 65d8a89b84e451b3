package dev.agentruntime;

import dev.agentruntime.spi.Options;
import dev.agentruntime.spi.RuntimeProvider;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A test backend of type {@code "fake"}, registered in {@code src/test/resources/META-INF/services}. Options steer it:
 * {@code fake.connect=fail} makes {@link Runtime#connect()} throw, {@code fake.close=fail} makes {@link Runtime#close()}
 * throw (a misbehaving backend). It reports its lifecycle through the configured status listener, so tests observe it
 * without static state.
 */
public final class FakeRuntimeProvider implements RuntimeProvider {

    @Override
    public String type() {
        return "fake";
    }

    @Override
    public Runtime create(RuntimeConfig config) {
        Options.of(config, Set.of("fake.connect", "fake.close"));
        return new FakeRuntime(config);
    }

    static final class FakeRuntime implements Runtime {
        private final RuntimeConfig config;
        private volatile RuntimeStatus status = RuntimeStatus.STOPPED;

        FakeRuntime(RuntimeConfig config) {
            this.config = config;
        }

        RuntimeConfig config() {
            return config;
        }

        private void report(RuntimeStatus next) {
            status = next;
            config.statusListener().onStatus(new StatusEvent(id(), next, next.name(), java.time.Instant.now()));
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
            return EnumSet.of(Capability.SHELL);
        }

        @Override
        public void connect() {
            report(RuntimeStatus.STARTING_RUNTIME);
            if ("fail".equals(config.options().get("fake.connect"))) {
                report(RuntimeStatus.ERROR);
                throw new RuntimeStartupException("fake sandbox " + id() + " refused to start");
            }
            report(RuntimeStatus.READY);
        }

        @Override
        public Observation execute(Action action) {
            return new CmdOutputObservation("", action.message(), CmdOutputMetadata.unknown(), false);
        }

        @Override
        public void copyTo(Path hostSrc, String sandboxDest, boolean recursive) {
        }

        @Override
        public Path copyFrom(String sandboxPath) {
            throw new UnsupportedCapabilityException("fake");
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
            report(RuntimeStatus.CLOSED);
            if ("fail".equals(config.options().get("fake.close"))) {
                throw new IllegalStateException("fake sandbox " + id() + " failed to close");
            }
        }
    }
}
