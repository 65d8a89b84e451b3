package dev.agentruntime.e2b;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.agentruntime.e2b.fake.FakeE2B;
import dev.agentruntime.testkit.RequiresDocker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The proof that the local E2B speaks E2B: the official {@code e2b} npm package (2.51.0, installed by
 * {@code npm ci --prefix runtime-thirdparty/sdk-checks}) runs its basic flow against it — {@code Sandbox.create},
 * {@code commands.run('echo hi')} and a failing command, {@code files.write} / {@code files.read}, {@code Sandbox.list}
 * by metadata, {@code kill} — and this test fails if the SDK does. Required in CI ({@code CI=true}); skipped on a
 * machine without Node or the installed SDK.
 */
@RequiresDocker
class E2BSdkIT {

    private static final Path CHECKS = Path.of("..", "sdk-checks").toAbsolutePath().normalize();

    @Test
    void theOfficialSdksBasicFlowPassesAgainstTheFake() throws Exception {
        boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
        boolean installed = Files.isDirectory(CHECKS.resolve("node_modules/e2b"));
        if (!ci) {
            assumeTrue(installed && nodeAvailable(), "node or " + CHECKS.resolve("node_modules/e2b")
                    + " is missing (npm ci --prefix runtime-thirdparty/sdk-checks)");
        }
        assertThat(installed).as("the official e2b SDK is installed in " + CHECKS + " (npm ci)").isTrue();
        String checkId = UUID.randomUUID().toString();
        try (FakeE2B e2b = FakeE2B.builder().start()) {
            Path output = Files.createTempFile("e2b-sdk-", ".log");
            try {
                ProcessBuilder node = new ProcessBuilder("node", "e2b-basic.mjs").directory(CHECKS.toFile())
                        .redirectErrorStream(true).redirectOutput(output.toFile());
                node.environment().put("E2B_API_KEY", e2b.apiKey());
                node.environment().put("E2B_API_URL", e2b.uri().toString());
                node.environment().put("E2B_SANDBOX_URL", e2b.uri().toString());
                node.environment().put("SDK_CHECK_ID", checkId);
                node.environment().remove("E2B_DOMAIN");
                node.environment().remove("E2B_DEBUG");
                Process process = node.start();
                boolean ended = process.waitFor(120, TimeUnit.SECONDS);
                if (!ended) {
                    process.destroyForcibly();
                }
                String log = Files.readString(output, StandardCharsets.UTF_8);
                assertThat(ended).as("the SDK flow ended within 120 s:\n" + log).isTrue();
                assertThat(process.exitValue()).as("the SDK flow's exit code; its output:\n" + log).isZero();
                assertThat(log).contains("\"stdout\":\"hi\\n\"").contains("\"failedExitCode\":3")
                        .contains("\"read\":\"hello from the sdk\"").contains("\"killed\":true");
                assertThat(e2b.calls()).as("the SDK's calls, as the fake saw them")
                        .contains("POST /v2/sandboxes", "envd POST /process.Process/Start", "envd POST /files",
                                "envd GET /files")
                        .anyMatch(call -> call.startsWith("GET /v2/sandboxes?metadata="))
                        .anyMatch(call -> call.startsWith("DELETE /sandboxes/"));
                assertThat(e2b.sandboxIds()).as("the SDK killed its sandbox").isEmpty();
            } finally {
                Files.deleteIfExists(output);
            }
        }
    }

    private static boolean nodeAvailable() {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
