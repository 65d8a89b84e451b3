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
    static final class UnsafeZipException extends IOException {
        private static final long serialVersionUID = 1L;

        UnsafeZipException(String message) {
            super(message);
        }
    }

    /** What the central directory says about an entry that {@link ZipEntry} keeps to itself. */
    record CentralEntry(String name, int unixMode) {
        boolean isSymlink() {
            return (unixMode & S_IFMT) == S_IFLNK;
        }
    }

    /**
     * Validates every entry of {@code zip}; returns the Unix modes by entry name (for extraction), throws
     * {@link UnsafeZipException} for an unsafe entry and {@link ZipException} for a file that is not a zip.
     */
    static Map<String, Integer> validate(Path zip) throws IOException {
        Map<String, Integer> modes = new HashMap<>();
        for (CentralEntry e : readCentralDirectory(zip)) {
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
        Path base = Path.of("/extract-root");
        if (!base.resolve(name).normalize().startsWith(base)) {
            return "escapes the destination directory";
        }
        return null;
    }

    // ------------------------------------------------------------------ central directory

    static List<CentralEntry> readCentralDirectory(Path zip) throws IOException {
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
                    cdSize = record.getLong(40);
                    cdOffset = record.getLong(48);
                }
            }
            if (cdOffset < 0 || cdSize < 0 || cdOffset + cdSize > size) {
                throw new ZipException("corrupt zip (central directory outside the file)");
            }
            ch.position(cdOffset);
            InputStream in = new BufferedInputStream(Channels.newInputStream(ch), MultipartStream.CHUNK);
            return readEntries(in, cdSize);
        }
    }

    private static List<CentralEntry> readEntries(InputStream in, long cdSize) throws IOException {
        List<CentralEntry> entries = new ArrayList<>();
        long consumed = 0;
        byte[] fixed = new byte[46];
        while (consumed + 46 <= cdSize) {
            readFully(in, fixed);
            ByteBuffer h = ByteBuffer.wrap(fixed).order(ByteOrder.LITTLE_ENDIAN);
            if (h.getInt(0) != 0x02014b50) {
                throw new ZipException("corrupt zip (bad central directory header)");
            }
            int madeBy = Short.toUnsignedInt(h.getShort(4));
            int nameLength = Short.toUnsignedInt(h.getShort(28));
            int extraLength = Short.toUnsignedInt(h.getShort(30));
            int commentLength = Short.toUnsignedInt(h.getShort(32));
            long external = Integer.toUnsignedLong(h.getInt(38));
            byte[] name = new byte[nameLength];
            readFully(in, name);
            in.skipNBytes(extraLength + commentLength);
            int mode = (madeBy >> 8) == HOST_UNIX ? (int) (external >>> 16) : 0;
            entries.add(new CentralEntry(new String(name, StandardCharsets.UTF_8), mode));
            consumed += 46L + nameLength + extraLength + commentLength;
        }
        return entries;
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
