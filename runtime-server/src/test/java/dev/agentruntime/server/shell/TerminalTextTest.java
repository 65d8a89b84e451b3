package dev.agentruntime.server.shell;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TerminalTextTest {

    private static final String ESC = "\u001B";

    @Test
    void plainTextIsUnchanged() {
        String text = "line one\n  indented\ttab\n\nunicode: 你好 🚀 é";
        assertThat(TerminalText.clean(text)).isEqualTo(text);
    }

    @Test
    void colourSequencesAreRemoved() {
        assertThat(TerminalText.clean(ESC + "[31mred" + ESC + "[0m " + ESC + "[1;38;5;208mbold orange" + ESC + "[m"))
                .isEqualTo("red bold orange");
    }

    @Test
    void cursorAndModeSequencesAreRemoved() {
        assertThat(TerminalText.clean(ESC + "[?2004h" + ESC + "[?25l" + "text" + ESC + "[2K" + ESC + "[1A" + ESC + "[H"
                + ESC + "[2J" + ESC + "[?25h")).isEqualTo("text");
    }

    @Test
    void oscTitlesAndHyperlinksAreRemoved() {
        assertThat(TerminalText.clean(ESC + "]0;window title\u0007after")).isEqualTo("after");
        assertThat(TerminalText.clean(ESC + "]8;;https://example.com" + ESC + "\\link" + ESC + "]8;;" + ESC + "\\"))
                .isEqualTo("link");
    }

    @Test
    void charsetSelectionIsRemoved() {
        // tput sgr0 prints ESC(B ESC[m
        assertThat(TerminalText.clean("a" + ESC + "(B" + ESC + "[mb" + ESC + ")0c")).isEqualTo("abc");
    }

    @Test
    void saveRestoreCursorAndKeypadModesAreRemoved() {
        // apt's progress bar: ESC 7 (save cursor), a scroll region, ESC 8 (restore); ESC = / ESC > keypad modes
        assertThat(TerminalText.clean(ESC + "7" + ESC + "[0;23r" + ESC + "8" + ESC + "[1AReading package lists..."))
                .isEqualTo("Reading package lists...");
        assertThat(TerminalText.clean(ESC + "=" + "keypad" + ESC + ">")).isEqualTo("keypad");
        assertThat(TerminalText.clean("reset" + ESC + "c")).isEqualTo("reset");
    }

    @Test
    void carriageReturnShowsTheLastRewrite() {
        assertThat(TerminalText.clean("progress 10%\rprogress 50%\rprogress 100%\nnext"))
                .isEqualTo("progress 100%\nnext");
    }

    @Test
    void crlfLineEndingsBecomeNewlines() {
        assertThat(TerminalText.clean("one\r\ntwo\r\n")).isEqualTo("one\ntwo\n");
        assertThat(TerminalText.clean("trailing\r")).isEqualTo("trailing");
        assertThat(TerminalText.clean("double\r\r\n")).isEqualTo("double\n");
    }

    @Test
    void carriageReturnOnlyAffectsItsOwnLine() {
        assertThat(TerminalText.clean("keep me\nold\rnew\nkeep me too")).isEqualTo("keep me\nnew\nkeep me too");
    }

    @Test
    void coloursAndCarriageReturnsTogether() {
        assertThat(TerminalText.clean(ESC + "[32m 50%" + ESC + "[0m\r" + ESC + "[32m100%" + ESC + "[0m\r\n"))
                .isEqualTo("100%\n");
    }

    @Test
    void emptyAndNewlineOnlyInputs() {
        assertThat(TerminalText.clean("")).isEmpty();
        assertThat(TerminalText.clean("\n\n")).isEqualTo("\n\n");
        assertThat(TerminalText.clean("\r")).isEmpty();
    }

    @Test
    void controlCharactersATerminalShowsNothingForAreRemoved() {
        // C-c sent as bash reached its prompt: the terminal echoes ETX, bash answers with a newline
        assertThat(TerminalText.clean("\u0003\nnext")).isEqualTo("\nnext");
        assertThat(TerminalText.clean("a\u0000b\u0007c\u000Ed\u000Fe\u001Cf\u007Fg")).isEqualTo("abcdefg");
        // the ones that move the cursor stay
        assertThat(TerminalText.clean("a\bb\tc\u000Bd\u000Ce\nf")).isEqualTo("a\bb\tc\u000Bd\u000Ce\nf");
    }
}
