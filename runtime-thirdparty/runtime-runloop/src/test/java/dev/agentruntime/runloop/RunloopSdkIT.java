package dev.agentruntime.runloop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.runloop.fake.RunloopFakeExtension;
import dev.agentruntime.testkit.RequiresDocker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Proof that the fake speaks Runloop's protocol: the official {@code @runloop/api-client} (the version pinned in
 * {@code runtime-thirdparty/sdk-checks}) runs its basic flow against it — create and await running, {@code echo hi},
 * write and read a file, upload and download bytes, list, shut down — and this test fails when the SDK does.
 */
@RequiresDocker
class RunloopSdkIT {

    @RegisterExtension
    static final RunloopFakeExtension RUNLOOP = new RunloopFakeExtension();

    private static final Path CHECKS = Path.of("..", "sdk-checks").toAbsolutePath().normalize();

    @Test
    void theOfficialSdksBasicFlowPassesAgainstTheFake() throws IOException, InterruptedException {
        assertThat(CHECKS.resolve("node_modules/@runloop/api-client/package.json"))
                .as("the official SDK is installed: run npm ci --prefix runtime-thirdparty/sdk-checks").exists();
        Path output = Files.createTempFile("runloop-sdk-", ".log");
        try {
            ProcessBuilder node = new ProcessBuilder("node", "runloop-basic.mjs").directory(CHECKS.toFile())
                    .redirectErrorStream(true).redirectOutput(output.toFile());
            node.environment().put("RUNLOOP_API_KEY", RunloopFakeExtension.API_KEY);
            node.environment().put("RUNLOOP_BASE_URL", RUNLOOP.fake().baseUrl().toString());
            Process process = node.start();
            boolean ended = process.waitFor(3, TimeUnit.MINUTES);
            if (!ended) {
                process.destroyForcibly();
            }
            String log = Files.readString(output, StandardCharsets.UTF_8);
            assertThat(ended).as("the SDK flow ended within 3 minutes: " + log).isTrue();
            assertThat(process.exitValue()).as("the SDK flow's exit code; its output: " + log).isZero();
            assertThat(log).contains("\"ok\":true").contains("exec echo hi").contains("upload + download")
                    .contains("shutdown");
            assertThat(RUNLOOP.fake().liveDevboxes()).as("the SDK shut its devbox down").isEmpty();
        } finally {
            Files.deleteIfExists(output);
        }
    }
}
