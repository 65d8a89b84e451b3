package dev.agentruntime.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.StatusEvent;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ProgressTest {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private static StatusEvent event(RuntimeStatus status, String message) {
        return new StatusEvent("ar-1", status, message, Instant.now());
    }

    private String written() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void onATerminalOneLineShowsTheCurrentStepAndIsErasedWhenReady() {
        Progress progress = new Progress(err, true);
        progress.onStatus(event(RuntimeStatus.BUILDING_RUNTIME, "Building agent-runtime/x from debian\nstep 2"));
        assertThat(written()).startsWith("\r").contains("Building agent-runtime/x from debian").contains("(0 s)")
                .doesNotContain("step 2").doesNotContain("\n");
        progress.onStatus(event(RuntimeStatus.STARTING_RUNTIME, "Creating container c-1"));
        assertThat(written()).containsPattern("\r[|/\\\\-] Creating container c-1 \\(0 s\\)");
        int before = written().length();
        progress.onStatus(event(RuntimeStatus.READY, "ready"));
        String erased = written().substring(before);
        assertThat(erased).matches("\r +\r");
        progress.onStatus(event(RuntimeStatus.STARTING_RUNTIME, "late"));
        assertThat(written()).doesNotContain("late");
    }

    @Test
    void inAPipeOnlySlowStepsArePrintedOneALine() {
        Progress progress = new Progress(err, false);
        progress.onStatus(event(RuntimeStatus.STARTING_RUNTIME, "Starting sandbox ar-1"));
        progress.onStatus(event(RuntimeStatus.BUILDING_RUNTIME, "Linking a Java runtime for debian"));
        progress.onStatus(event(RuntimeStatus.READY, "ready"));
        assertThat(written()).isEqualTo("agent-runtime: Linking a Java runtime for debian" + System.lineSeparator());
    }
}
