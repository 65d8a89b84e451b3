package dev.agentruntime.server.files;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Reads a {@code multipart/form-data} body part by part as it arrives (RFC 7578 / RFC 2046). Part bodies are
 * exposed as streams that end at the next boundary, so a part of any size passes through a fixed buffer of
 * about {@value #CHUNK} bytes: nothing is buffered whole.
 *
 * <pre>{@code
 * MultipartStream parts = new MultipartStream(request, MultipartStream.boundaryOf(contentType));
 * for (MultipartStream.Part part; (part = parts.next()) != null; ) {
 *     if ("file".equals(part.name())) part.body().transferTo(out);
 * }
 * }</pre>
 */
final class MultipartStream {

    static final int CHUNK = 64 * 1024;
    private static final int MAX_HEADER_BYTES = 16 * 1024;
    private static final int MAX_PARTS = 1000;

    /** The body is not well-formed multipart; the message says how. */
    static final class MalformedException extends IOException {
        private static final long serialVersionUID = 1L;

        MalformedException(String message) {
            super(message);
        }
    }

    /** One part: lower-cased header names, the form field name, the filename (null for a plain field), the body. */
    record Part(Map<String, String> headers, String name, String filename, InputStream body) {
    }

    private final InputStream in;
    private final byte[] delimiter;
    private final byte[] buf;
    private int pos;
    private int lim;
    private boolean bodyDone;
    private boolean finished;
    private int parts;
    private BodyStream current;

    MultipartStream(InputStream in, String boundary) {
        this.in = in;
        this.delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        this.buf = new byte[CHUNK + delimiter.length];
        // Pretend the body starts with CRLF, so the first boundary looks like every other delimiter and the
        // preamble before it is just a body we skip.
        buf[0] = '\r';
        buf[1] = '\n';
        lim = 2;
        current = new BodyStream();
    }

    /**
     * The boundary parameter of a {@code multipart/form-data} Content-Type, or throws when the header is not one.
     */
    static String boundaryOf(String contentType) throws MalformedException {
        if (contentType == null) {
            throw new MalformedException("missing Content-Type, expected multipart/form-data");
        }
        Map<String, String> params = new LinkedHashMap<>();
        String type = parseHeaderValue(contentType, params);
        if (!type.equalsIgnoreCase("multipart/form-data")) {
            throw new MalformedException("Content-Type is " + type + ", expected multipart/form-data");
        }
        String boundary = params.get("boundary");
        if (boundary == null || boundary.isEmpty() || boundary.length() > 200) {
            throw new MalformedException("multipart/form-data without a valid boundary parameter");
        }
        return boundary;
    }

    /** The next part (the unread rest of the previous one is skipped), or null after the closing boundary. */
    Part next() throws IOException {
        if (finished) {
            return null;
        }
        current.skipRest();
        int a = readByte();
        int b = readByte();
        if (a == '-' && b == '-') {
            finished = true;
            return null;
        }
        while (a == ' ' || a == '\t') { // transport padding after the boundary
            a = b;
            b = readByte();
        }
        if (a != '\r' || b != '\n') {
            throw new MalformedException("expected CRLF after a boundary");
        }
        if (++parts > MAX_PARTS) {
            throw new MalformedException("more than " + MAX_PARTS + " parts");
        }
        Map<String, String> headers = readHeaders();
        Map<String, String> disposition = new LinkedHashMap<>();
        String dispositionType = parseHeaderValue(headers.getOrDefault("content-disposition", ""), disposition);
        if (!dispositionType.equalsIgnoreCase("form-data")) {
            throw new MalformedException("part without Content-Disposition: form-data");
        }
        String filename = disposition.get("filename");
        String extended = disposition.get("filename*");
        if (extended != null && extended.toLowerCase(Locale.ROOT).startsWith("utf-8''")) {
            filename = URLDecoder.decode(extended.substring(7).replace("+", "%2B"), StandardCharsets.UTF_8);
        }
        bodyDone = false;
        current = new BodyStream();
        return new Part(headers, disposition.get("name"), filename, current);
    }

    private Map<String, String> readHeaders() throws IOException {
        Map<String, String> headers = new LinkedHashMap<>();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int total = 0;
        String last = null;
        while (true) {
            int c = readByte();
            if (c < 0) {
                throw new MalformedException("body ended inside part headers");
            }
            if (++total > MAX_HEADER_BYTES) {
                throw new MalformedException("part headers larger than " + MAX_HEADER_BYTES + " bytes");
            }
            if (c != '\n') {
                line.write(c);
                continue;
            }
            String text = line.toString(StandardCharsets.UTF_8);
            line.reset();
            if (text.endsWith("\r")) {
                text = text.substring(0, text.length() - 1);
            }
            if (text.isEmpty()) {
                return headers;
            }
            if ((text.charAt(0) == ' ' || text.charAt(0) == '\t') && last != null) {
                headers.merge(last, " " + text.strip(), String::concat); // obsolete line folding
                continue;
            }
            int colon = text.indexOf(':');
            if (colon <= 0) {
                throw new MalformedException("malformed part header line");
            }
            last = text.substring(0, colon).strip().toLowerCase(Locale.ROOT);
            headers.put(last, text.substring(colon + 1).strip());
        }
    }

    /**
     * Splits {@code type; a=b; c="d e"} into the leading value (returned) and its parameters (names lower-cased,
     * quoted strings unquoted, backslash escapes resolved).
     */
    static String parseHeaderValue(String value, Map<String, String> params) {
        int i = value.indexOf(';');
        String head = (i < 0 ? value : value.substring(0, i)).strip();
        while (i >= 0 && i < value.length()) {
            int start = i + 1;
            int eq = value.indexOf('=', start);
            int semi = value.indexOf(';', start);
            if (eq < 0 || (semi >= 0 && semi < eq)) {
                i = semi;
                continue;
            }
            String key = value.substring(start, eq).strip().toLowerCase(Locale.ROOT);
            int j = eq + 1;
            while (j < value.length() && (value.charAt(j) == ' ' || value.charAt(j) == '\t')) {
                j++;
            }
            StringBuilder v = new StringBuilder();
            if (j < value.length() && value.charAt(j) == '"') {
                j++;
                while (j < value.length() && value.charAt(j) != '"') {
                    char c = value.charAt(j);
                    if (c == '\\' && j + 1 < value.length() && (value.charAt(j + 1) == '"' || value.charAt(j + 1) == '\\')) {
                        c = value.charAt(++j);
                    }
                    v.append(c);
                    j++;
                }
                i = value.indexOf(';', j);
            } else {
                int end = value.indexOf(';', j);
                v.append(value, j, end < 0 ? value.length() : end);
                i = end;
            }
            params.putIfAbsent(key, key.equals("filename") ? v.toString() : v.toString().strip());
        }
        return head;
    }

    // ------------------------------------------------------------------ buffer

    private int readByte() throws IOException {
        if (pos == lim && !fill()) {
            return -1;
        }
        return buf[pos++] & 0xff;
    }

    /** Compacts the buffer and reads more; false at the end of the input. */
    private boolean fill() throws IOException {
        if (pos > 0) {
            System.arraycopy(buf, pos, buf, 0, lim - pos);
            lim -= pos;
            pos = 0;
        }
        int r = in.read(buf, lim, buf.length - lim);
        if (r < 0) {
            return false;
        }
        lim += r;
        return true;
    }

    private int indexOfDelimiter() {
        int last = lim - delimiter.length;
        outer:
        for (int i = pos; i <= last; i++) {
            if (buf[i] != '\r') {
                continue;
            }
            for (int k = 1; k < delimiter.length; k++) {
                if (buf[i + k] != delimiter[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** The current part's body: ends (EOF) where the next delimiter starts; the delimiter is consumed. */
    private final class BodyStream extends InputStream {

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] dst, int off, int len) throws IOException {
            if (current != this || bodyDone) {
                return -1;
            }
            if (len == 0) {
                return 0;
            }
            while (true) {
                int at = indexOfDelimiter();
                if (at == pos) {
                    pos += delimiter.length;
                    bodyDone = true;
                    return -1;
                }
                // Bytes before a found delimiter are body; without one, all but a possible delimiter prefix are.
                int available = at >= 0 ? at - pos : lim - pos - (delimiter.length - 1);
                if (available > 0) {
                    int n = Math.min(len, available);
                    System.arraycopy(buf, pos, dst, off, n);
                    pos += n;
                    return n;
                }
                if (!fill()) {
                    throw new MalformedException("body ended before the closing boundary");
                }
            }
        }

        void skipRest() throws IOException {
            byte[] sink = new byte[8192];
            while (read(sink, 0, sink.length) >= 0) {
                // discard
            }
        }
    }
}
