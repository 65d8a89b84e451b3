package dev.agentruntime.server.files;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.server.http.Exchange;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.server.ServerLimits;
import dev.agentruntime.server.files.HttpReplies.HttpError;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.zip.ZipException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file transfer endpoints of the action execution server: {@code POST /upload_file},
 * {@code GET /download_files} and {@code POST /list_files}. Authentication happens before these are called.
 * Every method sends exactly one response and closes the exchange; bad input is a 4xx with
 * {@code {"detail": "..."}} (OpenHands wraps these in a 500; we answer with the status it meant).
 *
 * <p>Uploads and downloads stream: an upload goes from the socket to a temporary file next to its destination
 * in {@value MultipartStream#CHUNK}-byte chunks, a download is zipped straight onto the socket, so file sizes are
 * bounded by the disk, not the heap.
 */
public final class TransferHandlers {

    private static final Logger LOG = LoggerFactory.getLogger(TransferHandlers.class);
    private static final int MAX_LIST_BODY_BYTES = 1024 * 1024;

    private final Path initialCwd;
    private final ZipSafety.Caps caps;

    /** @param initialCwd the server's working directory, used for {@code /list_files} without or with a relative path */
    public TransferHandlers(Path initialCwd) {
        this(initialCwd, ServerLimits.defaults());
    }

    public TransferHandlers(Path initialCwd, ServerLimits limits) {
        this.initialCwd = Objects.requireNonNull(initialCwd, "initialCwd").toAbsolutePath();
        this.caps = new ZipSafety.Caps(limits.maxUploadEntries(), limits.maxUploadExpandedBytes(),
                limits.maxUploadRatio(), ServerLimits.RATIO_GRACE_BYTES);
    }

    // ------------------------------------------------------------------ upload

    /**
     * {@code POST /upload_file?destination=<abs dir>&recursive=<bool>} with multipart field {@code file}. The
     * destination directory is created if missing (and removed again if the upload is refused). A {@code .zip} (or any upload with {@code recursive=true},
     * which must then be a zip) is checked entry by entry and extracted into the destination; anything else is
     * saved as {@code destination/filename}.
     */
    public void upload(Exchange ex) {
        respond(ex, () -> {
            HttpReplies.requireMethod(ex, "POST");
            Map<String, String> query = HttpReplies.query(ex);
            String destination = query.get("destination");
            if (destination == null || destination.isEmpty()) {
                throw new HttpError(400, "Missing query parameter: destination");
            }
            if (!destination.startsWith("/")) {
                throw new HttpError(400, "Destination must be an absolute path");
            }
            boolean recursive = HttpReplies.bool(query, "recursive", false);
            Path dest = path(destination);
            String boundary = boundary(ex);
            if (Files.exists(dest) && !Files.isDirectory(dest)) {
                throw new HttpError(400, "Destination is not a directory: " + destination);
            }
            List<Path> created = missingDirectories(dest);
            String filename;
            boolean saved = false;
            try {
                createDirectories(dest);
                filename = receive(ex.requestBody(), boundary, dest, recursive);
                saved = true;
            } finally {
                if (!saved) {
                    removeIfEmpty(created); // a refused upload leaves no trace, not even its destination
                }
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("filename", filename);
            body.put("destination", destination);
            body.put("recursive", recursive);
            HttpReplies.json(ex, 200, body);
        });
    }

    /** Reads the multipart body and saves or extracts its {@code file} part into {@code dest}; returns the filename. */
    private String receive(InputStream body, String boundary, Path dest, boolean recursive)
            throws IOException, HttpError {
        MultipartStream parts = new MultipartStream(body, boundary);
        MultipartStream.Part file = nextFilePart(parts);
        String filename = safeFilename(file.filename());
        boolean zip = recursive || filename.endsWith(".zip");
        if (zip && !filename.endsWith(".zip")) {
            throw new HttpError(400, "Uploaded file is not a zip file.");
        }
        Path tmp = Files.createTempFile(dest, ".upload-", ".part");
        try {
            copy(file.body(), tmp);
            while (parts.next() != null) {
                // read to the closing boundary so the request is consumed completely
            }
            if (zip) {
                ZipExtraction.extract(tmp, dest, ZipSafety.validate(tmp, caps), caps);
            } else {
                moveIntoPlace(tmp, dest.resolve(filename));
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return filename;
    }

    /** {@code dir} and those of its ancestors that do not exist yet, deepest first ({@code .}/{@code ..} skipped). */
    private static List<Path> missingDirectories(Path dir) {
        List<Path> missing = new ArrayList<>();
        for (Path p = dir.toAbsolutePath(); p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS); p = p.getParent()) {
            Path name = p.getFileName();
            if (name != null && !name.toString().equals(".") && !name.toString().equals("..")) {
                missing.add(p);
            }
        }
        return missing;
    }

    /** Removes these directories, deepest first, stopping at the first that is not empty (or cannot be removed). */
    private static void removeIfEmpty(List<Path> directories) {
        for (Path dir : directories) {
            try {
                Files.deleteIfExists(dir);
            } catch (IOException | RuntimeException e) {
                LOG.debug("left {} in place after a refused upload: {}", dir, e.toString());
                return;
            }
        }
    }

    private static String boundary(Exchange ex) throws HttpError {
        try {
            return MultipartStream.boundaryOf(ex.requestHeader("Content-Type"));
        } catch (MultipartStream.MalformedException e) {
            throw new HttpError(400, "Expected a multipart/form-data body: " + e.getMessage());
        }
    }

    private static MultipartStream.Part nextFilePart(MultipartStream parts) throws IOException, HttpError {
        for (MultipartStream.Part part; (part = parts.next()) != null; ) {
            if ("file".equals(part.name())) {
                if (part.filename() == null) {
                    throw new HttpError(400, "Form field 'file' must be a file upload (with a filename)");
                }
                return part;
            }
        }
        throw new HttpError(400, "Missing form field 'file'");
    }

    /** The last path segment of the client's filename: uploads never leave their destination directory. */
    private static String safeFilename(String filename) throws HttpError {
        String name = filename.substring(Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\')) + 1);
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('\0') >= 0) {
            throw new HttpError(400, "Invalid upload filename: '" + filename + "'");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > ZipSafety.MAX_NAME_BYTES) {
            throw new HttpError(400, "Invalid upload filename: longer than " + ZipSafety.MAX_NAME_BYTES
                    + " bytes, the longest file name the file system takes");
        }
        return name;
    }

    private static void copy(InputStream in, Path file) throws IOException {
        byte[] chunk = new byte[MultipartStream.CHUNK];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int n; (n = in.read(chunk)) >= 0; ) {
                out.write(chunk, 0, n);
            }
        }
    }

    private static void moveIntoPlace(Path tmp, Path target) throws IOException, HttpError {
        if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new HttpError(409, "Cannot save upload as " + target + ": a directory of that name exists");
        }
        // the temporary file was made 0600; the upload gets what a file created with the usual umask 022 gets
        try {
            Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void createDirectories(Path dir) throws IOException, HttpError {
        try {
            Files.createDirectories(dir);
        } catch (AccessDeniedException e) {
            throw e;
        } catch (FileSystemException e) {
            // An existing file on the way ("File exists", "Not a directory"): the destination cannot be a directory.
            throw new HttpError(400, "Destination is not a directory: " + dir);
        }
    }

    // ------------------------------------------------------------------ download

    /**
     * {@code GET /download_files?path=<abs>}: a zip of the file, or of the files under the directory, streamed
     * as {@code <basename>.zip}.
     */
    public void download(Exchange ex) {
        respond(ex, () -> {
            HttpReplies.requireMethod(ex, "GET");
            String raw = HttpReplies.query(ex).get("path");
            if (raw == null || raw.isEmpty()) {
                throw new HttpError(400, "Missing query parameter: path");
            }
            if (!raw.startsWith("/")) {
                throw new HttpError(400, "Path must be absolute");
            }
            Path source = path(raw);
            if (!Files.exists(source)) {
                throw new HttpError(404, "File not found: " + raw);
            }
            if (!Files.isDirectory(source) && !Files.isRegularFile(source)) {
                throw new HttpError(400, "Not a regular file or directory (a FIFO, socket or device): " + raw);
            }
            Path name = source.normalize().getFileName();
            ex.responseHeader("Content-Type", "application/zip");
            ex.responseHeader("Content-Disposition", attachment((name == null ? "" : name) + ".zip"));
            ex.sendResponseHeaders(200, 0);
            try (OutputStream out = ex.responseBody()) {
                ZipStreaming.write(source, out);
            }
        });
    }

    /** Starlette's FileResponse header: a plain quoted filename, or RFC 5987 {@code filename*} when quoting changes it. */
    static String attachment(String filename) {
        StringBuilder quoted = new StringBuilder();
        for (byte b : filename.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            boolean safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '_' || c == '.' || c == '-' || c == '~' || c == '/';
            quoted.append(safe ? String.valueOf((char) c) : String.format("%%%02X", c));
        }
        return quoted.toString().equals(filename)
                ? "attachment; filename=\"" + filename + "\""
                : "attachment; filename*=utf-8''" + quoted;
    }

    // ------------------------------------------------------------------ list

    /**
     * {@code POST /list_files} with {@code {"path": <optional>}}: the directory's entries, directories first with
     * a trailing {@code /}, each group sorted case-insensitively, hidden entries included; {@code []} when the
     * path is not a directory.
     */
    public void list(Exchange ex) {
        respond(ex, () -> {
            HttpReplies.requireMethod(ex, "POST");
            JsonNode body = jsonBody(ex);
            JsonNode pathNode = body.get("path");
            Path dir;
            if (pathNode == null || pathNode.isNull()) {
                dir = initialCwd;
            } else if (!pathNode.isTextual()) {
                throw new HttpError(400, "Field 'path' must be a string or null");
            } else {
                dir = initialCwd.resolve(path(pathNode.asText()));
            }
            HttpReplies.json(ex, 200, listDirectory(dir));
        });
    }

    private static JsonNode jsonBody(Exchange ex) throws IOException, HttpError {
        byte[] bytes = ex.requestBody().readNBytes(MAX_LIST_BODY_BYTES + 1);
        if (bytes.length > MAX_LIST_BODY_BYTES) {
            throw new HttpError(413, "Request body too large");
        }
        JsonNode node;
        try {
            node = bytes.length == 0 ? null : WireCodec.MAPPER.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new HttpError(400, "Malformed JSON body: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new HttpError(400, "Request body must be a JSON object like {\"path\": \"/workspace\"}");
        }
        return node;
    }

    static List<String> listDirectory(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<String> dirs = new ArrayList<>();
        List<String> files = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                (Files.isDirectory(entry) ? dirs : files).add(name);
            }
        } catch (IOException e) {
            return List.of();
        }
        Comparator<String> caseInsensitive = Comparator.<String, String>comparing(s -> s.toLowerCase(Locale.ROOT))
                .thenComparing(Comparator.naturalOrder());
        dirs.sort(caseInsensitive);
        files.sort(caseInsensitive);
        List<String> out = new ArrayList<>(dirs.size() + files.size());
        dirs.forEach(d -> out.add(d + "/"));
        out.addAll(files);
        return out;
    }

    // ------------------------------------------------------------------ plumbing

    private static Path path(String raw) throws HttpError {
        try {
            return Path.of(raw);
        } catch (InvalidPathException e) {
            throw new HttpError(400, "Invalid path: " + e.getMessage());
        }
    }

    private interface Handler {
        void handle() throws IOException, HttpError;
    }

    /**
     * Runs a handler and makes sure the exchange gets exactly one response and is closed. A failure after the
     * status line went out (a download that breaks mid-stream) cannot become an error reply any more: it is
     * rethrown, and the JDK server then drops the connection, so the client sees a truncated body rather than a
     * complete-looking but broken zip.
     */
    private static void respond(Exchange ex, Handler handler) {
        boolean abort = false;
        try {
            handler.handle();
        } catch (HttpError e) {
            replyError(ex, e.status, e.getMessage());
        } catch (ZipSafety.ZipLimitException e) {
            replyError(ex, 413, e.getMessage());
        } catch (ZipSafety.UnsafeZipException e) {
            replyError(ex, 400, e.getMessage());
        } catch (ZipExtraction.ConflictException e) {
            replyError(ex, 409, e.getMessage());
        } catch (MultipartStream.MalformedException e) {
            replyError(ex, 400, "Malformed multipart body: " + e.getMessage());
        } catch (ZipException e) {
            replyError(ex, 400, "Uploaded file is not a valid zip archive: " + e.getMessage());
        } catch (FileAlreadyExistsException | NotDirectoryException e) {
            replyError(ex, 400, "The archive contains conflicting entries: " + e.getMessage());
        } catch (AccessDeniedException e) {
            replyError(ex, 403, "Permission denied: " + e.getFile());
        } catch (FileSystemException e) {
            // ENAMETOOLONG, ENOSPC, EROFS and friends: the request cannot be carried out here, the server is fine
            replyError(ex, 400, "Cannot write " + e.getFile() + ": " + e.getReason());
        } catch (IOException | RuntimeException e) {
            LOG.warn("{} {} failed", ex.method(), ex.path(), e);
            abort = HttpReplies.responseStarted(ex);
            if (abort) {
                throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
            }
            replyError(ex, 500, "Internal server error: " + e);
        } finally {
            if (!abort) {
                ex.close();
            }
        }
    }

    private static void replyError(Exchange ex, int status, String detail) {
        if (HttpReplies.responseStarted(ex)) {
            return;
        }
        try {
            HttpReplies.error(ex, status, detail);
        } catch (IOException e) {
            LOG.debug("could not send the {} reply", status, e);
        }
    }
}
