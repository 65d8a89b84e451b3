package dev.agentruntime.daytona;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.daytona.fake.DaytonaFake;
import dev.agentruntime.testkit.RequiresDocker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The proof that the fake speaks Daytona's protocol: the official {@code @daytonaio/sdk} (the version pinned in
 * {@code runtime-thirdparty/sdk-checks}) runs its basic flow against it — create (and wait for {@code started}),
 * {@code echo hi} through the toolbox, a file written with bulk-upload and read back with bulk-download, delete — and
 * the test fails when the SDK does.
 */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DaytonaSdkIT {

    private DaytonaFake fake;

    @BeforeAll
    void startFake() {
        fake = DaytonaFake.builder().apiKey("sdk-check-key").build();
    }

    @AfterAll
    void stopFake() {
        if (fake != null) {
            fake.close();
        }
    }

    @Test
    void theOfficialSdkCreatesRunsWritesReadsAndDeletesAgainstTheFake() throws Exception {
        Path checks = Path.of(System.getProperty("agent.runtime.sdkChecks", "../sdk-checks")).toAbsolutePath();
        assertThat(checks.resolve("node_modules/@daytonaio/sdk")).as("the official SDK is installed (npm ci --prefix "
                + "runtime-thirdparty/sdk-checks)").isDirectory();
        Path output = Files.createTempFile("daytona-sdk-", ".log");
        try {
            ProcessBuilder node = new ProcessBuilder("node", "daytona-basic.mjs").directory(checks.toFile())
                    .redirectErrorStream(true).redirectOutput(output.toFile());
            node.environment().put("DAYTONA_API_KEY", "sdk-check-key");
            node.environment().put("DAYTONA_API_URL", fake.apiUrl().toString());
            node.environment().remove("DAYTONA_JWT_TOKEN");
            Process process = node.start();
            boolean ended = process.waitFor(180, TimeUnit.SECONDS);
            if (!ended) {
                process.destroyForcibly();
            }
            String log = Files.readString(output, StandardCharsets.UTF_8);
            assertThat(ended).as("the SDK flow ended within 180 s:\n" + log).isTrue();
            assertThat(process.exitValue()).as("the SDK flow's exit code; its output:\n" + log).isZero();
            assertThat(log).contains("daytona-basic: OK");
        } finally {
            try {
                Files.deleteIfExists(output);
            } catch (IOException ignored) {
                // a temp file
            }
        }
        assertThat(fake.creates()).isEqualTo(1);
        assertThat(fake.sandboxes()).singleElement().satisfies(box -> {
            assertThat(box.labels()).containsEntry("sdk-check", "basic").containsEntry("code-toolbox-language",
                    "python");
            assertThat(box.env()).containsEntry("SDK_CHECK", "daytona");
        });
    }
}
