package dev.agentruntime.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ServerOptionsTest {

    private static ServerOptions parse(String... args) {
        return ServerOptions.parse(args, Map.of());
    }

    private static ServerOptions parseEnv(Map<String, String> env) {
        return ServerOptions.parse(new String[] {"0", "--working-dir", "/tmp"}, env);
    }

    @Test
    void parsesOpenHandsCommandLine() {
        ServerOptions options = parse("30000", "--working-dir", "/workspace", "--plugins", "agent_skills", "jupyter",
                "--username", "openhands", "--user-id", "1000", "--no-enable-browser", "--browsergym-eval-env", "a", "b");

        assertThat(options.port()).isEqualTo(30000);
        assertThat(options.workingDir()).isEqualTo(Path.of("/workspace"));
        assertThat(options.username()).isEqualTo("openhands");
        assertThat(options.userId()).isEqualTo(1000);
        assertThat(options.bindAddress()).isEqualTo("0.0.0.0");
    }

    @Test
    void acceptsArgparseEqualsForm() {
        ServerOptions options = parse("0", "--working-dir=/workspace", "--username=alice", "--user-id=42", "--bind=127.0.0.1");

        assertThat(options.workingDir()).isEqualTo(Path.of("/workspace"));
        assertThat(options.username()).isEqualTo("alice");
        assertThat(options.userId()).isEqualTo(42);
        assertThat(options.bindAddress()).isEqualTo("127.0.0.1");
    }

    @Test
    void defaultsWithOnlyAPort() {
        ServerOptions options = parse("0");

        assertThat(options.port()).isZero();
        assertThat(options.workingDir()).isEqualTo(Path.of(System.getProperty("user.dir")).toAbsolutePath().normalize());
        assertThat(options.noChangeTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(options.idleTimeout()).isNull();
        assertThat(options.sessionApiKey()).isNull();
        assertThat(options.exitOnStdinEof()).isFalse();
    }

    @Test
    void relativeWorkingDirIsMadeAbsolute() {
        assertThat(parse("0", "--working-dir", "a/../b").workingDir())
                .isEqualTo(Path.of(System.getProperty("user.dir"), "b"));
    }

    @Test
    void missingPortFailsWithUsage() {
        assertThatThrownBy(() -> parse("--working-dir", "/tmp"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("missing <port>\n")
                .hasMessageContaining("usage: java -jar runtime-server.jar <port> --working-dir <dir>");
    }

    @Test
    void nonNumericPortFails() {
        assertThatThrownBy(() -> parse("http"))
                .hasMessageStartingWith("port must be an integer, was 'http'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"65536", "-1", "100000"})
    void portOutOfRangeFails(String port) {
        assertThatThrownBy(() -> parse(port)).hasMessage("port must be 0-65535, was " + Integer.parseInt(port));
    }

    @Test
    void secondPositionalArgumentFails() {
        assertThatThrownBy(() -> parse("1", "2")).hasMessageStartingWith("unexpected argument '2'");
    }

    @Test
    void unknownOptionFailsNamingIt() {
        assertThatThrownBy(() -> parse("0", "--frobnicate"))
                .hasMessageStartingWith("unknown option --frobnicate\n")
                .hasMessageContaining("usage:");
    }

    @Test
    void optionWithoutValueFails() {
        assertThatThrownBy(() -> parse("0", "--working-dir")).hasMessageStartingWith("--working-dir needs a value");
    }

    @Test
    void nonNumericUserIdFails() {
        assertThatThrownBy(() -> parse("0", "--user-id", "root"))
                .hasMessageStartingWith("--user-id must be an integer, was 'root'");
    }

    @Test
    void helpPrintsUsage() {
        assertThatThrownBy(() -> parse("--help")).hasMessageStartingWith("usage:");
    }

    @Test
    void noChangeTimeoutTakesDecimals() {
        assertThat(parseEnv(Map.of("NO_CHANGE_TIMEOUT_SECONDS", "1.5")).noChangeTimeout()).isEqualTo(Duration.ofMillis(1500));
        assertThat(parseEnv(Map.of("NO_CHANGE_TIMEOUT_SECONDS", "30")).noChangeTimeout()).isEqualTo(Duration.ofSeconds(30));
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "", "10s"})
    void nonNumericNoChangeTimeoutFails(String value) {
        assertThatThrownBy(() -> parseEnv(Map.of("NO_CHANGE_TIMEOUT_SECONDS", value)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("NO_CHANGE_TIMEOUT_SECONDS must be a number of seconds, was '" + value + "'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-3", "NaN", "Infinity", "0.0000001"})
    void nonPositiveOrUnusableNoChangeTimeoutFails(String value) {
        assertThatThrownBy(() -> parseEnv(Map.of("NO_CHANGE_TIMEOUT_SECONDS", value)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("NO_CHANGE_TIMEOUT_SECONDS must be");
    }

    @Test
    void idleTimeoutZeroOrBlankMeansNever() {
        assertThat(parseEnv(Map.of("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS", "0")).idleTimeout()).isNull();
        assertThat(parseEnv(Map.of("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS", " ")).idleTimeout()).isNull();
        assertThat(parseEnv(Map.of("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS", "2.5")).idleTimeout())
                .isEqualTo(Duration.ofMillis(2500));
    }

    @Test
    void invalidIdleTimeoutFailsNamingTheVariable() {
        assertThatThrownBy(() -> parseEnv(Map.of("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS", "soon")))
                .hasMessage("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS must be a number of seconds, was 'soon'");
    }

    @Test
    void sessionKeyIsReadAndRedacted() {
        ServerOptions options = parseEnv(Map.of("SESSION_API_KEY", "super-secret-key"));

        assertThat(options.sessionApiKey()).isEqualTo("super-secret-key");
        assertThat(options.toString()).contains("sessionApiKey=REDACTED").doesNotContain("super-secret-key");
    }

    @Test
    void emptyOrBlankSessionKeyIsRefused() {
        // an empty key used to turn authentication off without a word
        for (String key : new String[] {"", "  "}) {
            assertThatThrownBy(() -> parseEnv(Map.of("SESSION_API_KEY", key)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("SESSION_API_KEY is set but")
                    .hasMessageContaining("would turn authentication off");
        }
    }

    @Test
    void unsetSessionKeyMeansOpen() {
        assertThat(parseEnv(Map.of()).sessionApiKey()).isNull();
    }

    @Test
    void sessionKeyComesFromOneSourceOnly() {
        assertThatThrownBy(() -> ServerOptions.parse(new String[] {"0", "--session-api-key-stdin"},
                Map.of("SESSION_API_KEY", "k")))
                .hasMessageContaining("give the session key one way");
        assertThat(ServerOptions.parse(new String[] {"0", "--session-api-key-file", "/run/key"}, Map.of())
                .sessionApiKeyFile()).isEqualTo(java.nio.file.Path.of("/run/key"));
    }

    @Test
    void removingTheWorkingDirectoryRefusesTopLevelDirectories() {
        assertThatThrownBy(() -> ServerOptions.parse(new String[] {"0", "--working-dir", "/tmp",
                "--remove-working-dir-on-exit"}, Map.of()))
                .hasMessageContaining("refuses to remove /tmp");
        assertThat(ServerOptions.parse(new String[] {"0", "--working-dir", "/tmp/ws-1", "--remove-working-dir-on-exit"},
                Map.of()).removeWorkingDirOnExit()).isTrue();
    }

    @Test
    void limitsComeFromTheEnvironment() {
        ServerLimits limits = parseEnv(Map.of("AGENT_RUNTIME_MAX_COMMAND_BYTES", "1000",
                "AGENT_RUNTIME_MAX_ACTION_SECONDS", "5")).limits();
        assertThat(limits.maxCommandBytes()).isEqualTo(1000);
        assertThat(limits.maxActionTime()).isEqualTo(java.time.Duration.ofSeconds(5));
        assertThatThrownBy(() -> parseEnv(Map.of("AGENT_RUNTIME_MAX_UPLOAD_ENTRIES", "-1")))
                .hasMessageContaining("AGENT_RUNTIME_MAX_UPLOAD_ENTRIES must be a positive integer");
    }

    @Test
    void stdinEofWatchIsOptIn() {
        assertThat(parseEnv(Map.of("AGENT_RUNTIME_EXIT_ON_STDIN_EOF", "1")).exitOnStdinEof()).isTrue();
        assertThat(parseEnv(Map.of("AGENT_RUNTIME_EXIT_ON_STDIN_EOF", "0")).exitOnStdinEof()).isFalse();
    }
}
