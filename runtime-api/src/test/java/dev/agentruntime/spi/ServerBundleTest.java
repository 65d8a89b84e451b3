package dev.agentruntime.spi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.internal.Hashes;
import dev.agentruntime.internal.JreLinker;
import dev.agentruntime.internal.TarWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server bundle as a sandbox sees it: unpacked by the real {@code tar} and checked by the real {@code sha256sum}
 * through the install script a backend runs. The Java runtime is a small stand-in tree in the linker's cache (a real
 * jlink takes seconds and is covered by the Docker tests).
 */
class ServerBundleTest {

    @TempDir
    Path tmp;

    private Path cache;
    private Path jar;
    private JreLinker linker;

    @BeforeEach
    void standInRuntime() throws IOException {
        Path jreCache = tmp.resolve("jre-cache");
        Path jre = jreCache.resolve(Hashes.sha256Hex(JreLinker.identity()).substring(0, 16));
        Files.createDirectories(jre.resolve("bin"));
        Files.createDirectories(jre.resolve("lib/server"));
        Path java = Files.writeString(jre.resolve("bin/java"), "#!/bin/sh\necho stand-in java \"$@\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.write(jre.resolve("lib/server/libjvm.so"), new byte[70_000]);
        Files.createSymbolicLink(jre.resolve("lib/libjvm-link.so"), Path.of("server/libjvm.so"));
        linker = new JreLinker(jreCache);
        jar = Files.writeString(tmp.resolve("runtime-server.jar"), "not really a jar, but bytes to ship");
        cache = tmp.resolve("bundles");
    }

    @Test
    void theBundleIsMadeOnceAndUnpacksIntoAWorkingInstall() throws Exception {
        List<String> progress = new ArrayList<>();
        ServerBundle bundle = ServerBundle.prepare(cache, jar, linker, progress::add);
        assertThat(progress).anyMatch(p -> p.startsWith("Packing the action server bundle"));
        assertThat(bundle.sha256()).isEqualTo(Hashes.sha256Hex(bundle.archive())).hasSize(64);
        assertThat(bundle.size()).isEqualTo(Files.size(bundle.archive()));
        long made = Files.getLastModifiedTime(bundle.archive()).toMillis();

        List<String> again = new ArrayList<>();
        ServerBundle cached = ServerBundle.prepare(cache, jar, linker, again::add);
        assertThat(again).as("the second time nothing is made").isEmpty();
        assertThat(cached.archive()).isEqualTo(bundle.archive());
        assertThat(Files.getLastModifiedTime(cached.archive()).toMillis()).isEqualTo(made);

        Path uploaded = Files.copy(bundle.archive(), tmp.resolve("upload.tar.gz"));
        String dir = tmp.resolve("install").toString();
        assertThat(bash(bundle.installedCheck(dir)).exit()).as("not installed yet").isNotZero();
        Result install = bash(bundle.installScript(uploaded.toString(), dir));
        assertThat(install.exit()).as(install.output()).isZero();
        assertThat(uploaded).as("the upload is removed").doesNotExist();
        assertThat(bash(bundle.installedCheck(dir)).exit()).isZero();
        assertThat(Path.of(bundle.jar(dir))).hasContent("not really a jar, but bytes to ship");
        Result java = bash(bundle.java(dir) + " -version");
        assertThat(java.output()).isEqualTo("stand-in java -version\n");
        assertThat(Files.readSymbolicLink(Path.of(dir, "jre/lib/libjvm-link.so"))).isEqualTo(Path.of("server/libjvm.so"));
        assertThat(Files.size(Path.of(dir, "jre/lib/server/libjvm.so"))).isEqualTo(70_000);
    }

    @Test
    void aTamperedUploadIsRefusedAndNothingIsUnpacked() throws Exception {
        ServerBundle bundle = ServerBundle.prepare(cache, jar, linker, line -> { });
        byte[] bytes = Files.readAllBytes(bundle.archive());
        bytes[bytes.length / 2] ^= 0x5a;
        Path uploaded = Files.write(tmp.resolve("tampered.tar.gz"), bytes);
        String dir = tmp.resolve("install").toString();
        Result install = bash(bundle.installScript(uploaded.toString(), dir));
        assertThat(install.exit()).isEqualTo(ServerBundle.DIGEST_MISMATCH_EXIT);
        assertThat(install.output()).contains("does not have SHA-256 " + bundle.sha256());
        assertThat(Path.of(dir)).doesNotExist();
        assertThat(bash(bundle.installedCheck(dir)).exit()).isNotZero();
    }

    @Test
    void aBundleOfAnotherServerIsNotTakenForThisOne() throws Exception {
        ServerBundle first = ServerBundle.prepare(cache, jar, linker, line -> { });
        String dir = tmp.resolve("install").toString();
        Path uploaded = Files.copy(first.archive(), tmp.resolve("first.tar.gz"));
        assertThat(bash(first.installScript(uploaded.toString(), dir)).exit()).isZero();
        Files.writeString(jar, "a newer server");
        ServerBundle second = ServerBundle.prepare(cache, jar, linker, line -> { });
        assertThat(second.sha256()).isNotEqualTo(first.sha256());
        assertThat(bash(second.installedCheck(dir)).exit()).as("installed is the older bundle").isNotZero();
        assertThat(second.dockerfileRecipe()).contains("ADD agent-runtime-server-bundle.tar.gz /opt/agent-runtime/")
                .contains(second.sha256());
    }

    @Test
    void longAndUnicodeNamesSurviveTheTarRoundTrip() throws Exception {
        String longName = "deep/" + "directory-name-".repeat(8) + "/file-with-a-long-name-ünïcødé.txt";
        Path archive = tmp.resolve("names.tar");
        try (OutputStream out = Files.newOutputStream(archive); TarWriter tar = new TarWriter(out, 1_700_000_000L)) {
            tar.bytes(longName, "content".getBytes(StandardCharsets.UTF_8), 0600);
            tar.symlink("link-" + "x".repeat(120), "target-" + "y".repeat(120));
        }
        Result list = bash("tar -tvf " + archive);
        assertThat(list.exit()).as(list.output()).isZero();
        assertThat(list.output()).contains(longName).contains("link-" + "x".repeat(120) + " -> target-" + "y".repeat(120))
                .contains("-rw-------");
        assertThat(TarWriter.paxRecord("path", "abc")).isEqualTo("12 path=abc\n");
        assertThat(TarWriter.paxRecord("path", "x".repeat(91))).startsWith("101 path=");
    }

    private record Result(int exit, String output) {
    }

    private static Result bash(String script) throws IOException, InterruptedException {
        Process process = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("bash -c " + script + " did not finish");
        }
        return new Result(process.exitValue(), output);
    }
}
