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

    @Test
    void execShowsOutputAsItArrives() throws Exception {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", JAR.toString(),
                "exec", "echo first; sleep 2; echo second"));
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        java.io.BufferedReader out = new java.io.BufferedReader(
                new java.io.InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        assertThat(out.readLine()).isEqualTo("first");
        long first = System.nanoTime();
        assertThat(out.readLine()).isEqualTo("second");
        long second = System.nanoTime();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(second - first).as("first was printed while the command still ran")
                .isGreaterThan(java.time.Duration.ofMillis(1500).toNanos());
    }

    @Test
    void execJsonIsOneObjectForScripts() throws Exception {
        Result result = cli("", "exec", "--json", "cd /tmp && echo out && (exit 4)");
        assertThat(result.exitCode()).isEqualTo(4);
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(result.stdout());
        assertThat(json.path("exit_code").asInt()).isEqualTo(4);
        assertThat(json.path("timed_out").asBoolean()).isFalse();
        assertThat(json.path("output").asText()).isEqualTo("out");
        assertThat(json.path("working_dir").asText()).isEqualTo("/tmp");
        assertThat(json.path("command").asText()).isEqualTo("cd /tmp && echo out && (exit 4)");
        assertThat(json.path("session").asText()).isNotBlank();
        assertThat(result.stdout().strip().lines()).hasSize(1);
    }

    @Test
    void execPrintsTheWholeOutputWhileTheObservationIsCutInTheMiddle() throws Exception {
        String seq = "seq 1 20000"; // 108,894 characters, beyond the 30,000 an observation keeps
        Result plain = cli("", "exec", seq);
        Result agentView = cli("", "exec", "--json", seq);
        Result full = cli("", "exec", "--json", "--full", seq);

        String expected = java.util.stream.IntStream.rangeClosed(1, 20000).mapToObj(Integer::toString)
                .collect(java.util.stream.Collectors.joining("\n", "", "\n"));
        assertThat(plain.stdout()).isEqualTo(expected);
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        String cut = mapper.readTree(agentView.stdout()).path("output").asText();
        assertThat(cut.length()).isLessThan(40_000);
        assertThat(cut).startsWith("1\n2\n").endsWith("19999\n20000");
        assertThat(mapper.readTree(full.stdout()).path("output").asText()).isEqualTo(expected);
    }

    @Test
    void execThatDoesNotFinishInTimeExits124WithAMessageForPeople() throws Exception {
        Result result = cli("", "exec", "--timeout", "1", "echo started; sleep 30");
        assertThat(result.exitCode()).isEqualTo(124);
        assertThat(result.stdout()).isEqualTo("started\n");
        assertThat(result.stderr()).contains("did not finish within 1 s")
                .doesNotContain("timeout parameter").doesNotContain("execute_bash").doesNotContain("C-c");
    }

    @Test
    void shellExitLeavesWithTheLastExitCodeOrTheGivenOne() throws Exception {
        assertThat(cli("false\nexit\n", "shell").exitCode()).isEqualTo(1);
        assertThat(cli("true\nexit 7\n", "shell").exitCode()).isEqualTo(7);
        assertThat(cli("(exit 5)\n", "shell").exitCode()).as("end of input, like Ctrl-D").isEqualTo(5);
    }

    @Test
    void imageRecipeWritesABuildContextWhoseDockerfileNamesTheBundlesDigest(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        Result written = cli("", "image", "recipe", "-d", dir.toString(), "--from", "ubuntu:24.04");
        assertThat(written.exitCode()).as(written.stderr()).isZero();
        String dockerfile = java.nio.file.Files.readString(dir.resolve("Dockerfile"));
        String digest = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(java.nio.file.Files.readAllBytes(dir.resolve("agent-runtime-server-bundle.tar.gz"))));
        assertThat(dockerfile).startsWith("FROM ubuntu:24.04\n").contains("ADD agent-runtime-server-bundle.tar.gz ")
                .contains("RUN echo " + digest + " > ");
        assertThat(written.stdout()).contains("docker build");

        Result again = cli("", "image", "recipe", "-d", dir.toString());
        assertThat(again.exitCode()).as("an existing Dockerfile is not overwritten").isEqualTo(2);
        assertThat(again.stderr()).contains("not overwriting");
        assertThat(cli("", "image", "recipe").stdout()).contains(digest).contains("ADD agent-runtime-server-bundle");
    }

    @Test
    void helpOffersEveryBackendTheJarShips() throws Exception {
        Result result = cli("", "exec", "--help");
        assertThat(result.stdout()).contains("local").contains("docker").contains("remote").contains("kubernetes")
                .contains("e2b").contains("daytona").contains("runloop").contains("modal");
        Result listed = cli("", "list", "--json", "-t", "local");
        assertThat(listed.exitCode()).isZero();
        assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(listed.stdout()).isArray()).isTrue();
    }

    @Test
    void execStoppedFromOutsideRemovesItsSandbox() throws Exception {
        String session = "cli-term-" + System.nanoTime();
        Path errFile = java.nio.file.Files.createTempFile("cli-term", ".err"); // destroy() closes the pipes
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", JAR.toString(), "exec", "--session-id", session, "echo started; sleep 60")
                .redirectError(errFile.toFile()).start();
        java.io.BufferedReader out = new java.io.BufferedReader(
                new java.io.InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        assertThat(out.readLine()).isEqualTo("started");

        process.destroy(); // SIGTERM, as from kill; Ctrl-C's SIGINT takes the same path
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String err = java.nio.file.Files.readString(errFile);
        java.nio.file.Files.delete(errFile);

        assertThat(process.exitValue()).isNotZero();
        assertThat(err).contains("interrupted; removing the sandbox").doesNotContain("[exit code");
        try (SandboxHousekeeping sandboxes = RuntimeFactory.housekeeping(
                RuntimeConfig.builder().type("local").sessionId(session).build())) {
            assertThat(sandboxes.find(session)).isEmpty();
        }
    }
}
