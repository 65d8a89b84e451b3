package dev.agentruntime.remote.internal;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.internal.TarWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.GZIPOutputStream;

/** A Docker build context as the Remote Runtime API's {@code /build} takes it: a reproducible tar.gz of a directory. */
public final class BuildContexts {

    /** The archive and its SHA-256 (the same tree gives the same bytes: fixed times, sorted names, gzip mtime 0). */
    public record Context(byte[] bytes, String sha256) {
    }

    private BuildContexts() {
    }

    public static Context tarGz(Path directory) {
        if (!Files.isDirectory(directory) || !Files.isRegularFile(directory.resolve("Dockerfile"))) {
            throw new InvalidConfigException("build.context must be a directory with a Dockerfile, was " + directory);
        }
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(buffer); TarWriter tar = new TarWriter(gzip, 0)) {
            tar.tree(".", directory.toAbsolutePath().normalize());
            tar.finish();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot archive the build context " + directory, e);
        }
        byte[] bytes = buffer.toByteArray();
        try {
            return new Context(bytes, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
