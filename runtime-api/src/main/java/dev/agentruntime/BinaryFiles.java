package dev.agentruntime;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * {@link Runtime#writeBytes} and {@link Runtime#readBytes} on top of {@code copyTo}/{@code copyFrom}, so that every
 * backend has them.
 *
 * <p>Writing sends a one-entry zip: the upload endpoint extracts any file whose name ends in {@code .zip}
 * (OpenHands' rule), so a plain upload of {@code data.zip} would be unpacked instead of stored; inside a zip every
 * name, {@code .zip} or not, arrives as the file itself. The entry is STORED (no compression work).
 */
final class BinaryFiles {

    private BinaryFiles() {
    }

    static void write(Runtime runtime, String sandboxPath, byte[] content) {
        Objects.requireNonNull(sandboxPath, "sandboxPath");
        Objects.requireNonNull(content, "content");
        if (!sandboxPath.startsWith("/") || sandboxPath.endsWith("/")) {
            throw new IllegalArgumentException("writeBytes needs an absolute sandbox file path, was '" + sandboxPath
                    + "' (sandbox " + runtime.id() + ")");
        }
        int slash = sandboxPath.lastIndexOf('/');
        String directory = slash == 0 ? "/" : sandboxPath.substring(0, slash);
        String name = sandboxPath.substring(slash + 1);
        if (name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("writeBytes needs a file name, was '" + sandboxPath + "'");
        }
        Path zip = null;
        try {
            zip = Files.createTempFile("agent-runtime-bytes-", ".zip");
            try (OutputStream file = Files.newOutputStream(zip); ZipOutputStream out = new ZipOutputStream(file)) {
                ZipEntry entry = new ZipEntry(name);
                entry.setMethod(ZipEntry.STORED);
                entry.setSize(content.length);
                entry.setCompressedSize(content.length);
                CRC32 crc = new CRC32();
                crc.update(content);
                entry.setCrc(crc.getValue());
                out.putNextEntry(entry);
                out.write(content);
                out.closeEntry();
            }
            runtime.copyTo(zip, directory, false);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot stage the bytes for " + sandboxPath + " (sandbox " + runtime.id()
                    + ") in a local temporary file", e);
        } finally {
            deleteQuietly(zip);
        }
    }

    static byte[] read(Runtime runtime, String sandboxPath) {
        Objects.requireNonNull(sandboxPath, "sandboxPath");
        Path zip = runtime.copyFrom(sandboxPath);
        try (InputStream file = Files.newInputStream(zip); ZipInputStream in = new ZipInputStream(file)) {
            // A file downloads as one entry named after it; a directory as its entries, which for a directory
            // holding only a namesake file look the same: the listing (empty for a file) tells them apart.
            String name = sandboxPath.substring(sandboxPath.lastIndexOf('/') + 1);
            ZipEntry first = in.getNextEntry();
            byte[] bytes = first == null || first.isDirectory() ? null : in.readAllBytes();
            if (bytes == null || !first.getName().equals(name) || in.getNextEntry() != null
                    || !runtime.listFiles(sandboxPath).isEmpty()) {
                throw new IllegalArgumentException(sandboxPath + " in sandbox " + runtime.id()
                        + " is a directory, not a file: use copyFrom for a tree");
            }
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the download of " + sandboxPath + " (sandbox " + runtime.id()
                    + ")", e);
        } finally {
            deleteQuietly(zip);
        }
    }

    private static void deleteQuietly(Path path) {
        if (path != null) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // a temporary file; the OS cleans its temp directory
            }
        }
    }
}
