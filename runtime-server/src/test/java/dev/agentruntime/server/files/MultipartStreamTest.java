package dev.agentruntime.server.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MultipartStreamTest {

    private static final String B = "----agent-runtime-boundary";

    /** Hands out the bytes in tiny, random-sized reads, so every boundary gets split across reads somewhere. */
    private static InputStream trickle(String body, long seed) {
        Random random = new Random(seed);
        return new FilterInputStream(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8))) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return super.read(b, off, Math.min(len, 1 + random.nextInt(7)));
            }
        };
    }

    private static String text(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void readsFieldsAndFilesAcrossArbitraryReadBoundaries() throws IOException {
        String tricky = "line\r\n--" + B.substring(0, 10) + " almost a boundary\r\n-\r\n--\r";
        String body = "preamble to ignore\r\n--" + B + "\r\n"
                + "Content-Disposition: form-data; name=\"note\"\r\n\r\n"
                + "hello\r\n--" + B + "\r\n"
                + "Content-Disposition: form-data; name=\"file\"; filename=\"d\\\"ir/x y.txt\"\r\n"
                + "Content-Type: text/plain\r\n\r\n"
                + tricky + "\r\n--" + B + "--\r\nepilogue";
        for (long seed = 0; seed < 50; seed++) {
            MultipartStream parts = new MultipartStream(trickle(body, seed), B);

            MultipartStream.Part note = parts.next();
            assertThat(note.name()).isEqualTo("note");
            assertThat(note.filename()).isNull();
            assertThat(text(note.body())).isEqualTo("hello");

            MultipartStream.Part file = parts.next();
            assertThat(file.name()).isEqualTo("file");
            assertThat(file.filename()).isEqualTo("d\"ir/x y.txt");
            assertThat(file.headers()).containsEntry("content-type", "text/plain");
            assertThat(text(file.body())).isEqualTo(tricky);

            assertThat(parts.next()).isNull();
        }
    }

    @Test
    void unreadPartsAreSkipped() throws IOException {
        String body = "--" + B + "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n" + "x".repeat(200_000)
                + "\r\n--" + B + "\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nB\r\n--" + B + "--\r\n";
        MultipartStream parts = new MultipartStream(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)), B);

        assertThat(parts.next().name()).isEqualTo("a");
        MultipartStream.Part b = parts.next();

        assertThat(b.name()).isEqualTo("b");
        assertThat(text(b.body())).isEqualTo("B");
    }

    @Test
    void bodyWithoutClosingBoundaryIsMalformed() throws IOException {
        String body = "--" + B + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\ntruncated";
        MultipartStream parts = new MultipartStream(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)), B);
        MultipartStream.Part part = parts.next();

        assertThatThrownBy(() -> part.body().readAllBytes())
                .isInstanceOf(MultipartStream.MalformedException.class)
                .hasMessage("body ended before the closing boundary");
    }

    @Test
    void partWithoutFormDataDispositionIsMalformed() {
        String body = "--" + B + "\r\nContent-Type: text/plain\r\n\r\nx\r\n--" + B + "--";
        MultipartStream parts = new MultipartStream(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)), B);

        assertThatThrownBy(parts::next).isInstanceOf(MultipartStream.MalformedException.class)
                .hasMessage("part without Content-Disposition: form-data");
    }

    @Test
    void boundaryComesFromTheContentType() throws IOException {
        assertThat(MultipartStream.boundaryOf("multipart/form-data; boundary=abc")).isEqualTo("abc");
        assertThat(MultipartStream.boundaryOf("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b;c\"")).isEqualTo("a b;c");
        assertThatThrownBy(() -> MultipartStream.boundaryOf("application/json"))
                .hasMessage("Content-Type is application/json, expected multipart/form-data");
        assertThatThrownBy(() -> MultipartStream.boundaryOf("multipart/form-data"))
                .hasMessage("multipart/form-data without a valid boundary parameter");
        assertThatThrownBy(() -> MultipartStream.boundaryOf(null))
                .hasMessage("missing Content-Type, expected multipart/form-data");
    }
}
