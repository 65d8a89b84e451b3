package dev.agentruntime.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.Action;
import dev.agentruntime.Capability;
import dev.agentruntime.Observation;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.spi.RuntimeProvider;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/** The Testcontainers lifecycle adapter, on a fake backend (the real Docker one is tested in runtime-docker). */
class AgentSandboxContainerTest {

    /** A backend that records what happened to it; found through ServiceLoader as type {@value #TYPE}. */
    public static final class FakeProvider implements RuntimeProvider {
        static final String TYPE = "testkit-fake";
        static final Map<String, Fake> CREATED = new ConcurrentHashMap<>();

        @Override
        public String type() {
            return TYPE;
        }

        @Override
        public Runtime create(RuntimeConfig config) {
            Fake fake = new Fake(config);
            CREATED.put(config.sessionId(), fake);
            return fake;
        }
    }

    static final class Fake implements Runtime {
        final RuntimeConfig config;
        volatile RuntimeStatus status = RuntimeStatus.STOPPED;
        volatile int closes;

        Fake(RuntimeConfig config) {
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
            if ("fail".equals(config.options().get("mode"))) {
                throw new RuntimeStartupException("fake backend refused to start");
            }
            status = RuntimeStatus.READY;
        }

        @Override
        public Observation execute(Action action) {
            throw new UnsupportedOperationException();
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
            return Map.of("http://127.0.0.1:1234", 60002);
        }

        @Override
        public void close() {
            closes++;
            status = RuntimeStatus.CLOSED;
        }
    }

    private static AgentSandboxContainer fake(String session) {
        return new AgentSandboxContainer(RuntimeConfig.builder().type(FakeProvider.TYPE).build())
                .withSessionId(session).withEnv("GREETING", "hello").withOption("mode", "ok");
    }

    @Test
    void startCreatesAndConnectsTheConfiguredRuntime() {
        AgentSandboxContainer sandbox = fake("start-connects");
        sandbox.start();
        Fake created = FakeProvider.CREATED.get("start-connects");
        assertThat(sandbox.isRunning()).isTrue();
        assertThat(sandbox.runtime()).isSameAs(created);
        assertThat(created.status).isEqualTo(RuntimeStatus.READY);
        assertThat(created.config.environment()).containsEntry("GREETING", "hello");
        assertThat(sandbox.webHosts()).containsValue(60002);
        sandbox.start(); // a second start is a no-op
        assertThat(sandbox.runtime()).isSameAs(created);
        sandbox.stop();
    }

    @Test
    void stopClosesTheRuntimeOnceAndIsIdempotent() {
        AgentSandboxContainer sandbox = fake("stop-closes");
        sandbox.start();
        Fake created = FakeProvider.CREATED.get("stop-closes");
        sandbox.stop();
        sandbox.close(); // Startable.close() stops too
        assertThat(created.closes).isEqualTo(1);
        assertThat(sandbox.isRunning()).isFalse();
    }

    @Test
    void runtimeBeforeStartSaysHowToStartIt() {
        assertThatThrownBy(() -> fake("not-started").runtime()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("@Container").hasMessageContaining("start()");
    }

    @Test
    void aFailedStartClosesWhatItCreatedAndRethrows() {
        AgentSandboxContainer sandbox = fake("fails").withOption("mode", "fail");
        assertThatThrownBy(sandbox::start).isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining("refused to start");
        assertThat(FakeProvider.CREATED.get("fails").closes).isEqualTo(1);
        assertThat(sandbox.isRunning()).isFalse();
    }

    @Test
    void anImageNameMeansADockerSandbox() {
        AgentSandboxContainer sandbox = new AgentSandboxContainer("python:3.12-slim");
        RuntimeConfig[] seen = new RuntimeConfig[1];
        sandbox.withConfig(b -> {
            seen[0] = b.build();
            return b;
        });
        assertThat(seen[0].type()).isEqualTo("docker");
        assertThat(seen[0].options()).containsEntry("image", "python:3.12-slim");
    }
}
