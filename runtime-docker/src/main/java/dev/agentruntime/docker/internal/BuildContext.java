package dev.agentruntime.docker.internal;

import java.io.BufferedOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * A Docker build context: a tar of the Dockerfile, the server jar and (optionally) a Java runtime directory,
 * spooled to a temporary file rather than held in memory (a bundled runtime makes it ~50 MB, which a gateway with a
 * small heap cannot afford twice over). The file is removed when the stream {@link #toInputStream()} returns is
 * closed, or by {@link #close()}. Uses commons-compress, which docker-java itself depends on for its own build
 * contexts.
 */
public final class BuildContext implements AutoCloseable {

    private final Path file;
    private final TarArchiveOutputStream tar;

    public BuildContext() {
        try {
            file = Files.createTempFile("agent-runtime-build-context-", ".tar");
            tar = new TarArchiveOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16),
                    StandardCharsets.UTF_8.name());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create a temporary file for a Docker build context", e);
        }
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    }

    /** Adds a text file (e.g. the Dockerfile). */
    public BuildContext text(String name, String content) {
        byte[] data = content.getBytes(StandardCharsets.UTF_8);
        try {
            TarArchiveEntry entry = new TarArchiveEntry(name);
            entry.setSize(data.length);
            entry.setMode(0100644);
            tar.putArchiveEntry(entry);
            tar.write(data);
            tar.closeArchiveEntry();
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Adds a host file under {@code name}, keeping its modification time and executable bit. */
    public BuildContext file(String name, Path file) {
        try {
            TarArchiveEntry entry = new TarArchiveEntry(file.toFile(), name);
            entry.setMode(mode(file, false));
            tar.putArchiveEntry(entry);
            Files.copy(file, tar);
            tar.closeArchiveEntry();
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot add " + file + " to the build context", e);
        }
    }

    /** Adds a host directory tree under {@code prefix}. Modification times are kept: CDS archives check them. */
    public BuildContext directory(String prefix, Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            List<Path> paths = walk.sorted().toList();
            for (Path path : paths) {
                String relative = root.relativize(path).toString().replace('\\', '/');
                String name = relative.isEmpty() ? prefix : prefix + "/" + relative;
                if (Files.isDirectory(path)) {
                    TarArchiveEntry entry = new TarArchiveEntry(path.toFile(), name + "/");
                    entry.setMode(mode(path, true));
                    tar.putArchiveEntry(entry);
                    tar.closeArchiveEntry();
                } else {
                    file(name, path);
                }
            }
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot add " + root + " to the build context", e);
        }
    }

    /** Finishes the tar; the context can no longer be changed. Closing the stream removes the file. */
    public InputStream toInputStream() {
        try {
            tar.finish();
            tar.close();
            return new FilterInputStream(Files.newInputStream(file)) {
                @Override
                public void close() throws IOException {
                    try {
                        super.close();
                    } finally {
                        Files.deleteIfExists(file);
                    }
                }
            };
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("Cannot read the Docker build context " + file, e);
        }
    }

    /** Removes the temporary file (idempotent; a stream already open keeps reading it). */
    @Override
    public void close() {
        try {
            tar.close();
        } catch (IOException ignored) {
            // the file goes either way
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // a temporary file; the OS cleans its temp directory
        }
    }

    private static int mode(Path path, boolean directory) throws IOException {
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(path);
            boolean executable = perms.contains(PosixFilePermission.OWNER_EXECUTE);
            return (directory ? 040000 : 0100000) | (directory || executable ? 0755 : 0644);
        } catch (UnsupportedOperationException e) {
            return (directory ? 040000 : 0100000) | (directory ? 0755 : 0644);
        }
    }
}
