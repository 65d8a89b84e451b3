package dev.agentruntime.spi;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import okhttp3.MediaType;
import okhttp3.RequestBody;
import okio.BufferedSink;

/**
 * A request body that zips a directory tree while it is being sent: no temporary file, no buffering of the whole
 * tree. Entry names start with the directory's own name. Symbolic links are stored as the files they point to.
 */
final class ZipTreeBody extends RequestBody {

    private final Path root;

    ZipTreeBody(Path root) {
        // Absolute, so that a relative root such as "dir" has a parent and entries start with "dir/".
        this.root = root.toAbsolutePath().normalize();
    }

    @Override
    public MediaType contentType() {
        return MediaType.get("application/zip");
    }

    @Override
    public long contentLength() {
        return -1; // unknown up front: sent chunked
    }

    @Override
    public boolean isOneShot() {
        return true; // generated on the fly; never replayed
    }

    @Override
    public void writeTo(BufferedSink sink) throws IOException {
        Path base = root.getParent() == null ? root : root.getParent();
        OutputStream out = sink.outputStream();
        ZipOutputStream zip = new ZipOutputStream(new NonClosingStream(out));
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(root)) {
            paths = walk.sorted().toList();
        }
        for (Path path : paths) {
            String name = base.relativize(path).toString().replace('\\', '/');
            if (Files.isDirectory(path)) {
                zip.putNextEntry(new ZipEntry(name + "/"));
                zip.closeEntry();
            } else if (Files.isRegularFile(path)) {
                zip.putNextEntry(new ZipEntry(name));
                Files.copy(path, zip);
                zip.closeEntry();
            }
        }
        zip.finish();
        zip.flush();
    }

    /** Lets the zip stream finish without closing the HTTP sink underneath. */
    private static final class NonClosingStream extends java.io.FilterOutputStream {
        NonClosingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
