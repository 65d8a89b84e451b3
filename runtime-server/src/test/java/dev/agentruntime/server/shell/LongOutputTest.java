package dev.agentruntime.server.shell;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Long outputs stay linear in time and bounded in memory, with the same text as before. */
class LongOutputTest {

    private static final String NONCE = "0123456789abcdef";

    private static String marker(int exitCode) {
        return "\u001EAR" + NONCE + "\u001F1\u001F" + exitCode + "\u001F-1\u001F/tmp\u001F\u001D"; // seq 1
    }

    @Test
    void carriageReturnsResolveAsBeforeAndManyTrailingOnesInOnePass() {
        assertThat(TerminalText.clean("50%\r100%\r\nnext\r\n")).isEqualTo("100%\nnext\n");
        assertThat(TerminalText.clean("\r\r\r\n")).isEqualTo("\n");
        assertThat(TerminalText.clean("a\rb\r\r")).isEqualTo("b");
        // 300,000 trailing carriage returns: one substring per character used to make this quadratic
        assertThat(TerminalText.clean("done" + "\r".repeat(300_000) + "\nnext")).isEqualTo("done\nnext");
    }

    @Test
    void outputAfterTheMarkerStaysBoundedUntilTheNextCommand() {
        Transcript transcript = new Transcript(NONCE);
        transcript.append("output" + marker(0));
        assertThat(transcript.marker().output()).isEqualTo("output");
        String chunk = "y\n".repeat(64 * 1024);
        for (int i = 0; i < 100; i++) { // 12.5 M characters from a background job, nobody resetting
            transcript.append(chunk);
        }
        transcript.reset();
        assertThat(transcript.output().length()).isLessThanOrEqualTo(Transcript.MAX_CHARS);
        assertThat(transcript.output()).startsWith("y\ny\n").contains(Transcript.DROPPED_NOTE).endsWith("y\n");
    }

    @Test
    void aLongOutputKeepsItsHeadAndTailAndFindsTheMarker() {
        Transcript transcript = new Transcript(NONCE);
        transcript.append("first line\n");
        for (int i = 0; i < 200; i++) {
            transcript.append(("line " + i + "\n").repeat(4000));
        }
        transcript.append("last line\n" + marker(3));
        Transcript.Marker marker = transcript.marker();
        assertThat(marker.exitCode()).isEqualTo(3);
        assertThat(marker.output()).startsWith("first line\n").endsWith("line 199\nlast line\n")
                .contains(Transcript.DROPPED_NOTE);
        assertThat(marker.output().length()).isLessThanOrEqualTo(Transcript.MAX_CHARS);
    }
}
