package dev.agentruntime.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.SandboxHousekeeping;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Runs the built CLI jar the way the README does, against the local backend. */
class CliIT {

    private static final Path JAR = Path.of(System.getProperty("agent.runtime.cli.jar", "target/agent-runtime.jar"));

    record Result(int exitCode, String stdout, String stderr) {
    }

    private static Result cli(String stdin, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", JAR.toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).start();
        process.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().close();
        var out = process.getInputStream().readAllBytes();
        var err = process.getErrorStream().readAllBytes();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("CLI finished").isTrue();
        return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    @Test
    void execPrintsTheCommandOutputAndExitCode() throws Exception {
        Result result = cli("", "exec", "echo", "hello from the sandbox");
        assertThat(result.stdout()).isEqualTo("hello from the sandbox\n");
        assertThat(result.stderr()).contains("[exit code 0]");
        assertThat(result.exitCode()).isZero();
    }

    @Test
    void execExitsWithTheCommandsExitCode() throws Exception {
        Result result = cli("", "exec", "echo failing; exit 3");
        assertThat(result.stdout()).contains("failing");
        assertThat(result.stderr()).contains("[exit code 3]");
        assertThat(result.exitCode()).isEqualTo(3);
    }

    @Test
    void execWithAnUnknownBackendExplainsWhichExist() throws Exception {
        Result result = cli("", "exec", "--type", "nope", "true");
        assertThat(result.exitCode()).isEqualTo(125);
        assertThat(result.stderr()).contains("No runtime backend of type 'nope'").contains("Available types: local");
    }

    @Test
    void shellKeepsStateBetweenLinesAndSendsInputToRunningCommands() throws Exception {
        Result result = cli("cd /tmp\npwd\nread -p 'name? ' n; echo hi $n\nbob\n:exit\n",
                "shell", "--no-change-timeout", "1");
        assertThat(result.exitCode()).isZero();
        assertThat(result.stdout()).contains("/tmp\n").contains("hi bob");
    }

    @Test
    void listRmAndReapFindSandboxesByTheirLabels() throws Exception {
        String session = "cli-hk-" + System.nanoTime();
        RuntimeConfig kept = RuntimeConfig.builder().type("local").sessionId(session).keepAlive(true)
                .sessionApiKey(RuntimeConfig.randomKey()).build();
        try (Runtime sandbox = RuntimeFactory.connect(kept)) {
            assertThat(sandbox.run("echo up").content()).isEqualTo("up");
        }
        try {
            Result listed = cli("", "list", "-t", "local");
            assertThat(listed.exitCode()).as(listed.stderr()).isZero();
            assertThat(listed.stdout()).startsWith("SESSION").contains(session).contains("keep-alive");

            Result reaped = cli("", "reap", "-t", "local");
            assertThat(reaped.exitCode()).isZero();
            assertThat(reaped.stdout()).as("a keep-alive sandbox is never reaped").doesNotContain(session);

            Result removed = cli("", "rm", "-t", "local", session);
            assertThat(removed.exitCode()).as(removed.stderr()).isZero();
            assertThat(removed.stdout()).isEqualTo("removed " + session + "\n");
            assertThat(cli("", "list", "-t", "local").stdout()).doesNotContain(session);

            Result again = cli("", "rm", "-t", "local", session);
            assertThat(again.exitCode()).isEqualTo(1);
            assertThat(again.stderr()).contains("no local sandbox of session " + session);
        } finally {
            try (SandboxHousekeeping sandboxes = RuntimeFactory.housekeeping(kept)) {
                sandboxes.delete(session);
            }
        }
    }

    @Test
    void housekeepingOfAnUnknownTypeSaysWhichExist() throws Exception {
        Result result = cli("", "list", "-t", "Locl");
        assertThat(result.exitCode()).isEqualTo(125);
        assertThat(result.stderr()).contains("No runtime backend of type 'Locl'").contains("Did you mean 'local'?");
    }
}
