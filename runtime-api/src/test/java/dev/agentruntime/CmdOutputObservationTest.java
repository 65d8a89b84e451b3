package dev.agentruntime;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CmdOutputObservationTest {

    private static final String NOTE = "\n[... Observation truncated due to length ...]\n";

    private static String numbered(int length) {
        StringBuilder text = new StringBuilder(length);
        for (int i = 0; text.length() < length; i++) {
            text.append((char) ('a' + i % 26));
        }
        return text.toString();
    }

    @Test
    void contentOfExactlyTheLimitIsKept() {
        String content = numbered(30_000);
        assertThat(CmdOutputObservation.truncateMiddle(content)).isSameAs(content);
    }

    @Test
    void contentOverTheLimitKeepsFirstAndLast15000AroundTheNote() {
        String content = "H".repeat(15_000) + "middle-that-goes" + "T".repeat(15_000);
        String truncated = CmdOutputObservation.truncateMiddle(content);
        assertThat(truncated).isEqualTo("H".repeat(15_000) + NOTE + "T".repeat(15_000));
        assertThat(truncated).hasSize(30_000 + NOTE.length());
    }

    @Test
    void truncationMatchesOpenHandsSlicing() {
        String content = numbered(30_001);
        assertThat(CmdOutputObservation.truncateMiddle(content))
                .isEqualTo(content.substring(0, 15_000) + NOTE + content.substring(content.length() - 15_000));
    }

    @Test
    void limitCountsCharactersLikePythonNotUtf16Units() {
        String emoji = "\uD83D\uDE00"; // one code point, two UTF-16 units
        String underLimit = emoji.repeat(20_000);
        assertThat(CmdOutputObservation.truncateMiddle(underLimit)).isEqualTo(underLimit);
    }

    @Test
    void truncationNeverSplitsASurrogatePair() {
        String emoji = "\uD83D\uDE00";
        String content = emoji.repeat(30_001);
        String truncated = CmdOutputObservation.truncateMiddle(content);
        assertThat(truncated).isEqualTo(emoji.repeat(15_000) + NOTE + emoji.repeat(15_000));
    }

    @Test
    void ofTruncatesUnlessHidden() {
        String content = "x".repeat(40_000);
        assertThat(CmdOutputObservation.of(content, "cat big", CmdOutputMetadata.unknown(), false).content())
                .hasSize(30_000 + NOTE.length())
                .contains(NOTE);
        assertThat(CmdOutputObservation.of(content, "cat big", CmdOutputMetadata.unknown(), true).content())
                .isEqualTo(content);
    }

    @Test
    void agentTextHasPrefixContentSuffixAndNotes() {
        CmdOutputMetadata metadata = new CmdOutputMetadata(0, 42, "openhands", "box", "/workspace", "/usr/bin/python",
                "[prefix]\n", "\n[The command completed with exit code 0.]");
        CmdOutputObservation observation = new CmdOutputObservation("hello", "echo hello", metadata, false);
        assertThat(observation.toAgentText()).isEqualTo("[prefix]\nhello\n[The command completed with exit code 0.]"
                + "\n[Current working directory: /workspace]"
                + "\n[Python interpreter: /usr/bin/python]"
                + "\n[Command finished with exit code 0]");
    }

    @Test
    void agentTextOmitsUnknownNotes() {
        CmdOutputObservation running = new CmdOutputObservation("partial", "sleep 100", CmdOutputMetadata.unknown(), false);
        assertThat(running.toAgentText()).isEqualTo("partial");
        assertThat(running.stillRunning()).isTrue();
        assertThat(running.success()).isFalse();
    }

    @Test
    void nonZeroExitIsAValueNotAnException() {
        CmdOutputObservation failed = new CmdOutputObservation("", "false",
                new CmdOutputMetadata(1, -1, null, null, "/w", null, "", ""), false);
        assertThat(failed.exitCode()).isEqualTo(1);
        assertThat(failed.success()).isFalse();
        assertThat(failed.stillRunning()).isFalse();
        assertThat(failed.message()).isEqualTo("Command `false` executed with exit code 1.");
        assertThat(failed.toAgentText()).isEqualTo("\n[Current working directory: /w]\n[Command finished with exit code 1]");
    }

    @Test
    void nullMetadataAndCommandDefault() {
        CmdOutputObservation observation = new CmdOutputObservation("x", null, null, false);
        assertThat(observation.command()).isEmpty();
        assertThat(observation.metadata()).isEqualTo(CmdOutputMetadata.unknown());
    }
}
