package dev.agentruntime.runloop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.StatusEvent;
import dev.agentruntime.fake.SandboxHost;
import dev.agentruntime.runloop.fake.RunloopFakeExtension;
import dev.agentruntime.spi.ServerBundle;
import dev.agentruntime.testkit.RequiresDocker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's blueprint recipe, proven: an image built from {@link ServerBundle#dockerfileRecipe()} registered as a
 * Runloop blueprint starts a sandbox whose server is found in place, with no bundle upload; an unknown blueprint
 * name is refused with Runloop's answer in the error.
 */
@RequiresDocker
class RunloopBlueprintIT {

    @RegisterExtension
    static final RunloopFakeExtension RUNLOOP = new RunloopFakeExtension();

    @TempDir
    Path context;

    @Test
    void aBlueprintWithTheServerBakedInNeedsNoUpload() throws Exception {
        ServerBundle bundle = ServerBundle.prepare(line -> { });
        Files.copy(bundle.archive(), context.resolve("agent-runtime-server-bundle.tar.gz"));
        Files.writeString(context.resolve("Dockerfile"), "FROM " + SandboxHost.DEFAULT_IMAGE + "\n"
                + bundle.dockerfileRecipe());
        String image = "agent-runtime-test/runloop-blueprint:" + bundle.serverVersion();
        docker("build", "-q", "-t", image, context.toString());
        try {
            RUNLOOP.fake().blueprint("agent-runtime-server", image);
            List<StatusEvent> events = new CopyOnWriteArrayList<>();
            int uploadsBefore = RUNLOOP.fake().uploadCalls();
            RuntimeConfig config = RUNLOOP.configure(RuntimeConfig.builder()).option("blueprint.name",
                    "agent-runtime-server").statusListener(events::add).build();
            try (Runtime sandbox = RuntimeFactory.connect(config)) {
                assertThat(sandbox.run("ls /opt/agent-runtime/runtime-server.jar").exitCode()).isZero();
                assertThat(sandbox.run("echo $((6 * 7))").content()).isEqualTo("42");
            }
            assertThat(RUNLOOP.fake().uploadCalls() - uploadsBefore).as("upload_file calls besides the key file")
                    .isEqualTo(1);
            assertThat(events).extracting(StatusEvent::message)
                    .noneMatch(m -> m.startsWith("Uploading the action server bundle"));
        } finally {
            docker("rmi", "-f", image);
        }
    }

    @Test
    void anUnknownBlueprintIsRefusedWithRunloopsAnswer() {
        RuntimeConfig config = RUNLOOP.configure(RuntimeConfig.builder()).option("blueprint.name", "no-such-blueprint")
                .build();
        try (Runtime sandbox = RuntimeFactory.create(config)) {
            assertThatThrownBy(sandbox::connect).isInstanceOf(AgentRuntimeException.class)
                    .hasMessageContaining("no blueprint named no-such-blueprint")
                    .hasMessageContaining("POST /v1/devboxes");
        }
        assertThat(RUNLOOP.fake().liveDevboxes()).isEmpty();
    }

    private static void docker(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("docker"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(5, TimeUnit.MINUTES)).as("docker " + args[0] + " ended").isTrue();
        assertThat(process.exitValue()).as("docker " + String.join(" ", args) + ": " + output).isZero();
    }
}
