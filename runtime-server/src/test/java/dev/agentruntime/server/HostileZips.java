package dev.agentruntime.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Zips the red team used, built in milliseconds rather than by deflating gigabytes. */
final class HostileZips {

    private static final int MIB = 1024 * 1024;

    private HostileZips() {
    }

    /**
     * {@code entries} entries of {@code mib} MiB of zeros each (the classic 4 MB to 4 GiB bomb is 4 x 1024). The
     * deflate stream is one full-flushed block for 1 MiB of zeros repeated (a full flush resets the window, so
     * repeats are valid), then a final empty block.
     *
     * @param honest whether the headers declare the real size; a dishonest bomb declares 1,000 bytes
     */
    static byte[] bomb(int entries, int mib, boolean honest) {
        byte[] zeros = new byte[MIB];
        Deflater deflater = new Deflater(9, true);
        deflater.setInput(zeros);
        byte[] buffer = new byte[64 * 1024];
        ByteArrayOutputStream segment = new ByteArrayOutputStream();
        int n;
        while ((n = deflater.deflate(buffer, 0, buffer.length, Deflater.FULL_FLUSH)) > 0) {
            segment.write(buffer, 0, n);
        }
        deflater.end();
        byte[] block = segment.toByteArray();
        ByteArrayOutputStream data = new ByteArrayOutputStream(block.length * mib + 2);
        for (int i = 0; i < mib; i++) {
            data.write(block, 0, block.length);
        }
        data.write(0x03); // final, fixed-Huffman block holding only end-of-block
        data.write(0x00);
        byte[] compressed = data.toByteArray();
        CRC32 crc = new CRC32();
        for (int i = 0; i < mib; i++) {
            crc.update(zeros);
        }
        long size = (long) mib * MIB;
        long declared = honest ? size : 1000;
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        ByteArrayOutputStream central = new ByteArrayOutputStream();
        for (int e = 0; e < entries; e++) {
            byte[] name = ("zeros-" + e + ".bin").getBytes(StandardCharsets.UTF_8);
            int offset = zip.size();
            zip.writeBytes(header(0x04034b50, 30, name, crc.getValue(), compressed.length, declared, -1));
            zip.writeBytes(compressed);
            central.writeBytes(header(0x02014b50, 46, name, crc.getValue(), compressed.length, declared, offset));
        }
        int cdOffset = zip.size();
        zip.writeBytes(central.toByteArray());
        ByteBuffer end = ByteBuffer.allocate(22).order(ByteOrder.LITTLE_ENDIAN);
        end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) entries)
                .putShort((short) entries).putInt(central.size()).putInt(cdOffset).putShort((short) 0);
        zip.writeBytes(end.array());
        return zip.toByteArray();
    }

    private static byte[] header(int signature, int fixed, byte[] name, long crc, long csize, long size, int offset) {
        ByteBuffer b = ByteBuffer.allocate(fixed + name.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(signature);
        if (signature == 0x02014b50) {
            b.putShort((short) 20); // made by
        }
        b.putShort((short) 20).putShort((short) 0).putShort((short) 8) // version, flags, deflated
                .putShort((short) 0).putShort((short) 0x21) // time, date
                .putInt((int) crc).putInt((int) csize).putInt((int) size)
                .putShort((short) name.length).putShort((short) 0);
        if (signature == 0x02014b50) {
            b.putShort((short) 0).putShort((short) 0).putShort((short) 0).putInt(0).putInt(offset);
        }
        b.put(name);
        return b.array();
    }

    /** A zip of {@code count} empty stored entries in 100 directories, written to {@code file}. */
    static Path manyEntries(Path file, int count) throws IOException {
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
             ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.setLevel(Deflater.NO_COMPRESSION);
            for (int i = 0; i < count; i++) {
                zip.putNextEntry(new ZipEntry("d" + (i % 100) + "/f" + i));
                zip.closeEntry();
            }
        }
        return file;
    }

    /** One small file whose name is {@code length} characters long. */
    static byte[] longName(int length) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry("a".repeat(length)));
            zip.write("x".getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
        }
        return bytes.toByteArray();
    }
}
