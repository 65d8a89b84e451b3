package dev.agentruntime.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.internal.ServerClassData;
import dev.agentruntime.internal.ServerJar;
import dev.agentruntime.spi.ServerLaunch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What makes a local sandbox start fast: the class-data archive, and skipping a slow ~/.bashrc on request. */
class LocalStartupIT {

    @Test
    void theFirstStartMakesAClassDataArchiveThatLaterServersMap(@TempDir Path dir) throws Exception {
        Path jar = Files.copy(ServerJar.locate(), dir.resolve("runtime-server-copy.jar"));
        RuntimeConfig config = RuntimeConfig.builder().type("local")
                .backendConfig(LocalRuntimeConfig.defaults().withServerJar(jar)).build();
        ServerClassData archive = ServerClassData.of(Path.of(System.getProperty("java.home"), "bin", "java"), jar,
                ServerLaunch.JVM_FLAGS);
        assertThat(archive.archive().getParent()).as("next to the server jar").isEqualTo(dir);

        try (Runtime first = RuntimeFactory.connect(config)) {
            assertThat(serverArguments(first)).noneMatch(a -> a.startsWith("-XX:SharedArchiveFile"));
        }
        assertThat(archive.awaitArchive(Duration.ofMinutes(2))).as("archive made by the background training").isTrue();

        try (Runtime later = RuntimeFactory.connect(config)) {
            assertThat(serverArguments(later)).contains("-XX:SharedArchiveFile=" + archive.archive());
            assertThat(later.run("echo mapped").content()).isEqualTo("mapped");
        }
        try (Runtime off = RuntimeFactory.connect(config.toBuilder()
                .backendConfig(LocalRuntimeConfig.defaults().withServerJar(jar).withClassDataSharing(false)).build())) {
            assertThat(serverArguments(off)).noneMatch(a -> a.startsWith("-XX:SharedArchiveFile"));
        }
    }

    @Test
    void theShellSourcesBashrcUnlessToldNotTo(@TempDir Path home) throws IOException {
        Files.writeString(home.resolve(".bashrc"), "export FROM_BASHRC=sourced\n");
        RuntimeConfig config = RuntimeConfig.builder().type("local").env("HOME", home.toString()).build();
        try (Runtime sourced = RuntimeFactory.connect(config)) {
            assertThat(sourced.run("echo \"[$FROM_BASHRC]\"").content()).isEqualTo("[sourced]");
        }
        RuntimeConfig skipping = config.toBuilder().option("source-bashrc", "false").build();
        try (Runtime skipped = RuntimeFactory.connect(skipping)) {
            assertThat(skipped.run("echo \"[$FROM_BASHRC]\"").content()).isEqualTo("[]");
            assertThat(skipped.run("echo \"[$AGENT_RUNTIME_SOURCE_BASHRC]\"").content())
                    .as("the switch is the server's, not the shell's").isEqualTo("[]");
        }
    }

    @Test
    void anOptionFromAnAgentRuntimeOptionVariableTakesEffect(@TempDir Path home) throws IOException {
        Files.writeString(home.resolve(".bashrc"), "export FROM_BASHRC=sourced\n");
        Map<String, String> environment = Map.of("AGENT_RUNTIME_TYPE", "local", "SANDBOX_ENV_HOME", home.toString());
        try (Runtime sourced = RuntimeFactory.connect(RuntimeConfig.fromEnvironment(environment))) {
            assertThat(sourced.run("echo \"[$FROM_BASHRC]\"").content()).isEqualTo("[sourced]");
        }
        Map<String, String> switchedOff = new HashMap<>(environment);
        switchedOff.put("AGENT_RUNTIME_OPTION_SOURCE_BASHRC", "false");
        RuntimeConfig config = RuntimeConfig.fromEnvironment(switchedOff);
        assertThat(config.options()).containsEntry("source.bashrc", "false");
        try (Runtime skipped = RuntimeFactory.connect(config)) {
            assertThat(skipped.run("echo \"[$FROM_BASHRC]\"").content()).isEqualTo("[]");
        }
    }

    /** The server's JVM arguments: the shell's parent process is the server. */
    private static List<String> serverArguments(Runtime runtime) {
        long server = Long.parseLong(runtime.run("echo $PPID").content().strip());
        return ProcessHandle.of(server).flatMap(p -> p.info().arguments()).map(List::of).orElseThrow();
    }
}
