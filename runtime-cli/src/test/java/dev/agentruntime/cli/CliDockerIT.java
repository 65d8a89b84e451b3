package dev.agentruntime.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.testkit.RequiresDocker;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The jar ships the Docker backend: {@code exec -t docker} runs in a container and removes it. */
@RequiresDocker
class CliDockerIT {

    private static final Path JAR = Path.of(System.getProperty("agent.runtime.cli.jar", "target/agent-runtime.jar"));
    private static final String IMAGE = System.getProperty("agent.runtime.test.image",
            "agent-runtime-test/debian:bookworm");

    @Test
    void execRunsInADockerSandbox() throws Exception {
        String session = "cli-docker-" + System.nanoTime();
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", JAR.toString(), "exec", "-t", "docker", "-o", "image=" + IMAGE, "--session-id", session,
                "test -f /.dockerenv && echo in-a-container; exit 3").start();
        process.getOutputStream().close();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();

        assertThat(out).as(err).startsWith("in-a-container\n");
        assertThat(process.exitValue()).as(err).isEqualTo(3);
        Process list = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", JAR.toString(), "list", "--json", "-t", "docker").start();
        String listed = new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(list.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(listed).as("the container was removed").doesNotContain(session);
        assertThat(List.of(listed.strip())).allMatch(s -> s.startsWith("["));
    }
}
