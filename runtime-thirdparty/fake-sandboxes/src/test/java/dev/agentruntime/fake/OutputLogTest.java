package dev.agentruntime.fake;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The bounded replay log: absolute offsets survive dropping old bytes and growing the ring. */
class OutputLogTest {

    private static void append(OutputLog log, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        log.append(bytes, 0, bytes.length);
    }

    private static String text(OutputLog.Chunk chunk) {
        return new String(chunk.bytes(), StandardCharsets.US_ASCII);
    }

    @Test
    void keepsTheNewestBytesAtTheirAbsoluteOffsets() {
        OutputLog log = new OutputLog(10);
        append(log, "0123456");
        append(log, "789ab"); // 12 bytes in all: 0 and 1 are gone
        assertThat(log.start()).isEqualTo(2);
        assertThat(log.end()).isEqualTo(12);
        assertThat(new String(log.snapshot(), StandardCharsets.US_ASCII)).isEqualTo("23456789ab");
        OutputLog.Chunk fromDropped = log.read(0, 100);
        assertThat(fromDropped.offset()).isEqualTo(2);
        assertThat(fromDropped.skipped()).isEqualTo(2);
        assertThat(text(fromDropped)).isEqualTo("23456789ab");
        assertThat(text(log.read(9, 2))).isEqualTo("9a");
        assertThat(log.read(12, 5).bytes()).isEmpty();
        append(log, "cdefghijklmnop"); // longer than the capacity
        assertThat(log.start()).isEqualTo(16);
        assertThat(text(log.read(0, 100))).isEqualTo("ghijklmnop");
    }

    @Test
    void awaitWakesOnNewBytesAndOnTheEnd() throws Exception {
        OutputLog log = new OutputLog(1 << 20);
        CompletableFuture<OutputLog.Chunk> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return log.await(0, 100, Duration.ofSeconds(30));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        append(log, "hi");
        assertThat(text(waiting.get(30, TimeUnit.SECONDS))).isEqualTo("hi");
        assertThat(log.await(2, 100, Duration.ofMillis(50)).bytes()).isEmpty();
        log.close();
        OutputLog.Chunk end = log.await(2, 100, Duration.ofSeconds(30));
        assertThat(end.endOfStream()).isTrue();
        assertThat(end.bytes()).isEmpty();
        assertThat(log.read(0, 1).endOfStream()).as("more bytes follow offset 0").isFalse();
        assertThat(log.read(0, 2).endOfStream()).isTrue();
    }

    @Test
    void growsLazilyUpToTheCapacity() {
        OutputLog log = new OutputLog(1 << 20);
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < 5000; i++) {
            String line = "line-" + i + "\n";
            all.append(line);
            append(log, line);
        }
        assertThat(new String(log.snapshot(), StandardCharsets.US_ASCII)).isEqualTo(all.toString());
        assertThat(log.start()).isZero();
    }
}
