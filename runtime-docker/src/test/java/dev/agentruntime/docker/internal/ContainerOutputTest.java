package dev.agentruntime.docker.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.StartupLog;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** Docker frames reach the kit's startup log: stdout and stderr apart, the ready line spotted, the end noticed. */
class ContainerOutputTest {

    private static Frame frame(StreamType type, String text) {
        return new Frame(type, text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void linesSplitAcrossFramesAreJoinedForwardedAndKept() {
        List<String> forwarded = new CopyOnWriteArrayList<>();
        ContainerOutput output = new ContainerOutput(new StartupLog(forwarded::add), "t", true);
        output.onNext(frame(StreamType.STDOUT, "hel"));
        output.onNext(frame(StreamType.STDERR, "warning: x\r\n"));
        output.onNext(frame(StreamType.STDOUT, "lo\n" + ServerLaunch.READY_LINE_PREFIX + "60000\npartial"));
        assertThat(output.log().ready()).isCompletedWithValue(60000);
        assertThat(forwarded).containsExactly("warning: x", "hello", ServerLaunch.READY_LINE_PREFIX + "60000");
        output.onComplete();
        assertThat(output.log().ended()).isCompleted();
        assertThat(output.log().lastLines())
                .containsExactly("warning: x", "hello", ServerLaunch.READY_LINE_PREFIX + "60000", "partial");
    }

    @Test
    void anUncaughtExceptionInMainBeforeReadyIsFatal() {
        ContainerOutput output = new ContainerOutput(new StartupLog(null), "t", true);
        output.onNext(frame(StreamType.STDERR, "Exception in thread \"main\" java.lang.IllegalStateException: no\n"));
        assertThat(output.log().fatal()).isCompleted();
        assertThat(output.log().ready()).isNotDone();
    }

    @Test
    void aBrokenStreamCountsAsItsEnd() {
        ContainerOutput output = new ContainerOutput(new StartupLog(null), "t", true);
        output.onError(new java.io.IOException("connection reset"));
        assertThat(output.log().ended()).isCompleted();
    }
}
