package dev.agentruntime.server.files;

import dev.agentruntime.ErrorObservation;
import dev.agentruntime.FileEditAction;
import dev.agentruntime.FileEditObservation;
import dev.agentruntime.FileReadAction;
import dev.agentruntime.FileReadAction.ImplSource;
import dev.agentruntime.FileReadObservation;
import dev.agentruntime.FileWriteAction;
import dev.agentruntime.FileWriteObservation;
import dev.agentruntime.Observation;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The server side of the file actions: {@code read}, {@code write} and {@code edit}, answering with the
 * observations and message texts the OpenHands action execution server produces. Domain failures (a missing
 * file, a binary file, an editor error) are observations, never exceptions.
 *
 * <pre>{@code
 * FileService files = new FileService(Path.of("/workspace"));
 * Observation obs = files.read(FileReadAction.of("README.md"), shell.cwd());
 * files.edit(FileEditAction.strReplace("/workspace/app.py", "old", "new"), args.get("insert_line"));
 * }</pre>
 *
 * <p>Thread-safe. Reads run concurrently; writes and edits run one at a time. Writes replace files atomically,
 * so a concurrent read sees the old or the new content, never a mix.
 */
public final class FileService {

    /** The extensions OpenHands returns as {@code data:} URLs, with the media type Python's mimetypes gives them. */
    private static final String[][] MEDIA_TYPES = {
        {".png", "image/png"}, {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".bmp", "image/bmp"},
        {".gif", "image/gif"}, {".pdf", "application/pdf"}, {".mp4", "video/mp4"}, {".webm", "video/webm"},
        {".ogg", "audio/ogg"}, // mimetypes answers audio/ogg for .ogg, even on OpenHands' "video" branch
    };

    /** The default limit on a file read whole or rewritten: OHEditor's 10 MB (the server passes its configured one). */
    public static final long DEFAULT_MAX_FILE_BYTES = FileEditor.MAX_FILE_SIZE_BYTES;

    private final FileEditor editor;
    private final long maxFileBytes;
    private final ReentrantLock mutations = new ReentrantLock();

    /** @param workspaceRoot the sandbox working directory; the editor suggests absolute paths relative to it */
    public FileService(Path workspaceRoot) {
        this(workspaceRoot, DEFAULT_MAX_FILE_BYTES);
    }

    /**
     * @param maxFileBytes the largest file read whole (larger: read a range of lines, which streams), the largest
     *                     existing file a {@code write} with a line range rewrites, the largest file the editor opens
     */
    public FileService(Path workspaceRoot, long maxFileBytes) {
        this.editor = new FileEditor(Objects.requireNonNull(workspaceRoot, "workspaceRoot"), maxFileBytes);
        this.maxFileBytes = maxFileBytes;
    }

    // ------------------------------------------------------------------ read

    /** Reads a file; a relative path resolves against {@code shellCwd}, the shell session's current directory. */
    public Observation read(FileReadAction action, Path shellCwd) {
        String cwd = Py.path(shellCwd.toAbsolutePath().toString());
        if (action.implSource() == ImplSource.OH_ACI) {
            return readThroughEditor(action, cwd);
        }
        String path = resolve(action.path(), cwd);
        Path file = Py.fs(path).orElse(null);
        if (file == null || !Files.exists(file)) {
            return ErrorObservation.of("File not found: " + path + ". Your current working directory is " + cwd + ".");
        }
        if (Files.isDirectory(file)) {
            return ErrorObservation.of("Path is a directory: " + path + ". You can only read files");
        }
        if (!Files.isRegularFile(file)) {
            return notRegular(path);
        }
        try {
            long size = Files.size(file);
            // OpenHands sniffs for binary content before looking at the extension, which turns every real
            // image into ERROR_BINARY_FILE; we serve the media types it evidently meant to serve first.
            String mime = mediaType(path);
            if (mime != null) {
                if (size > maxFileBytes * 3 / 4) {
                    return tooLarge(path, size, maxFileBytes * 3 / 4, "download it with /download_files");
                }
                return new FileReadObservation(dataUrl(file, mime), path, ImplSource.DEFAULT);
            }
            if (TextFiles.looksBinary(file)) {
                return ErrorObservation.of("ERROR_BINARY_FILE");
            }
            boolean whole = action.start() <= 0 && action.end() == -1;
            if (size > maxFileBytes) {
                if (whole) {
                    return tooLarge(path, size, maxFileBytes, "read a range of lines with start and end (ranges of"
                            + " any file are read as a stream), or download it with /download_files");
                }
                return readRange(file, path, action.start(), action.end());
            }
            String text;
            try {
                text = TextFiles.decode(Files.readAllBytes(file), StandardCharsets.UTF_8);
            } catch (CharacterCodingException e) {
                return ErrorObservation.of("File could not be decoded as utf-8: " + path + ".");
            }
            text = Py.universalNewlines(text);
            if (whole) {
                return new FileReadObservation(text, path, ImplSource.DEFAULT); // the join of all lines is the text
            }
            List<String> lines = sliceLines(Py.readLines(text), action.start(), action.end());
            return new FileReadObservation(String.join("", lines), path, ImplSource.DEFAULT);
        } catch (IOException e) {
            return ErrorObservation.of(Py.osError(e, path));
        }
    }

    /**
     * Lines {@code start..end} of a file too large to hold whole: one streaming pass counts the lines (the slice's
     * bounds depend on the count, as in {@link #sliceLines}), a second collects the slice, which must itself fit the
     * limit.
     */
    private Observation readRange(Path file, String path, int start, int end) throws IOException {
        int[] count = new int[1];
        try {
            TextFiles.forEachLine(file, line -> {
                count[0]++;
                return true;
            });
            int n = count[0];
            int[] bounds = sliceBounds(n, start, end);
            StringBuilder out = new StringBuilder();
            int[] index = new int[1];
            long[] chars = new long[1];
            boolean[] overflow = new boolean[1];
            TextFiles.forEachLine(file, line -> {
                int i = index[0]++;
                if (i >= bounds[1]) {
                    return false;
                }
                if (i >= bounds[0]) {
                    chars[0] += line.length();
                    if (chars[0] > maxFileBytes) {
                        overflow[0] = true;
                        return false;
                    }
                    out.append(line);
                }
                return true;
            });
            if (overflow[0]) {
                return tooLarge(path, Files.size(file), maxFileBytes, "read a smaller range of lines");
            }
            return new FileReadObservation(out.toString(), path, ImplSource.DEFAULT);
        } catch (CharacterCodingException e) {
            return ErrorObservation.of("File could not be decoded as utf-8: " + path + ".");
        }
    }

    /** [begin, stop) of {@link #sliceLines} for {@code n} lines. */
    static int[] sliceBounds(int n, int start, int end) {
        start = Math.min(Math.max(start, 0), n);
        if (end == -1) {
            return new int[] {start, n};
        }
        end = Math.min(Math.max(end, 0), n);
        int begin = Math.max(0, Math.min(start, n - 2));
        int stop = Math.min(Math.max(begin + 1, end), n);
        return begin >= stop ? new int[] {0, 0} : new int[] {begin, stop};
    }

    private static Observation notRegular(String path) {
        return ErrorObservation.of("Not a regular file: " + path + " is a FIFO, socket or device, and reading or"
                + " writing it could block for ever. Use a command with a timeout instead, e.g. timeout 5 cat " + path);
    }

    private static Observation tooLarge(String path, long size, long limit, String instead) {
        return ErrorObservation.of("File too large: " + path + " is " + size + " bytes, more than the limit of " + limit
                + " bytes for this action (AGENT_RUNTIME_MAX_FILE_BYTES); " + instead + ".");
    }

    private Observation readThroughEditor(FileReadAction action, String cwd) {
        Path sniffed = Py.fs(resolve(action.path(), cwd)).orElse(null);
        try {
            if (sniffed != null && Files.isRegularFile(sniffed) && TextFiles.looksBinary(sniffed)) {
                return ErrorObservation.of("ERROR_BINARY_FILE");
            }
        } catch (IOException e) {
            // Unreadable: let the editor report it in its own words.
        }
        String content;
        try {
            content = editor.run("view", action.path(), null, action.viewRange(), null, null, null).output();
        } catch (EditorException e) {
            content = "ERROR:\n" + e.getMessage();
        }
        return new FileReadObservation(content, action.path(), ImplSource.OH_ACI);
    }

    /**
     * The {@code data:} URL media type for the extensions OpenHands serves that way (it tests
     * {@code path.lower().endswith(...)} and asks Python's mimetypes), or null for anything else.
     */
    private static String mediaType(String path) {
        String lower = path.toLowerCase(Locale.ROOT);
        for (String[] type : MEDIA_TYPES) {
            if (lower.endsWith(type[0])) {
                return type[1];
            }
        }
        return null;
    }

    private static String dataUrl(Path file, String mime) throws IOException {
        return "data:" + mime + ";base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(file));
    }

    /** {@code read_lines(lines, start, end)} from {@code openhands/runtime/utils/files.py}, quirks included. */
    static List<String> sliceLines(List<String> lines, int start, int end) {
        int n = lines.size();
        start = Math.min(Math.max(start, 0), n);
        if (end != -1) {
            end = Math.min(Math.max(end, 0), n);
        }
        if (end == -1) {
            return lines.subList(start, n);
        }
        int begin = Math.max(0, Math.min(start, n - 2));
        int stop = Math.min(Math.max(begin + 1, end), n);
        return begin >= stop ? List.of() : lines.subList(begin, stop);
    }

    // ------------------------------------------------------------------ write

    /**
     * Writes a file; a relative path resolves against {@code shellCwd}. Missing parent directories are created.
     * A new file gets every line of the content followed by a newline and mode 0664; an existing file has
     * lines {@code start..end} replaced ({@code 0, -1}: all of it) and keeps its mode and owner.
     */
    public Observation write(FileWriteAction action, Path shellCwd) {
        String cwd = Py.path(shellCwd.toAbsolutePath().toString());
        String path = resolve(action.path(), cwd);
        Path file = Py.fs(path).orElse(null);
        if (file == null) {
            return ErrorObservation.of("File not found: " + path);
        }
        mutations.lock();
        try {
            Path parent = file.getParent();
            if (parent != null && !Files.exists(parent)) {
                Files.createDirectories(parent);
            }
            if (Files.isDirectory(file)) {
                return ErrorObservation.of("Path is a directory: " + path + ". You can only write to files");
            }
            boolean exists = Files.exists(file);
            if (exists && !Files.isRegularFile(file)) {
                return notRegular(path);
            }
            if (!exists || (action.start() == 0 && action.end() == -1)) {
                // Every line of the content, each followed by a newline, is the content plus one newline: no copies.
                if (exists) {
                    try {
                        TextFiles.forEachLine(file, line -> true); // OpenHands refuses to replace an undecodable file
                    } catch (CharacterCodingException e) {
                        return ErrorObservation.of("File could not be decoded as utf-8: " + path);
                    }
                }
                byte[] content = action.content().getBytes(StandardCharsets.UTF_8);
                byte[] data = java.util.Arrays.copyOf(content, content.length + 1);
                data[content.length] = '\n';
                content = null;
                AtomicFiles.write(file, data, AtomicFiles.MODE_0664);
                return new FileWriteObservation("", path);
            }
            if (Files.size(file) > maxFileBytes) {
                return tooLarge(path, Files.size(file), maxFileBytes, "rewrite the whole file (start 0, end -1), or"
                        + " edit it with a command");
            }
            List<String> insert = List.of(action.content().split("\n", -1));
            StringBuilder out = new StringBuilder();
            if (exists) {
                String existing;
                try {
                    existing = TextFiles.decode(Files.readAllBytes(file), StandardCharsets.UTF_8);
                } catch (CharacterCodingException e) {
                    return ErrorObservation.of("File could not be decoded as utf-8: " + path);
                }
                insertLines(insert, Py.readLines(Py.universalNewlines(existing)), action.start(), action.end())
                        .forEach(out::append);
            } else {
                insert.forEach(line -> out.append(line).append('\n'));
            }
            AtomicFiles.write(file, out.toString().getBytes(StandardCharsets.UTF_8), AtomicFiles.MODE_0664);
            return new FileWriteObservation("", path);
        } catch (AtomicFiles.AttributesNotApplied e) {
            return ErrorObservation.of("File " + path + " written, but failed to change ownership and permissions: "
                    + Py.osError(e.failure(), path));
        } catch (java.nio.file.NoSuchFileException e) {
            return ErrorObservation.of("File not found: " + path);
        } catch (IOException e) {
            return ErrorObservation.of(Py.osError(e, path));
        } finally {
            mutations.unlock();
        }
    }

    /** {@code insert_lines(to_insert, original, start, end)}, with Python's slice semantics for the bounds. */
    static List<String> insertLines(List<String> toInsert, List<String> original, int start, int end) {
        List<String> out = new ArrayList<>(start == 0 ? List.of() : pySlice(original, null, start));
        toInsert.forEach(line -> out.add(line + "\n"));
        if (end != -1) {
            out.addAll(pySlice(original, end, null));
        }
        return out;
    }

    /** {@code list[from:to]}: negative bounds count from the end, out-of-range bounds clamp. */
    private static List<String> pySlice(List<String> list, Integer from, Integer to) {
        int n = list.size();
        int a = from == null ? 0 : from < 0 ? Math.max(0, n + from) : Math.min(from, n);
        int b = to == null ? n : to < 0 ? Math.max(0, n + to) : Math.min(to, n);
        return a >= b ? List.of() : list.subList(a, b);
    }

    // ------------------------------------------------------------------ edit

    /**
     * Runs an editor command ({@code impl_source oh_aci}). {@code rawInsertLine} is the raw JSON value of
     * {@code args.insert_line}: an Integer, a numeric String (accepted, as OpenHands does), any other String
     * (answered with an error), or null (then {@code action.insertLine()} is used).
     */
    public Observation edit(FileEditAction action, Object rawInsertLine) {
        if (action.implSource() != ImplSource.OH_ACI) {
            return ErrorObservation.of("The action execution server only runs oh_aci edits; impl_source "
                    + action.implSource().wire() + " is applied by the client.");
        }
        Object raw = rawInsertLine != null ? rawInsertLine : action.insertLine();
        Long insertLine;
        try {
            insertLine = insertLine(raw);
        } catch (NumberFormatException e) {
            return editObservation(action, existed(action.path()),
                    "ERROR:\nInvalid insert_line value: '" + raw + "'. Expected an integer.", "");
        }
        mutations.lock();
        try {
            boolean prevExist = existed(action.path());
            FileEditor.Result result = editor.run(action.command(), action.path(), action.fileText(), null,
                    action.oldStr(), action.newStr(), insertLine);
            String oldContent = result.oldContent() == null ? "" : result.oldContent();
            String newContent = result.newContent() == null ? "" : result.newContent();
            return editObservation(action, prevExist, result.output(),
                    UnifiedDiff.of(oldContent, newContent, action.path()));
        } catch (EditorException e) {
            return editObservation(action, existed(action.path()), "ERROR:\n" + e.getMessage(), "");
        } finally {
            mutations.unlock();
        }
    }

    /**
     * {@code prev_exist} says whether the path existed before the command (OpenHands' server always sends false for
     * oh_aci edits; the field is kept and made true, see docs/PROTOCOL.md).
     */
    private static FileEditObservation editObservation(FileEditAction action, boolean prevExist, String content,
                                                       String diff) {
        return new FileEditObservation(content, action.path(), prevExist, action.oldStr(), action.newStr(),
                ImplSource.OH_ACI, diff);
    }

    /** Whether an absolute editor path exists (relative paths are rejected by the editor, so: false). */
    private static boolean existed(String path) {
        try {
            java.nio.file.Path resolved = java.nio.file.Path.of(path);
            return resolved.isAbsolute() && java.nio.file.Files.exists(resolved);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** {@code int(value)} for a JSON number or string: surrounding whitespace, a sign and {@code _} separators are fine. */
    static Long insertLine(Object raw) {
        if (raw == null) {
            return null;
        }
        if (raw instanceof Integer || raw instanceof Long || raw instanceof Short || raw instanceof Byte) {
            return ((Number) raw).longValue();
        }
        if (raw instanceof Number n) {
            double d = n.doubleValue();
            if (d == Math.rint(d) && !Double.isInfinite(d)) {
                return (long) d;
            }
            throw new NumberFormatException(raw.toString());
        }
        String s = Py.strip(raw.toString());
        if (!s.matches("[+-]?[0-9]+(_[0-9]+)*")) {
            throw new NumberFormatException(s);
        }
        return Long.parseLong(s.replace("_", ""));
    }

    // ------------------------------------------------------------------ paths

    /** OpenHands' {@code _resolve_path}: {@code str(Path(cwd) / path)} for a relative path, else {@code str(Path(path))}. */
    private static String resolve(String path, String cwd) {
        return path.startsWith("/") ? Py.path(path) : Py.join(cwd, path);
    }
}
