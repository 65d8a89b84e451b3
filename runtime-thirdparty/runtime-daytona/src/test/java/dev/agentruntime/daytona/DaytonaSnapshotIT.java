package dev.agentruntime.daytona;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.daytona.fake.DaytonaFake;
import dev.agentruntime.fake.SandboxHost;
import dev.agentruntime.spi.ServerBundle;
import dev.agentruntime.testkit.RequiresDocker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's recipe works: an image built from {@link ServerBundle#dockerfileRecipe()}, registered as a Daytona
 * snapshot, starts our server without uploading the bundle (only the session key file goes up).
 */
@RequiresDocker
class DaytonaSnapshotIT {

    @TempDir
    Path dir;

    @Test
    void aSnapshotWithTheServerBakedInStartsWithoutUploadingTheBundle() throws Exception {
        ServerBundle bundle = ServerBundle.prepare(line -> { });
        Files.copy(bundle.archive(), dir.resolve("agent-runtime-server-bundle.tar.gz"));
        Files.writeString(dir.resolve("Dockerfile"), "FROM " + SandboxHost.DEFAULT_IMAGE + "\nUSER root\n"
                + bundle.dockerfileRecipe());
        String image = "agent-runtime-test/daytona-snapshot:" + bundle.serverVersion();
        docker("build", "-q", "-t", image, dir.toString());
        try (DaytonaFake fake = DaytonaFake.builder().apiKey("snap-key").snapshot("agent-runtime-server", image)
                .build()) {
            RuntimeConfig config = RuntimeConfig.builder().type("daytona").startupTimeout(Duration.ofSeconds(90))
                    .option("api.url", fake.apiUrl().toString()).option("api.key", "snap-key")
                    .option("snapshot", "agent-runtime-server").build();
            try (Runtime runtime = RuntimeFactory.connect(config)) {
                assertThat(runtime.run("echo from-the-snapshot").content()).isEqualTo("from-the-snapshot");
                DaytonaFake.Box box = fake.sandboxes().get(0);
                assertThat(box.uploadedBytes()).as("only the key file went up, not the %d-byte bundle",
                        bundle.size()).isLessThan(4096);
            }
        } finally {
            docker("rmi", "-f", image);
        }
    }

    private static void docker(String... args) throws IOException, InterruptedException {
        String[] command = new String[args.length + 1];
        command[0] = "docker";
        System.arraycopy(args, 0, command, 1, args.length);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(180, TimeUnit.SECONDS)).as("docker " + String.join(" ", args)).isTrue();
        assertThat(process.exitValue()).as("docker " + String.join(" ", args) + ": " + output).isZero();
    }
}
