package dev.agentruntime.server.http;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A parsed request line and header block. Header names are kept lower-cased in arrays (no map, no per-header
 * lists): a request has a dozen headers and a lookup is a short scan.
 */
public final class RequestHead {

    private final String method;
    private final String path;
    private final String rawQuery;
    private final boolean http10;
    private final String[] names;
    private final String[] values;
    private final int count;
    private final long contentLength;
    private final boolean chunked;

    private RequestHead(String method, String path, String rawQuery, boolean http10, String[] names, String[] values,
                        int count, long contentLength, boolean chunked) {
        this.method = method;
        this.path = path;
        this.rawQuery = rawQuery;
        this.http10 = http10;
        this.names = names;
        this.values = values;
        this.count = count;
        this.contentLength = contentLength;
        this.chunked = chunked;
    }

    /** A request head we refuse to parse; {@link #status()} is the answer (400, 431, 501, 505). */
    public static final class BadRequest extends Exception {
        private static final long serialVersionUID = 1L;
        private final int status;

        BadRequest(int status, String detail) {
            super(detail, null, false, false);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    /**
     * Parses {@code bytes[0, length)}, which ends with the blank line. Strict where leniency lets a request mean two
     * things to two parsers: a {@code Content-Length} together with {@code Transfer-Encoding}, two different
     * lengths, folded header lines and control characters are refused.
     */
    static RequestHead parse(byte[] bytes, int length) throws BadRequest {
        int lineEnd = lineEnd(bytes, 0, length);
        String requestLine = ascii(bytes, 0, trimCr(bytes, 0, lineEnd));
        int sp1 = requestLine.indexOf(' ');
        int sp2 = requestLine.lastIndexOf(' ');
        if (sp1 <= 0 || sp2 == sp1) {
            throw new BadRequest(400, "Malformed request line");
        }
        String method = requestLine.substring(0, sp1);
        String target = requestLine.substring(sp1 + 1, sp2);
        String version = requestLine.substring(sp2 + 1);
        if (!version.startsWith("HTTP/1.")) {
            throw new BadRequest(version.startsWith("HTTP/") ? 505 : 400, "Unsupported protocol version " + version);
        }
        for (int i = 0; i < method.length(); i++) {
            char c = method.charAt(i);
            if (c < 'A' || c > 'Z') {
                throw new BadRequest(400, "Malformed request method");
            }
        }
        if (target.startsWith("http://") || target.startsWith("https://")) { // absolute-form
            int slash = target.indexOf('/', target.indexOf("//") + 2);
            target = slash < 0 ? "/" : target.substring(slash);
        }
        if (!target.startsWith("/")) {
            throw new BadRequest(400, "Request target must be a path");
        }
        int q = target.indexOf('?');
        String rawPath = q < 0 ? target : target.substring(0, q);
        String rawQuery = q < 0 ? null : target.substring(q + 1);
        int hash = rawQuery == null ? -1 : rawQuery.indexOf('#');
        if (hash >= 0) {
            rawQuery = rawQuery.substring(0, hash);
        }
        String[] names = new String[16];
        String[] values = new String[16];
        int count = 0;
        long contentLength = -1;
        String transferEncoding = null;
        int pos = lineEnd + 1;
        while (pos < length) {
            int end = lineEnd(bytes, pos, length);
            int stop = trimCr(bytes, pos, end);
            if (stop == pos) {
                break; // the blank line
            }
            byte first = bytes[pos];
            if (first == ' ' || first == '\t') {
                throw new BadRequest(400, "Folded header lines are not accepted");
            }
            int colon = -1;
            for (int i = pos; i < stop; i++) {
                byte b = bytes[i];
                if (b == ':' && colon < 0) {
                    colon = i;
                } else if ((b < 0x20 && b != '\t') || b == 0x7f) {
                    throw new BadRequest(400, "Control character in a header");
                }
            }
            if (colon <= pos) {
                throw new BadRequest(400, "Malformed header line");
            }
            for (int i = pos; i < colon; i++) {
                if (bytes[i] == ' ' || bytes[i] == '\t') {
                    throw new BadRequest(400, "Whitespace in a header name");
                }
            }
            String name = ascii(bytes, pos, colon).toLowerCase(Locale.ROOT);
            String value = latin1(bytes, colon + 1, stop).strip();
            if (count == names.length) {
                if (count >= 256) {
                    throw new BadRequest(431, "Too many request headers");
                }
                names = java.util.Arrays.copyOf(names, count * 2);
                values = java.util.Arrays.copyOf(values, count * 2);
            }
            names[count] = name;
            values[count] = value;
            count++;
            if (name.equals("content-length")) {
                long parsed = parseLength(value);
                if (contentLength >= 0 && contentLength != parsed) {
                    throw new BadRequest(400, "Conflicting Content-Length headers");
                }
                contentLength = parsed;
            } else if (name.equals("transfer-encoding")) {
                transferEncoding = transferEncoding == null ? value : transferEncoding + "," + value;
            }
            pos = end + 1;
        }
        boolean chunked = false;
        if (transferEncoding != null) {
            if (!transferEncoding.strip().equalsIgnoreCase("chunked")) {
                throw new BadRequest(501, "Unsupported Transfer-Encoding: " + transferEncoding);
            }
            if (contentLength >= 0) {
                throw new BadRequest(400, "Content-Length together with Transfer-Encoding");
            }
            chunked = true;
        }
        return new RequestHead(method, decodePath(rawPath), rawQuery, version.equals("HTTP/1.0"), names, values,
                count, contentLength, chunked);
    }

    private static long parseLength(String value) throws BadRequest {
        if (value.isEmpty() || value.length() > 18) {
            throw new BadRequest(400, "Malformed Content-Length");
        }
        long n = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                throw new BadRequest(400, "Malformed Content-Length");
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    private static String decodePath(String raw) throws BadRequest {
        if (raw.indexOf('%') < 0) {
            return raw;
        }
        byte[] out = new byte[raw.length()];
        int n = 0;
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= raw.length()) {
                    throw new BadRequest(400, "Malformed percent-encoding in the path");
                }
                int hi = Character.digit(raw.charAt(i + 1), 16);
                int lo = Character.digit(raw.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw new BadRequest(400, "Malformed percent-encoding in the path");
                }
                out[n++] = (byte) (hi * 16 + lo);
                i += 2;
            } else {
                out[n++] = (byte) c;
            }
        }
        return new String(out, 0, n, StandardCharsets.UTF_8);
    }

    private static int lineEnd(byte[] bytes, int from, int length) {
        for (int i = from; i < length; i++) {
            if (bytes[i] == '\n') {
                return i;
            }
        }
        return length;
    }

    private static int trimCr(byte[] bytes, int from, int end) {
        return end > from && bytes[end - 1] == '\r' ? end - 1 : end;
    }

    @SuppressWarnings("deprecation")
    private static String ascii(byte[] bytes, int from, int to) {
        return new String(bytes, 0, from, to - from);
    }

    private static String latin1(byte[] bytes, int from, int to) {
        return new String(bytes, from, to - from, StandardCharsets.ISO_8859_1);
    }

    public String method() {
        return method;
    }

    /** The path, percent-decoded. */
    public String path() {
        return path;
    }

    /** The query as sent (not decoded), or null. */
    public String rawQuery() {
        return rawQuery;
    }

    /** The first value of a header (name case-insensitive), or null. */
    public String header(String name) {
        for (int i = 0; i < count; i++) {
            if (names[i].equalsIgnoreCase(name)) {
                return values[i];
            }
        }
        return null;
    }

    /** A header's raw bytes, for constant-time comparisons; null when absent. */
    public byte[] headerBytes(String name) {
        String value = header(name);
        return value == null ? null : value.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The declared body length, or -1 when there is none or it is chunked. */
    public long contentLength() {
        return contentLength;
    }

    public boolean chunked() {
        return chunked;
    }

    /** Whether a body follows the head. */
    public boolean hasBody() {
        return chunked || contentLength > 0;
    }

    boolean wantsClose() {
        String connection = header("connection");
        if (http10) {
            return connection == null || !connection.equalsIgnoreCase("keep-alive");
        }
        return connection != null && connection.toLowerCase(Locale.ROOT).contains("close");
    }

    boolean expectsContinue() {
        String expect = header("expect");
        return expect != null && expect.equalsIgnoreCase("100-continue");
    }
}
