package dev.agentruntime.server.files;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Zips built byte by byte for tests, including the hostile ones a well-behaved archiver never writes: entries
 * named {@code ../evil} or {@code /tmp/evil}, and symbolic links (a Unix mode in the central directory).
 */
public final class CraftedZips {

    /** {@code st_mode} of a symbolic link with rwxrwxrwx, as Info-ZIP records one. */
    public static final int SYMLINK_MODE = 0120777;
    /** {@code st_mode} of an executable regular file (rwxr-xr-x). */
    public static final int EXECUTABLE_MODE = 0100755;

    private CraftedZips() {
    }

    /**
     * A zip of these entries, in the map's iteration order, names taken verbatim; a name ending in {@code /}
     * makes a directory entry. For a symbolic link the value is the link target (see {@link #withUnixMode}).
     */
    public static byte[] zip(Map<String, String> entries) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, String> e : entries.entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey()));
                zip.write(e.getValue().getBytes(StandardCharsets.UTF_8));
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * Marks an entry as made on Unix with the given {@code st_mode} ({@code java.util.zip} cannot write external
     * attributes): sets "version made by" to Unix and the mode into the high 16 bits of the external attributes of
     * the entry's central directory header. Changes {@code zip} in place and returns it.
     */
    public static byte[] withUnixMode(byte[] zip, String name, int mode) {
        ByteBuffer buf = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        byte[] wanted = name.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i + 46 <= zip.length; i++) {
            if (buf.getInt(i) != 0x02014b50 || Short.toUnsignedInt(buf.getShort(i + 28)) != wanted.length) {
                continue;
            }
            if (ByteBuffer.wrap(zip, i + 46, wanted.length).equals(ByteBuffer.wrap(wanted))) {
                buf.putShort(i + 4, (short) ((3 << 8) | 20));
                buf.putInt(i + 38, mode << 16);
                return zip;
            }
        }
        throw new IllegalArgumentException("no central directory entry " + name);
    }
}
