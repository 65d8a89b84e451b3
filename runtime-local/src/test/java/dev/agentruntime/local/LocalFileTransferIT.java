package dev.agentruntime.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Large transfers stream end to end: a 200 MB file goes in with copyTo and comes back with copyFrom byte for byte,
 * while the server runs with its lean -Xmx64m heap (LocalRuntime's default JVM options) — it could not hold the
 * file in memory if it tried.
 */
class LocalFileTransferIT {

    private static final long SIZE = 200L * 1024 * 1024;

    @Test
    void twoHundredMegabytesRoundTripWithIdenticalBytesThroughA64MegabyteServer(@TempDir Path host) throws Exception {
        Path source = host.resolve("big.bin");
        String sourceSha = writeRandom(source, SIZE);
        try (Runtime runtime = RuntimeFactory.connect(RuntimeConfig.builder().type("local").build())) {
            assertThat(runtime.run("cat /proc/$PPID/cmdline | tr '\\\\0' ' '").content()).contains("-Xmx64m");

            runtime.copyTo(source, "/tmp/agent-runtime-big-transfer", false);
            assertThat(runtime.run("sha256sum /tmp/agent-runtime-big-transfer/big.bin | cut -d' ' -f1").content())
                    .isEqualTo(sourceSha);

            Path zip = runtime.copyFrom("/tmp/agent-runtime-big-transfer/big.bin");
            try (InputStream in = Files.newInputStream(zip); ZipInputStream entries = new ZipInputStream(in)) {
                ZipEntry entry = entries.getNextEntry();
                assertThat(entry.getName()).isEqualTo("big.bin");
                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                long size = new DigestInputStream(entries, digest).transferTo(OutputStream.nullOutputStream());
                assertThat(size).isEqualTo(SIZE);
                assertThat(HexFormat.of().formatHex(digest.digest())).isEqualTo(sourceSha);
                assertThat(entries.getNextEntry()).isNull();
            } finally {
                Files.deleteIfExists(zip);
                runtime.run("rm -rf /tmp/agent-runtime-big-transfer");
            }
        }
    }

    /** Writes {@code size} pseudo-random (incompressible) bytes in 1 MiB chunks and returns their SHA-256. */
    static String writeRandom(Path file, long size) throws IOException, java.security.NoSuchAlgorithmException {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        SplittableRandom random = new SplittableRandom(42);
        byte[] chunk = new byte[1024 * 1024];
        try (OutputStream out = new DigestOutputStream(Files.newOutputStream(file), digest)) {
            for (long written = 0; written < size; written += chunk.length) {
                for (int i = 0; i < chunk.length; i += 8) {
                    long value = random.nextLong();
                    for (int b = 0; b < 8; b++) {
                        chunk[i + b] = (byte) (value >>> (8 * b));
                    }
                }
                out.write(chunk, 0, (int) Math.min(chunk.length, size - written));
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
