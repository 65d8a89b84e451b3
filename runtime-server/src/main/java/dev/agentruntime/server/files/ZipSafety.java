package dev.agentruntime.server.files;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Checks an uploaded zip before anything is extracted: every entry must stay inside the destination (no
 * {@code ..} segment, no absolute path, no drive letter, no NUL) and no entry may be a symbolic link. Symbolic
 * links are refused outright: a link whose target looks harmless can still be used by a later entry or a later
 * link to reach outside, and OpenHands itself never created links (Python's zipfile writes them as plain files).
 *
 * <p>{@code java.util.zip} does not expose an entry's Unix mode, so the central directory is read here as well
 * (ZIP64 included) to find the {@code S_IFLNK} entries.
 */
final class ZipSafety {

    private static final int S_IFMT = 0170000;
    private static final int S_IFLNK = 0120000;
    private static final int HOST_UNIX = 3;

    private ZipSafety() {
    }

    /** A zip we will not extract; the message names the entry and the reason. */
    static class UnsafeZipException extends IOException {
        private static final long serialVersionUID = 1L;

        UnsafeZipException(String message) {
            super(message);
        }
    }

    /** The longest file name (one path segment) Linux file systems take, in bytes. */
    static final int MAX_NAME_BYTES = 255;
    /** The longest path (PATH_MAX less the terminating NUL) an entry may have, in bytes. */
    static final int MAX_PATH_BYTES = 4095;

    /**
     * What an upload may cost: entries, bytes once expanded, and expanded bytes per byte of zip (checked once the
     * expanded size passes {@code ratioGrace}, so small archives of very compressible text are fine).
     */
    record Caps(int maxEntries, long maxExpandedBytes, int maxRatio, long ratioGrace) {
        static final Caps NONE = new Caps(Integer.MAX_VALUE, Long.MAX_VALUE, Integer.MAX_VALUE, Long.MAX_VALUE);

        /** Throws once {@code expanded} bytes from a zip of {@code zipBytes} exceed a cap. */
        void checkExpanded(long expanded, long zipBytes, String what) throws ZipLimitException {
            if (expanded > maxExpandedBytes) {
                throw new ZipLimitException("Upload refused: " + what + " expands to more than " + maxExpandedBytes
                        + " bytes (AGENT_RUNTIME_MAX_UPLOAD_EXPANDED_BYTES). Nothing was extracted.");
            }
            if (expanded > ratioGrace && expanded / Math.max(1, zipBytes) >= maxRatio) {
                throw new ZipLimitException("Upload refused: " + what + " expands " + (expanded / Math.max(1, zipBytes))
                        + " times its size, more than the limit of " + maxRatio + " (AGENT_RUNTIME_MAX_UPLOAD_RATIO;"
                        + " a zip bomb?). Nothing was extracted.");
            }
        }
    }

    /** A zip larger than a cap: the answer is 413, and nothing is extracted. */
    static final class ZipLimitException extends UnsafeZipException {
        private static final long serialVersionUID = 1L;

        ZipLimitException(String message) {
            super(message);
        }
    }

    /** What the central directory says about an entry that {@link ZipEntry} keeps to itself. */
    record CentralEntry(String name, int unixMode, long size, long compressedSize) {
        boolean isSymlink() {
            return (unixMode & S_IFMT) == S_IFLNK;
        }
    }

    /**
     * Validates every entry of {@code zip}; returns the Unix modes by entry name (for extraction), throws
     * {@link UnsafeZipException} for an unsafe entry and {@link ZipException} for a file that is not a zip.
     */
    static Map<String, Integer> validate(Path zip) throws IOException {
        return validate(zip, Caps.NONE);
    }

    /**
     * Validates every entry and the caps: the entry count from the end record before the central directory is read,
     * the declared expanded size and ratio from the central directory before anything is extracted. (Extraction
     * counts the bytes it really writes against the same caps: declared sizes can lie.)
     */
    static Map<String, Integer> validate(Path zip, Caps caps) throws IOException {
        Map<String, Integer> modes = new HashMap<>();
        long zipBytes = java.nio.file.Files.size(zip);
        long declared = 0;
        for (CentralEntry e : readCentralDirectory(zip, caps.maxEntries())) {
            declared += Math.max(0, e.size());
            caps.checkExpanded(declared, zipBytes, "the archive (as its directory declares)");
            String problem = problemWith(e.name());
            if (problem == null && e.isSymlink()) {
                problem = "is a symbolic link, and symbolic links are not extracted";
            }
            if (problem != null) {
                throw unsafe(e.name(), problem);
            }
            modes.put(e.name(), e.unixMode());
        }
        // Check what java.util.zip will extract, too: it must parse the archive and agree on every name.
        try (ZipFile zf = new ZipFile(zip.toFile(), StandardCharsets.UTF_8)) {
            Enumeration<? extends ZipEntry> entries = zf.entries();
            while (entries.hasMoreElements()) {
                String name = entries.nextElement().getName();
                String problem = problemWith(name);
                if (problem != null) {
                    throw unsafe(name, problem);
                }
                if (!modes.containsKey(name)) {
                    throw unsafe(name, "is not listed in the central directory as read");
                }
            }
        }
        return modes;
    }

    private static UnsafeZipException unsafe(String name, String problem) {
        return new UnsafeZipException("Unsafe zip entry '" + name + "': " + problem + ". Nothing was extracted.");
    }

    /** Why an entry name could land outside the directory it is extracted into, or null when it cannot. */
    static String problemWith(String name) {
        if (name.isEmpty()) {
            return "has an empty name";
        }
        if (name.indexOf('\0') >= 0) {
            return "contains a NUL character";
        }
        if (name.startsWith("/") || name.startsWith("\\")) {
            return "is an absolute path";
        }
        if (name.length() >= 2 && name.charAt(1) == ':' && Character.isLetter(name.charAt(0))) {
            return "starts with a drive letter";
        }
        for (String segment : name.split("[/\\\\]")) {
            if (segment.equals("..")) {
                return "contains a '..' path segment";
            }
        }
        byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
        if (utf8.length > MAX_PATH_BYTES) {
            return "has a path longer than " + MAX_PATH_BYTES + " bytes";
        }
        for (String segment : name.split("/")) {
            if (segment.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
                return "has a name longer than " + MAX_NAME_BYTES + " bytes, the longest file name the file system takes";
            }
        }
        Path base = Path.of("/extract-root");
        if (!base.resolve(name).normalize().startsWith(base)) {
            return "escapes the destination directory";
        }
        return null;
    }

    // ------------------------------------------------------------------ central directory

    static List<CentralEntry> readCentralDirectory(Path zip) throws IOException {
        return readCentralDirectory(zip, Integer.MAX_VALUE);
    }

    static List<CentralEntry> readCentralDirectory(Path zip, int maxEntries) throws IOException {
        try (FileChannel ch = FileChannel.open(zip, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 22) {
                throw new ZipException("not a zip archive (too short)");
            }
            int tailLength = (int) Math.min(size, 22 + 0xffff);
            ByteBuffer tail = readAt(ch, size - tailLength, tailLength);
            int eocd = -1;
            for (int i = tailLength - 22; i >= 0; i--) {
                if (tail.getInt(i) == 0x06054b50) {
                    eocd = i;
                    break;
                }
            }
            if (eocd < 0) {
                throw new ZipException("not a zip archive (no end of central directory record)");
            }
            long entryCount = Short.toUnsignedInt(tail.getShort(eocd + 10));
            long cdSize = Integer.toUnsignedLong(tail.getInt(eocd + 12));
            long cdOffset = Integer.toUnsignedLong(tail.getInt(eocd + 16));
            boolean zip64 = Short.toUnsignedInt(tail.getShort(eocd + 10)) == 0xffff
                    || cdSize == 0xffffffffL || cdOffset == 0xffffffffL;
            long eocdPosition = size - tailLength + eocd;
            if (zip64 && eocdPosition >= 20) {
                ByteBuffer locator = readAt(ch, eocdPosition - 20, 20);
                if (locator.getInt(0) == 0x07064b50) {
                    ByteBuffer record = readAt(ch, locator.getLong(8), 56);
                    if (record.getInt(0) != 0x06064b50) {
                        throw new ZipException("corrupt zip64 end of central directory record");
                    }
                    entryCount = record.getLong(32);
                    cdSize = record.getLong(40);
                    cdOffset = record.getLong(48);
                }
            }
            if (cdOffset < 0 || cdSize < 0 || cdOffset + cdSize > size) {
                throw new ZipException("corrupt zip (central directory outside the file)");
            }
            if (entryCount > maxEntries) {
                throw tooManyEntries(entryCount, maxEntries);
            }
            if (cdSize / 46 > maxEntries) { // the end record says fewer than its directory can hold
                throw tooManyEntries(-1, maxEntries);
            }
            ch.position(cdOffset);
            InputStream in = new BufferedInputStream(Channels.newInputStream(ch), MultipartStream.CHUNK);
            return readEntries(in, cdSize, maxEntries);
        }
    }

    private static ZipLimitException tooManyEntries(long count, int max) {
        return new ZipLimitException("Upload refused: the archive has " + (count > max ? count + " entries" : "more entries")
                + ", more than the limit of " + max + " (AGENT_RUNTIME_MAX_UPLOAD_ENTRIES). Nothing was extracted.");
    }

    private static List<CentralEntry> readEntries(InputStream in, long cdSize, int maxEntries) throws IOException {
        List<CentralEntry> entries = new ArrayList<>();
        long consumed = 0;
        byte[] fixed = new byte[46];
        while (consumed + 46 <= cdSize) {
            readFully(in, fixed);
            ByteBuffer h = ByteBuffer.wrap(fixed).order(ByteOrder.LITTLE_ENDIAN);
            if (h.getInt(0) != 0x02014b50) {
                throw new ZipException("corrupt zip (bad central directory header)");
            }
            if (entries.size() >= maxEntries) {
                throw tooManyEntries(entries.size() + 1L, maxEntries);
            }
            int madeBy = Short.toUnsignedInt(h.getShort(4));
            long compressed = Integer.toUnsignedLong(h.getInt(20));
            long size = Integer.toUnsignedLong(h.getInt(24));
            int nameLength = Short.toUnsignedInt(h.getShort(28));
            int extraLength = Short.toUnsignedInt(h.getShort(30));
            int commentLength = Short.toUnsignedInt(h.getShort(32));
            long external = Integer.toUnsignedLong(h.getInt(38));
            byte[] name = new byte[nameLength];
            readFully(in, name);
            byte[] extra = new byte[extraLength];
            readFully(in, extra);
            in.skipNBytes(commentLength);
            if (size == 0xffffffffL || compressed == 0xffffffffL) {
                long[] sizes = zip64Sizes(extra, size, compressed);
                size = sizes[0];
                compressed = sizes[1];
            }
            int mode = (madeBy >> 8) == HOST_UNIX ? (int) (external >>> 16) : 0;
            entries.add(new CentralEntry(new String(name, StandardCharsets.UTF_8), mode, size, compressed));
            consumed += 46L + nameLength + extraLength + commentLength;
        }
        return entries;
    }

    /** The ZIP64 extra field's sizes (only the fields whose 32-bit value is 0xffffffff are present, in order). */
    private static long[] zip64Sizes(byte[] extra, long size, long compressed) {
        ByteBuffer b = ByteBuffer.wrap(extra).order(ByteOrder.LITTLE_ENDIAN);
        while (b.remaining() >= 4) {
            int id = Short.toUnsignedInt(b.getShort());
            int length = Short.toUnsignedInt(b.getShort());
            if (length > b.remaining()) {
                break;
            }
            if (id == 0x0001) {
                int end = b.position() + length;
                if (size == 0xffffffffL && b.position() + 8 <= end) {
                    size = b.getLong();
                }
                if (compressed == 0xffffffffL && b.position() + 8 <= end) {
                    compressed = b.getLong();
                }
                break;
            }
            b.position(b.position() + length);
        }
        return new long[] {size, compressed};
    }

    private static ByteBuffer readAt(FileChannel ch, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (buffer.hasRemaining()) {
            if (ch.read(buffer, position + buffer.position()) < 0) {
                throw new EOFException("zip ended unexpectedly");
            }
        }
        return buffer.flip();
    }

    private static void readFully(InputStream in, byte[] into) throws IOException {
        if (in.readNBytes(into, 0, into.length) != into.length) {
            throw new ZipException("corrupt zip (central directory truncated)");
        }
    }
}
