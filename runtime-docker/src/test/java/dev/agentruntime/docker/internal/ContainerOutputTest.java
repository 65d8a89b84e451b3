package dev.agentruntime.docker.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.AbstractLogger;
import org.slf4j.helpers.MessageFormatter;

class ContainerOutputTest {

    /** Records what is logged at DEBUG. */
    static final class RecordingLogger extends AbstractLogger {
        final List<String> lines = new CopyOnWriteArrayList<>();

        RecordingLogger() {
            this.name = "dev.agentruntime.docker.sandbox.test";
        }

        @Override
        protected String getFullyQualifiedCallerName() {
            return null;
        }

        @Override
        protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] args,
                                                   Throwable t) {
            lines.add(level + " " + MessageFormatter.arrayFormat(pattern, args).getMessage());
        }

        @Override
        public boolean isTraceEnabled() {
            return false;
        }

        @Override
        public boolean isTraceEnabled(Marker marker) {
            return false;
        }

        @Override
        public boolean isDebugEnabled() {
            return true;
        }

        @Override
        public boolean isDebugEnabled(Marker marker) {
            return true;
        }

        @Override
        public boolean isInfoEnabled() {
            return true;
        }

        @Override
        public boolean isInfoEnabled(Marker marker) {
            return true;
        }

        @Override
        public boolean isWarnEnabled() {
            return true;
        }

        @Override
        public boolean isWarnEnabled(Marker marker) {
            return true;
        }

        @Override
        public boolean isErrorEnabled() {
            return true;
        }

        @Override
        public boolean isErrorEnabled(Marker marker) {
            return true;
        }
    }

    private static Frame frame(StreamType type, String text) {
        return new Frame(type, text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void linesSplitAcrossFramesAreJoinedForwardedAndKept() {
        RecordingLogger logger = new RecordingLogger();
        ContainerOutput output = new ContainerOutput("ready on port ", logger, "t");
        output.onNext(frame(StreamType.STDOUT, "hel"));
        output.onNext(frame(StreamType.STDERR, "warning: x\r\n"));
        output.onNext(frame(StreamType.STDOUT, "lo\nready on port 60000\npartial"));
        assertThat(output.ready()).isCompletedWithValue(60000);
        assertThat(logger.lines).containsExactly("DEBUG warning: x", "DEBUG hello", "DEBUG ready on port 60000");
        output.onComplete();
        assertThat(output.ended()).isCompleted();
        assertThat(output.lastLines()).containsExactly("warning: x", "hello", "ready on port 60000", "partial");
    }

    @Test
    void onlyTheLastLinesAreKeptAndNothingIsForwardedWithoutALogger() {
        ContainerOutput output = new ContainerOutput("ready ", null, "t");
        for (int i = 0; i < 100; i++) {
            output.onNext(frame(StreamType.STDOUT, "line " + i + "\n"));
        }
        assertThat(output.lastLines()).hasSize(60).startsWith("line 40").endsWith("line 99");
        assertThat(output.ready()).isNotDone();
    }

    @Test
    void anUncaughtExceptionInMainBeforeReadyIsFatal() {
        ContainerOutput output = new ContainerOutput("ready ", null, "t");
        output.onNext(frame(StreamType.STDERR, "Exception in thread \"main\" java.lang.IllegalStateException: no\n"));
        assertThat(output.fatal()).isCompleted();
        assertThat(output.ready()).isNotDone();
    }

    @Test
    void aBrokenStreamCountsAsItsEnd() {
        ContainerOutput output = new ContainerOutput("ready ", null, "t");
        output.onError(new java.io.IOException("connection reset"));
        assertThat(output.ended()).isCompleted();
    }
}
