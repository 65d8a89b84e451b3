package dev.agentruntime.e2b;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.StatusEvent;
import dev.agentruntime.e2b.fake.FakeE2B;
import dev.agentruntime.fake.SandboxHost;
import dev.agentruntime.spi.ServerBundle;
import dev.agentruntime.testkit.RequiresDocker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a start costs: a cold start uploads the server bundle (progress reported while it goes), a template baked from
 * {@link ServerBundle#dockerfileRecipe()} uploads nothing. Prints {@code [measure]} lines.
 */
@RequiresDocker
class E2BColdStartIT {

    @Test
    void aColdStartUploadsTheBundleAndABakedTemplateNothing(@TempDir Path tmp) throws Exception {
        ServerBundle bundle = ServerBundle.prepare(line -> { });
        String baked = bakeImage(bundle, tmp);
        try (FakeE2B e2b = FakeE2B.builder().template("agent-runtime-baked", baked).start()) {
            List<StatusEvent> cold = new CopyOnWriteArrayList<>();
            long started = System.nanoTime();
            try (Runtime runtime = RuntimeFactory.connect(config(e2b, "base", cold))) {
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                assertThat(runtime.run("echo cold").content()).isEqualTo("cold");
                assertThat(cold).extracting(StatusEvent::message)
                        .anyMatch(m -> m.startsWith("Uploading the action server bundle"))
                        .anyMatch(m -> m.matches("Uploading the action server to E2B sandbox \\S+: \\d+ MiB sent"))
                        .anyMatch(m -> m.startsWith("Uploaded the action server (" + bundle.size() + " bytes)"));
                System.out.println("[measure] e2b cold start through the fake: " + bundle.size() + " bytes uploaded,"
                        + " connect() took " + millis + " ms");
            }

            List<StatusEvent> warm = new CopyOnWriteArrayList<>();
            started = System.nanoTime();
            try (Runtime runtime = RuntimeFactory.connect(config(e2b, "agent-runtime-baked", warm))) {
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                assertThat(runtime.run("echo baked").content()).isEqualTo("baked");
                assertThat(warm).extracting(StatusEvent::message)
                        .noneMatch(m -> m.startsWith("Uploading the action server"))
                        .noneMatch(m -> m.startsWith("Uploaded the action server"));
                System.out.println("[measure] e2b start from a baked template through the fake: 0 bundle bytes,"
                        + " connect() took " + millis + " ms");
            }
            assertThat(e2b.sandboxIds()).isEmpty();
        } finally {
            docker("rmi", "-f", baked);
        }
    }

    private static RuntimeConfig config(FakeE2B e2b, String template, List<StatusEvent> events) {
        return RuntimeConfig.builder().type("e2b").option("api.key", e2b.apiKey())
                .option("api.url", e2b.uri().toString()).option("sandbox.url", e2b.uri().toString())
                .option("template", template).startupTimeout(Duration.ofSeconds(120)).statusListener(events::add)
                .build();
    }

    /** The test image plus the server, exactly as the recipe says. */
    private static String bakeImage(ServerBundle bundle, Path dir) throws IOException, InterruptedException {
        String tag = "agent-runtime-test/e2b-baked:" + bundle.sha256().substring(0, 12);
        Files.copy(bundle.archive(), dir.resolve("agent-runtime-server-bundle.tar.gz"));
        Files.writeString(dir.resolve("Dockerfile"), "FROM " + SandboxHost.DEFAULT_IMAGE + "\n"
                + bundle.dockerfileRecipe(), StandardCharsets.UTF_8);
        docker("build", "-q", "-t", tag, dir.toString());
        return tag;
    }

    private static void docker(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("docker"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(180, TimeUnit.SECONDS)).as("docker " + String.join(" ", args)).isTrue();
        assertThat(process.exitValue()).as("docker " + String.join(" ", args) + ": " + output).isZero();
    }
}
