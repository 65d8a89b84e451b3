package dev.agentruntime.fake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.testkit.RequiresDocker;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Files of a real sandbox: streamed both ways, stat/list/mkdir/remove/rename, typed errors. */
@RequiresDocker(images = SandboxHost.DEFAULT_IMAGE)
class SandboxFilesIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static SandboxHost host;
    private static FakeSandbox sandbox;

    @BeforeAll
    static void start() {
        host = SandboxHost.builder().name("files-it").build();
        sandbox = host.create(SandboxSpec.builder().user("user").build());
    }

    @AfterAll
    static void stop() {
        if (host != null) {
            String id = host.id();
            host.close();
            assertThat(Leaks.containersOf(id)).as("containers left by host " + id).isEmpty();
        }
    }

    private static String run(String command) throws Exception {
        SandboxProcess p = sandbox.exec(ExecSpec.shell(command).user("root").build());
        assertThat(p.waitFor(WAIT).code()).as(command + ": " + new String(p.stderr().snapshot())).isZero();
        return new String(p.stdout().snapshot(), StandardCharsets.UTF_8);
    }

    @Test
    void smallFileRoundTripWithModeAndOwner() {
        Instant before = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        long written = sandbox.files().write("/tmp/round/trip.txt",
                new java.io.ByteArrayInputStream("hello\n".getBytes(StandardCharsets.UTF_8)),
                WriteOptions.defaults().mode(0640));
        assertThat(written).isEqualTo(6);
        assertThat(sandbox.files().readString("/tmp/round/trip.txt")).isEqualTo("hello\n");
        FileEntry entry = sandbox.files().stat("/tmp/round/trip.txt");
        assertThat(entry.type()).isEqualTo(FileType.FILE);
        assertThat(entry.name()).isEqualTo("trip.txt");
        assertThat(entry.path()).isEqualTo("/tmp/round/trip.txt");
        assertThat(entry.size()).isEqualTo(6);
        assertThat(entry.mode()).isEqualTo(0640);
        assertThat(entry.owner()).isEqualTo("user");
        assertThat(entry.modified()).isAfterOrEqualTo(before.minusSeconds(5));
        assertThat(sandbox.files().stat("/tmp/round").owner()).isEqualTo("user");

        sandbox.files("root").write("/srv/given.txt", new java.io.ByteArrayInputStream(new byte[] {1, 2, 3}),
                WriteOptions.defaults().owner("user:user").mode(0600));
        FileEntry given = sandbox.files().stat("/srv/given.txt");
        assertThat(given.owner()).isEqualTo("user");
        assertThat(given.group()).isEqualTo("user");
        assertThat(sandbox.files().readBytes("/srv/given.txt")).containsExactly(1, 2, 3);
        sandbox.files().write("/tmp/empty", new byte[0]);
        assertThat(sandbox.files().readBytes("/tmp/empty")).isEmpty();
    }

    @Test
    void relativePathsResolveAgainstTheUsersHome() throws Exception {
        sandbox.files().write("notes/today.md", "# today");
        assertThat(run("cat /home/user/notes/today.md")).isEqualTo("# today");
        assertThat(sandbox.files().stat("notes/today.md").path()).isEqualTo("notes/today.md");
    }

    @Test
    void largeFileStreamsBothWaysWithASmallHeap() throws Exception {
        long size = 200L * 1024 * 1024;
        assertThat(Runtime.getRuntime().maxMemory()).as("the test JVM's heap must be smaller than the file")
                .isLessThan(size);
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        long t0 = System.nanoTime();
        long written = sandbox.files().write("/tmp/big.bin", new TestStreams.Generated(size, sent), WriteOptions.defaults());
        long t1 = System.nanoTime();
        assertThat(written).isEqualTo(size);
        String expected = HexFormat.of().formatHex(sent.digest());
        assertThat(run("sha256sum /tmp/big.bin")).startsWith(expected);
        MessageDigest received = MessageDigest.getInstance("SHA-256");
        long t2 = System.nanoTime();
        long read = sandbox.files().read("/tmp/big.bin", new TestStreams.DigestSink(received));
        long t3 = System.nanoTime();
        assertThat(read).isEqualTo(size);
        assertThat(HexFormat.of().formatHex(received.digest())).isEqualTo(expected);
        System.out.printf("[measure] file write %.0f MB/s, read %.0f MB/s (200 MiB)%n",
                size / 1e6 / ((t1 - t0) / 1e9), size / 1e6 / ((t3 - t2) / 1e9));
        sandbox.files().remove("/tmp/big.bin", false);
    }

    @Test
    void listsDirectoriesToADepthAndReportsSymlinksAsThemselves() throws Exception {
        sandbox.files().write("/tmp/tree/a/b/deep.txt", "x");
        sandbox.files().write("/tmp/tree/top.txt", "top");
        run("ln -s /tmp/tree/top.txt /tmp/tree/link && chown -h user /tmp/tree/link");
        List<String> one = sandbox.files().list("/tmp/tree/", 1).stream().map(FileEntry::path).sorted().toList();
        assertThat(one).containsExactly("/tmp/tree/a", "/tmp/tree/link", "/tmp/tree/top.txt");
        List<String> three = sandbox.files().list("/tmp/tree", 3).stream().map(FileEntry::path).sorted().toList();
        assertThat(three).containsExactly("/tmp/tree/a", "/tmp/tree/a/b", "/tmp/tree/a/b/deep.txt",
                "/tmp/tree/link", "/tmp/tree/top.txt");
        FileEntry link = sandbox.files().stat("/tmp/tree/link");
        assertThat(link.type()).isEqualTo(FileType.SYMLINK);
        assertThat(link.symlinkTarget()).contains("/tmp/tree/top.txt");
        assertThat(sandbox.files().stat("/tmp/tree/a").type()).isEqualTo(FileType.DIRECTORY);
    }

    @Test
    void mkdirsRenameAndRemove() {
        assertThat(sandbox.files().mkdirs("/tmp/made/x/y")).isTrue();
        assertThat(sandbox.files().mkdirs("/tmp/made/x/y")).isFalse();
        sandbox.files().write("/tmp/made/x/y/f", "f");
        sandbox.files().rename("/tmp/made/x/y/f", "/tmp/made/g");
        assertThat(sandbox.files().exists("/tmp/made/x/y/f")).isFalse();
        assertThat(sandbox.files().readString("/tmp/made/g")).isEqualTo("f");
        assertThatThrownBy(() -> sandbox.files().remove("/tmp/made", false))
                .isInstanceOfSatisfying(SandboxFileException.class,
                        e -> assertThat(e.kind()).isEqualTo(SandboxFileException.Kind.NOT_EMPTY));
        sandbox.files().remove("/tmp/made/x/y", false);
        sandbox.files().remove("/tmp/made", true);
        assertThat(sandbox.files().exists("/tmp/made")).isFalse();
    }

    @Test
    void anUploadThatBreaksOffLeavesNoTruncatedFile() {
        java.io.InputStream breaking = new java.io.InputStream() {
            private int sent;

            @Override
            public int read() throws java.io.IOException {
                if (sent++ > 100_000) {
                    throw new java.io.IOException("client went away");
                }
                return 'x';
            }
        };
        assertThatThrownBy(() -> sandbox.files().write("/tmp/broken.bin", breaking, WriteOptions.defaults()))
                .isInstanceOf(java.io.UncheckedIOException.class)
                .hasMessageContaining("Writing /tmp/broken.bin in sandbox " + sandbox.id() + " failed after")
                .hasMessageContaining("client went away");
        assertThat(sandbox.files().exists("/tmp/broken.bin")).isFalse();
    }

    @Test
    void failuresAreTypedAndNameThePath() {
        assertKind(() -> sandbox.files().readString("/tmp/absent"), SandboxFileException.Kind.NOT_FOUND,
                "Cannot read /tmp/absent in sandbox " + sandbox.id() + " as user");
        assertKind(() -> sandbox.files().stat("/tmp/absent"), SandboxFileException.Kind.NOT_FOUND, "stat");
        assertKind(() -> sandbox.files().list("/tmp/absent", 1), SandboxFileException.Kind.NOT_FOUND, "list");
        assertKind(() -> sandbox.files().remove("/tmp/absent", true), SandboxFileException.Kind.NOT_FOUND, "remove");
        assertKind(() -> sandbox.files().rename("/tmp/absent", "/tmp/b"), SandboxFileException.Kind.NOT_FOUND,
                "rename");
        assertKind(() -> sandbox.files().readString("/tmp"), SandboxFileException.Kind.IS_A_DIRECTORY, "read");
        sandbox.files().write("/tmp/plain", "p");
        assertKind(() -> sandbox.files().list("/tmp/plain", 1), SandboxFileException.Kind.NOT_A_DIRECTORY, "list");
        assertKind(() -> sandbox.files().write("/tmp/plain/under", "x"), SandboxFileException.Kind.ALREADY_EXISTS,
                "write");
        assertKind(() -> sandbox.files().write("/root/secret", "x"), SandboxFileException.Kind.PERMISSION_DENIED,
                "write");
        assertKind(() -> sandbox.files().readString("/etc/shadow"), SandboxFileException.Kind.PERMISSION_DENIED,
                "read");
    }

    private static void assertKind(org.assertj.core.api.ThrowableAssert.ThrowingCallable call,
            SandboxFileException.Kind kind, String message) {
        assertThatThrownBy(call).isInstanceOfSatisfying(SandboxFileException.class,
                e -> assertThat(e.kind()).as(e.getMessage()).isEqualTo(kind)).hasMessageContaining(message);
    }
}
