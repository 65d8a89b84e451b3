package dev.agentruntime.testkit;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;
import org.testcontainers.lifecycle.Startable;

/**
 * An agent sandbox in the Testcontainers lifecycle: declare it as a {@code @Container} field and the JUnit 5
 * extension starts it before the tests and removes it after them, like any other container; {@link #runtime()} is
 * the connected {@link Runtime}.
 *
 * <pre>{@code
 * @Testcontainers
 * class MyAgentTest {
 *     @Container
 *     static AgentSandboxContainer sandbox = new AgentSandboxContainer("python:3.12-slim")
 *             .withEnv("GREETING", "hello");
 *
 *     @Test
 *     void greets() {
 *         assertThat(sandbox.runtime().run("echo $GREETING").content()).contains("hello");
 *     }
 * }
 * }</pre>
 *
 * <p>With an image name the sandbox is a Docker container (add {@code dev.agentruntime:runtime-docker} to the test
 * class path): the image is any Debian/Ubuntu-based image with bash, and the action server is shipped into it as
 * the Docker backend does, with the backend's labels, idle timeout and reaper as the safety net (so it needs no
 * Ryuk). {@link #AgentSandboxContainer(RuntimeConfig)} takes any backend's configuration. Testcontainers is an
 * optional dependency of the testkit: add {@code org.testcontainers:testcontainers} (and
 * {@code org.testcontainers:junit-jupiter} for the annotations) to use this class.
 */
public class AgentSandboxContainer implements Startable {

    private RuntimeConfig.Builder config;
    private volatile Runtime runtime;

    /** A Docker sandbox from {@code image} (never pulled when it is present locally). */
    public AgentSandboxContainer(String image) {
        this(RuntimeConfig.builder().type("docker").option("image", Objects.requireNonNull(image, "image")).build());
    }

    /** A sandbox of any backend, e.g. {@code RuntimeConfig.builder().type("local").build()}. */
    public AgentSandboxContainer(RuntimeConfig config) {
        this.config = Objects.requireNonNull(config, "config").toBuilder();
    }

    /** Sets a variable in the sandbox's shell. */
    public AgentSandboxContainer withEnv(String name, String value) {
        config.env(name, value);
        return this;
    }

    /** Sets a backend option, e.g. {@code withOption("memory", "1g")} for Docker. */
    public AgentSandboxContainer withOption(String key, String value) {
        config.option(key, value);
        return this;
    }

    /** Names the session (and so the container); a random id otherwise. */
    public AgentSandboxContainer withSessionId(String sessionId) {
        config.sessionId(sessionId);
        return this;
    }

    /** Mounts a host directory as the sandbox workspace. */
    public AgentSandboxContainer withWorkspace(Path workspace) {
        config.workspace(workspace);
        return this;
    }

    public AgentSandboxContainer withStartupTimeout(Duration timeout) {
        config.startupTimeout(timeout);
        return this;
    }

    /** Anything else: e.g. {@code withConfig(b -> b.backendConfig(dockerConfig))}. */
    public AgentSandboxContainer withConfig(UnaryOperator<RuntimeConfig.Builder> change) {
        config = Objects.requireNonNull(change.apply(config), "the changed builder");
        return this;
    }

    /** Creates and connects the sandbox; does nothing when it runs already. */
    @Override
    public synchronized void start() {
        if (runtime != null) {
            return;
        }
        Runtime created = RuntimeFactory.create(config.build());
        try {
            created.connect();
        } catch (RuntimeException e) {
            created.close();
            throw e;
        }
        runtime = created;
    }

    /** Closes the sandbox (removing its container); idempotent. */
    @Override
    public synchronized void stop() {
        Runtime current = runtime;
        runtime = null;
        if (current != null) {
            current.close();
        }
    }

    /** True between {@link #start()} and {@link #stop()}. */
    public boolean isRunning() {
        return runtime != null;
    }

    /** The connected sandbox. */
    public Runtime runtime() {
        Runtime current = runtime;
        if (current == null) {
            throw new IllegalStateException("The agent sandbox is not started: declare it as a @Container field of "
                    + "a @Testcontainers class, or call start() first");
        }
        return current;
    }

    /** The sandbox's application URLs, see {@link Runtime#webHosts()}. */
    public Map<String, Integer> webHosts() {
        return runtime().webHosts();
    }

    @Override
    public String toString() {
        Runtime current = runtime;
        return "AgentSandboxContainer[" + (current == null ? "not started" : current.id() + ", " + current.status())
                + "]";
    }
}
