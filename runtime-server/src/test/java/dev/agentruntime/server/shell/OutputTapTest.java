package dev.agentruntime.server.shell;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutputTapTest {

    private static final String MARKER = "\u001EARabc\u001F";
    private final List<String> out = new ArrayList<>();

    private OutputTap tap(String echo) {
        return new OutputTap(out::add, echo, MARKER);
    }

    @Test
    void theEchoOfTheTypedLineIsSkippedEvenWhenItArrivesInPieces() {
        OutputTap tap = tap(" __ar_seq=1; eval");
        tap.feed(" __ar_se");
        tap.feed("q=1; eval\r");
        assertThat(out).isEmpty();
        tap.feed("\nhello\n");
        assertThat(out).containsExactly("hello\n");
    }

    @Test
    void outputThatIsNotTheEchoPassesAsItIs() {
        OutputTap tap = tap(" __ar_seq=1; eval");
        tap.feed("background job says hi\n");
        assertThat(out).containsExactly("background job says hi\n");
    }

    @Test
    void theMarkerAndWhatFollowsAreHeldBackAlsoWhenSplit() {
        OutputTap tap = tap(null);
        tap.feed("done\n\u001EAR");
        assertThat(out).containsExactly("done\n");
        tap.feed("abc\u001F1\u001F0\u001F42\u001F/tmp\u001F\u001D$ ");
        tap.feed("later output");
        assertThat(out).containsExactly("done\n");
    }

    @Test
    void aMarkerLookalikeThatIsNotTheMarkerIsOutput() {
        OutputTap tap = tap(null);
        tap.feed("x\u001EAR");
        tap.feed("zzz\n");
        assertThat(String.join("", out)).isEqualTo("x\u001EARzzz\n");
    }

    @Test
    void aFailingListenerStopsGettingOutput() {
        List<String> seen = new ArrayList<>();
        OutputTap tap = new OutputTap(text -> {
            seen.add(text);
            throw new IllegalStateException("listener broke");
        }, null, MARKER);
        tap.feed("one");
        tap.feed("two");
        assertThat(seen).containsExactly("one");
    }
}
