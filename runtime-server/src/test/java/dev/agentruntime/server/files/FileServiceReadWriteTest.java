package dev.agentruntime.server.files;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.ErrorObservation;
import dev.agentruntime.FileReadAction;
import dev.agentruntime.FileReadAction.ImplSource;
import dev.agentruntime.FileReadObservation;
import dev.agentruntime.FileWriteAction;
import dev.agentruntime.FileWriteObservation;
import dev.agentruntime.Observation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileServiceReadWriteTest {

    @TempDir
    Path root;
    FileService files;

    @BeforeEach
    void setUp() {
        files = new FileService(root);
    }

    private Observation read(String path) {
        return files.read(FileReadAction.of(path), root);
    }

    private Observation write(String path, String content) {
        return files.write(FileWriteAction.of(path, content), root);
    }

    private static String contentOf(Observation o) {
        return o.content();
    }

    // ------------------------------------------------------------------ read (default)

    @Test
    void readsWholeFileResolvingRelativePathsAgainstShellCwd() throws IOException {
        Files.writeString(root.resolve("hello.sh"), "echo hi\necho there\n");

        Observation obs = read("hello.sh");

        assertThat(obs).isInstanceOf(FileReadObservation.class);
        FileReadObservation read = (FileReadObservation) obs;
        assertThat(read.content()).isEqualTo("echo hi\necho there\n");
        assertThat(read.path()).isEqualTo(root.resolve("hello.sh").toString());
        assertThat(read.implSource()).isEqualTo(ImplSource.DEFAULT);
    }

    @Test
    void readSlicesZeroBasedLinesWithEndMinusOneToEof() throws IOException {
        Files.writeString(root.resolve("f.txt"), "l0\nl1\nl2\nl3\n");
        String p = root.resolve("f.txt").toString();

        assertThat(contentOf(files.read(FileReadAction.of(p).lines(1, 3), root))).isEqualTo("l1\nl2\n");
        assertThat(contentOf(files.read(FileReadAction.of(p).lines(2, -1), root))).isEqualTo("l2\nl3\n");
        assertThat(contentOf(files.read(FileReadAction.of(p).lines(0, -1), root))).isEqualTo("l0\nl1\nl2\nl3\n");
        // read_lines quirk: the start is pulled back to leave at least two lines, the end to at least one line
        assertThat(contentOf(files.read(FileReadAction.of(p).lines(3, 3), root))).isEqualTo("l2\n");
    }

    @Test
    void readOfMissingFileNamesTheCwd() {
        Observation obs = files.read(FileReadAction.of("missing.txt"), root.resolve("sub"));

        assertThat(obs).isInstanceOf(ErrorObservation.class);
        assertThat(obs.content()).isEqualTo("File not found: " + root.resolve("sub/missing.txt")
                + ". Your current working directory is " + root.resolve("sub") + ".");
    }

    @Test
    void readOfDirectoryIsAnError() {
        Observation obs = read(root.toString());

        assertThat(obs).isInstanceOf(ErrorObservation.class);
        assertThat(obs.content()).isEqualTo("Path is a directory: " + root + ". You can only read files");
    }

    @Test
    void readOfBinaryFileIsErrorBinaryFile() throws IOException {
        Files.write(root.resolve("a.out"), new byte[] {0x7f, 'E', 'L', 'F', 0, 0, 1, 2, 3});

        Observation obs = read("a.out");

        assertThat(obs).isInstanceOf(ErrorObservation.class);
        assertThat(obs.content()).isEqualTo("ERROR_BINARY_FILE");
    }

    @Test
    void readOfNonUtf8TextCannotBeDecoded() throws IOException {
        Files.write(root.resolve("latin1.txt"), "caf\u00e9 cr\u00e8me\n".getBytes(StandardCharsets.ISO_8859_1));

        Observation obs = read("latin1.txt");

        assertThat(obs).isInstanceOf(ErrorObservation.class);
        assertThat(obs.content()).isEqualTo("File could not be decoded as utf-8: " + root.resolve("latin1.txt") + ".");
    }

    @Test
    void readsImagesPdfsAndVideosAsDataUrls() throws IOException {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};
        String b64 = Base64.getEncoder().encodeToString(png);
        for (String[] c : new String[][] {{"i.png", "image/png"}, {"i.JPG", "image/jpeg"}, {"i.jpeg", "image/jpeg"},
                {"i.bmp", "image/bmp"}, {"i.gif", "image/gif"}, {"d.pdf", "application/pdf"},
                {"v.mp4", "video/mp4"}, {"v.webm", "video/webm"}, {"v.ogg", "audio/ogg"}}) {
            Files.write(root.resolve(c[0]), png);

            Observation obs = read(c[0]);

            assertThat(obs).as(c[0]).isInstanceOf(FileReadObservation.class);
            assertThat(obs.content()).as(c[0]).isEqualTo("data:" + c[1] + ";base64," + b64);
        }
    }

    @Test
    void readsCrlfFilesWithUniversalNewlines() throws IOException {
        Files.writeString(root.resolve("dos.txt"), "a\r\nb\r\n");

        assertThat(read("dos.txt").content()).isEqualTo("a\nb\n");
    }

    @Test
    void ohAciReadGoesThroughTheEditorView() throws IOException {
        Path file = root.resolve("t.txt");
        Files.writeString(file, "one\ntwo\nthree\n");

        Observation obs = files.read(FileReadAction.of(file.toString()).viaEditor(List.of(2, 3)), root);

        assertThat(obs).isInstanceOf(FileReadObservation.class);
        assertThat(((FileReadObservation) obs).implSource()).isEqualTo(ImplSource.OH_ACI);
        assertThat(((FileReadObservation) obs).path()).isEqualTo(file.toString());
        assertThat(obs.content()).isEqualTo("Here's the result of running `cat -n` on " + file + ":\n"
                + "     2\ttwo\n     3\tthree\n");
    }

    @Test
    void ohAciReadErrorsAreReadObservationsWithErrorPrefix() {
        Observation obs = files.read(FileReadAction.of("rel/path.txt").viaEditor(null), root);

        assertThat(obs).isInstanceOf(FileReadObservation.class);
        assertThat(((FileReadObservation) obs).path()).isEqualTo("rel/path.txt");
        assertThat(obs.content()).isEqualTo("ERROR:\nInvalid `path` parameter: rel/path.txt. The path should be an"
                + " absolute path, starting with `/`.");
    }

    @Test
    void ohAciReadOfBinaryIsErrorBinaryFile() throws IOException {
        Files.write(root.resolve("blob"), new byte[] {1, 2, 0, 3});

        Observation obs = files.read(FileReadAction.of(root.resolve("blob").toString()).viaEditor(null), root);

        assertThat(obs).isInstanceOf(ErrorObservation.class);
        assertThat(obs.content()).isEqualTo("ERROR_BINARY_FILE");
    }

    // ------------------------------------------------------------------ write

    @Test
    void writeCreatesParentsAndAddsNewlineToEveryLine() throws IOException {
        Observation obs = write("a/b/new.txt", "x\ny");

        assertThat(obs).isInstanceOf(FileWriteObservation.class);
        assertThat(obs.content()).isEmpty();
        assertThat(((FileWriteObservation) obs).path()).isEqualTo(root.resolve("a/b/new.txt").toString());
        assertThat(Files.readString(root.resolve("a/b/new.txt"))).isEqualTo("x\ny\n");
    }

    @Test
    void writeOfContentEndingInNewlineGetsAnEmptyLastLine() throws IOException {
        write("n.txt", "a\n");

        assertThat(Files.readString(root.resolve("n.txt"))).isEqualTo("a\n\n");
    }

    @Test
    void newFileGetsMode0664() throws IOException {
        write("m.txt", "hi");

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("m.txt"))))
                .isEqualTo("rw-rw-r--");
    }

    @Test
    void writeReplacesWholeExistingFileAndKeepsItsMode() throws IOException {
        Path script = root.resolve("run.sh");
        Files.writeString(script, "old\ncontent\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));

        Observation obs = write("run.sh", "#!/bin/sh\necho new");

        assertThat(obs).isInstanceOf(FileWriteObservation.class);
        assertThat(Files.readString(script)).isEqualTo("#!/bin/sh\necho new\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(script))).isEqualTo("rwxr-xr-x");
    }

    @Test
    void writeReplacesALineRangeOfAnExistingFile() throws IOException {
        Files.writeString(root.resolve("r.txt"), "l0\nl1\nl2\nl3\n");

        files.write(new FileWriteAction("r.txt", "X\nY", 1, 3, "", null), root);

        assertThat(Files.readString(root.resolve("r.txt"))).isEqualTo("l0\nX\nY\nl3\n");
    }

    @Test
    void writeThroughASymlinkReplacesTheTargetAndKeepsTheLink() throws IOException {
        Path target = root.resolve("target.txt");
        Files.writeString(target, "old\n");
        Path link = Files.createSymbolicLink(root.resolve("link.txt"), target);

        write("link.txt", "new");

        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(Files.readString(target)).isEqualTo("new\n");
    }

    @Test
    void writeToDirectoryIsAnError() throws IOException {
        Files.createDirectory(root.resolve("d"));

        Observation obs = write("d", "x");

        assertThat(obs).isInstanceOf(ErrorObservation.class);
        assertThat(obs.content()).isEqualTo("Path is a directory: " + root.resolve("d") + ". You can only write to files");
    }

    @Test
    void writeOverNonUtf8FileIsAnErrorAndLeavesItAlone() throws IOException {
        byte[] latin1 = "caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1);
        Files.write(root.resolve("l.txt"), latin1);

        Observation obs = write("l.txt", "x");

        assertThat(obs).isInstanceOf(ErrorObservation.class);
        assertThat(obs.content()).isEqualTo("File could not be decoded as utf-8: " + root.resolve("l.txt"));
        assertThat(Files.readAllBytes(root.resolve("l.txt"))).isEqualTo(latin1);
    }

    @Test
    void writeLeavesNoTemporaryFilesBehind() throws IOException {
        write("clean.txt", "a");
        write("clean.txt", "b");

        try (var entries = Files.list(root)) {
            assertThat(entries.map(p -> p.getFileName().toString())).containsExactly("clean.txt");
        }
    }

    @Test
    void concurrentReadersNeverSeeAHalfWrittenFile() throws Exception {
        String a = "a".repeat(200_000);
        String b = "b".repeat(200_000);
        write("big.txt", a);
        AtomicBoolean stop = new AtomicBoolean();
        List<String> torn = new ArrayList<>();
        CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
            while (!stop.get()) {
                String seen = read("big.txt").content();
                if (!seen.equals(a + "\n") && !seen.equals(b + "\n")) {
                    torn.add(seen.length() + " chars");
                    return;
                }
            }
        });
        for (int i = 0; i < 50; i++) {
            write("big.txt", i % 2 == 0 ? b : a);
        }
        stop.set(true);
        reader.get();

        assertThat(torn).isEmpty();
    }
}
