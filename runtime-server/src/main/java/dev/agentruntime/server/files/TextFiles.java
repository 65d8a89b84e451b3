package dev.agentruntime.server.files;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Binary sniffing and strict decoding of text files. */
final class TextFiles {

    /** How much of a file the binary sniffer looks at. */
    static final int SNIFF_BYTES = 8192;

    private TextFiles() {
    }

    /**
     * Whether a file looks binary, in the spirit of Python's {@code binaryornot.is_binary} (which OpenHands uses):
     * any NUL byte in the first 8 KiB means binary; a head that is valid UTF-8 means text; otherwise binaryornot's
     * byte-ratio heuristic decides (mostly control or high bytes, or a {@code 0xFF} byte, means binary), so text in
     * a legacy 8-bit encoding still counts as text. An empty file is text.
     */
    static boolean looksBinary(Path file) throws IOException {
        byte[] head = new byte[SNIFF_BYTES];
        int n = 0;
        try (InputStream in = Files.newInputStream(file)) {
            int r;
            while (n < head.length && (r = in.read(head, n, head.length - n)) > 0) {
                n += r;
            }
        }
        return looksBinary(head, n);
    }

    static boolean looksBinary(byte[] head, int n) {
        if (n == 0) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (head[i] == 0) {
                return true;
            }
        }
        if (isUtf8Prefix(head, n)) {
            return false;
        }
        int nonPrintable = 0;
        int lowBytes = 0;
        boolean hasFF = false;
        for (int i = 0; i < n; i++) {
            int b = head[i] & 0xff;
            boolean printableAscii = (b >= 32 && b < 127) || b == '\n' || b == '\r' || b == '\t' || b == '\f' || b == '\b';
            if (!printableAscii) {
                nonPrintable++;
            }
            if (b < 127) {
                lowBytes++;
            }
            hasFF |= b == 0xff;
        }
        double nonText = (double) nonPrintable / n;
        double low = (double) lowBytes / n;
        boolean likelyBinary = (nonText > 0.3 && low < 0.05) || (nonText > 0.8 && low > 0.8);
        return likelyBinary || hasFF;
    }

    /** Valid UTF-8, allowing a multi-byte sequence cut off by the end of the sniffed chunk. */
    private static boolean isUtf8Prefix(byte[] bytes, int n) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, 0, n);
        CharBuffer out = CharBuffer.allocate(n);
        CoderResult result = decoder.decode(in, out, false);
        return !result.isError() && in.remaining() < 4;
    }

    /** Strictly decodes {@code bytes}; a malformed sequence throws instead of turning into U+FFFD. */
    static String decode(byte[] bytes, Charset charset) throws CharacterCodingException {
        return charset.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes))
                .toString();
    }

    /** Strictly encodes {@code text}; a character the charset cannot carry throws. */
    static byte[] encode(String text, Charset charset) throws CharacterCodingException {
        ByteBuffer buffer = charset.newEncoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .encode(CharBuffer.wrap(text));
        byte[] out = new byte[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    /**
     * Streams a file's lines as Python's text mode reads them (strict UTF-8, universal newlines, every line but a last
     * unterminated one ending in {@code \n}) without holding more than one line; stops when {@code each} says false.
     *
     * @return true when every line was seen
     * @throws CharacterCodingException for bytes that are not UTF-8
     */
    static boolean forEachLine(Path file, java.util.function.Predicate<String> each) throws IOException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (java.io.Reader in = new java.io.BufferedReader(
                new java.io.InputStreamReader(Files.newInputStream(file), decoder), 64 * 1024)) {
            StringBuilder line = new StringBuilder();
            int c;
            boolean afterCr = false;
            while ((c = in.read()) >= 0) {
                if (afterCr) {
                    afterCr = false;
                    if (c == '\n') {
                        continue; // \r\n: the \r already ended the line
                    }
                }
                if (c == '\r' || c == '\n') {
                    afterCr = c == '\r';
                    line.append('\n');
                    if (!each.test(line.toString())) {
                        return false;
                    }
                    line.setLength(0);
                } else {
                    line.append((char) c);
                }
            }
            if (line.length() > 0 && !each.test(line.toString())) {
                return false;
            }
            return true;
        }
    }
}
