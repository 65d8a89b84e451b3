package dev.agentruntime.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Writes a POSIX tar stream (ustar headers, PAX records for long names and link targets): regular files streamed from
 * disk, directories, symbolic links, with their permission bits, owned by root. Enough for what the library ships into
 * sandboxes (the server bundle, Docker build contexts) without a compression library on users' class paths.
 */
public final class TarWriter implements AutoCloseable {

    private static final int BLOCK = 512;

    private final OutputStream out;
    private final long mtimeSeconds;
    private boolean finished;

    /** @param mtimeSeconds the modification time recorded for every entry (fixed, so archives are reproducible) */
    public TarWriter(OutputStream out, long mtimeSeconds) {
        this.out = out;
        this.mtimeSeconds = mtimeSeconds;
    }

    /** Adds {@code file} (its content streamed) as {@code name}, with its executable bits. */
    public TarWriter file(String name, Path file) throws IOException {
        long size = Files.size(file);
        header(name, mode(file), size, '0', "");
        try (InputStream in = Files.newInputStream(file)) {
            long copied = in.transferTo(out);
            if (copied != size) {
                throw new IOException(file + " changed size while it was archived (" + size + " -> " + copied + ")");
            }
        }
        pad(size);
        return this;
    }

    /** Adds bytes as a regular file. */
    public TarWriter bytes(String name, byte[] content, int mode) throws IOException {
        header(name, mode, content.length, '0', "");
        out.write(content);
        pad(content.length);
        return this;
    }

    public TarWriter directory(String name) throws IOException {
        header(name.endsWith("/") ? name : name + "/", 0755, 0, '5', "");
        return this;
    }

    public TarWriter symlink(String name, String target) throws IOException {
        header(name, 0777, 0, '2', target);
        return this;
    }

    /**
     * Adds the tree under {@code root} below {@code prefix} (directories first, names sorted: the same tree gives the
     * same archive); symbolic links are kept as links.
     */
    public TarWriter tree(String prefix, Path root) throws IOException {
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(root)) {
            paths = walk.sorted(Comparator.comparing(p -> root.relativize(p).toString())).toList();
        }
        for (Path path : paths) {
            String relative = root.relativize(path).toString().replace('\\', '/');
            String name = relative.isEmpty() ? prefix : prefix + "/" + relative;
            if (Files.isSymbolicLink(path)) {
                symlink(name, Files.readSymbolicLink(path).toString());
            } else if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                directory(name);
            } else {
                file(name, path);
            }
        }
        return this;
    }

    /** Ends the archive (two zero blocks) and flushes; the underlying stream stays open. */
    public void finish() throws IOException {
        if (!finished) {
            out.write(new byte[BLOCK * 2]);
            out.flush();
            finished = true;
        }
    }

    @Override
    public void close() throws IOException {
        finish();
        out.close();
    }

    private void header(String name, int mode, long size, char type, String link) throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        byte[] linkBytes = link.getBytes(StandardCharsets.UTF_8);
        if (nameBytes.length > 100 || linkBytes.length > 100 || !isAscii(nameBytes) || !isAscii(linkBytes)) {
            StringBuilder pax = new StringBuilder();
            pax.append(paxRecord("path", name));
            if (!link.isEmpty()) {
                pax.append(paxRecord("linkpath", link));
            }
            byte[] records = pax.toString().getBytes(StandardCharsets.UTF_8);
            writeHeader("PaxHeaders/" + shortName(name), 0644, records.length, 'x', "");
            out.write(records);
            pad(records.length);
        }
        writeHeader(shortName(name), mode, size, type, linkBytes.length > 100 ? "" : link);
    }

    private static boolean isAscii(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0x20) {
                return false;
            }
        }
        return true;
    }

    private static String shortName(String name) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= 100) {
            return name;
        }
        String tail = name.substring(Math.max(0, name.length() - 90)).replaceAll("[^\\x20-\\x7e]", "_");
        return tail;
    }

    /** A PAX record: its decimal length (counting itself), a space, key=value, a newline. */
    public static String paxRecord(String key, String value) {
        int payload = (" " + key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8).length;
        int length = payload + Integer.toString(payload).length();
        if (Integer.toString(length).length() != Integer.toString(payload).length()) {
            length++;
        }
        return length + " " + key + "=" + value + "\n";
    }

    private void writeHeader(String name, int mode, long size, char type, String link) throws IOException {
        byte[] h = new byte[BLOCK];
        put(h, 0, 100, name.getBytes(StandardCharsets.UTF_8));
        octal(h, 100, 8, mode);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        octal(h, 124, 12, size);
        octal(h, 136, 12, mtimeSeconds);
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        h[156] = (byte) type;
        put(h, 157, 100, link.getBytes(StandardCharsets.UTF_8));
        put(h, 257, 6, "ustar\0".getBytes(StandardCharsets.US_ASCII));
        put(h, 263, 2, "00".getBytes(StandardCharsets.US_ASCII));
        put(h, 265, 32, "root".getBytes(StandardCharsets.US_ASCII));
        put(h, 297, 32, "root".getBytes(StandardCharsets.US_ASCII));
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        byte[] check = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(check, 0, h, 148, 8);
        out.write(h);
    }

    private static void put(byte[] header, int offset, int length, byte[] value) {
        System.arraycopy(value, 0, header, offset, Math.min(length, value.length));
    }

    private static void octal(byte[] header, int offset, int length, long value) {
        String digits = Long.toOctalString(value);
        if (digits.length() > length - 1) {
            throw new IllegalArgumentException("value " + value + " does not fit a " + length + "-byte tar field");
        }
        String padded = "0".repeat(length - 1 - digits.length()) + digits;
        put(header, offset, length, (padded + "\0").getBytes(StandardCharsets.US_ASCII));
    }

    private void pad(long size) throws IOException {
        int rest = (int) (size % BLOCK);
        if (rest != 0) {
            out.write(new byte[BLOCK - rest]);
        }
    }

    private static int mode(Path file) throws IOException {
        try {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
            return permissions.contains(PosixFilePermission.OWNER_EXECUTE) ? 0755 : 0644;
        } catch (UnsupportedOperationException e) {
            return Files.isExecutable(file) ? 0755 : 0644;
        }
    }
}
