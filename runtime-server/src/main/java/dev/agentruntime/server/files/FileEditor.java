package dev.agentruntime.server.files;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The {@code str_replace_editor} the agent edits files with: {@code view}, {@code create}, {@code str_replace},
 * {@code insert} and {@code undo_edit}, answering with the same texts as openhands-aci 0.3.2's {@code OHEditor}
 * (linting off, as the OpenHands server runs it). Thread-safe: commands run one at a time.
 *
 * <p>Where we knowingly differ from OHEditor: (1) writes replace files atomically and keep their mode and owner
 * (OHEditor's {@code insert} moves a fresh temp file into place, losing the mode); (2) {@code insert} after a last
 * line without a trailing newline first ends that line (OHEditor glues the new text onto it); (3) a file that is
 * not valid UTF-8 is read and written as ISO-8859-1 (OHEditor guesses the charset with charset_normalizer);
 * (4) the supported binary formats (.pdf, .docx, ...) are not converted to Markdown and answer with an error.
 */
final class FileEditor {

    static final int SNIPPET_CONTEXT_WINDOW = 4;
    static final int MAX_RESPONSE_LEN_CHAR = 16_000;
    static final long MAX_FILE_SIZE_BYTES = 10L * 1024 * 1024;
    static final List<String> SUPPORTED_BINARY_EXTENSIONS =
            List.of(".docx", ".xlsx", ".pptx", ".pdf", ".mp3", ".wav", ".m4a", ".flac");

    static final String TEXT_FILE_TRUNCATED_NOTICE = "<response clipped><NOTE>Due to the max output limit, only part of"
            + " this file has been shown to you. You should retry this tool after you have searched inside the file with"
            + " `grep -n` in order to find the line numbers of what you are looking for.</NOTE>";
    static final String DIRECTORY_TRUNCATED_NOTICE = "<response clipped><NOTE>Due to the max output limit, only part of"
            + " this directory has been shown to you. You should use `ls -la` instead to view large directories"
            + " incrementally.</NOTE>";

    private static final String COMMANDS = "view, create, str_replace, insert, undo_edit";

    /** What a command produced: the text for the agent, and the file before/after for the diff (null: none). */
    record Result(String output, String oldContent, String newContent) {
    }

    private final String cwd;
    private final long maxFileBytes;
    private final EditHistory history = new EditHistory(10);

    /** @param cwd the directory relative paths are suggested against ({@code Maybe you meant ...?}) */
    FileEditor(Path cwd) {
        this(cwd, MAX_FILE_SIZE_BYTES);
    }

    /** @param maxFileBytes the largest file opened (OHEditor's 10 MB at most; lower when the heap is small) */
    FileEditor(Path cwd, long maxFileBytes) {
        this.cwd = Py.path(cwd.toAbsolutePath().toString());
        this.maxFileBytes = Math.min(MAX_FILE_SIZE_BYTES, maxFileBytes);
    }

    synchronized Result run(String command, String rawPath, String fileText, List<Integer> viewRange, String oldStr,
                            String newStr, Long insertLine) throws EditorException {
        String path = Py.path(rawPath);
        String cmd = command == null ? "None" : command;
        validatePath(cmd, path);
        switch (cmd) {
            case "view" -> {
                return view(path, viewRange);
            }
            case "create" -> {
                if (fileText == null) {
                    throw EditorException.missing(cmd, "file_text");
                }
                writeFile(path, fileText);
                history.add(path, fileText);
                return new Result("File created successfully at: " + path, null, fileText);
            }
            case "str_replace" -> {
                if (oldStr == null) {
                    throw EditorException.missing(cmd, "old_str");
                }
                if (Objects.equals(newStr, oldStr)) {
                    throw EditorException.invalid("new_str", newStr,
                            "No replacement was performed. `new_str` and `old_str` must be different.");
                }
                return strReplace(path, oldStr, newStr);
            }
            case "insert" -> {
                if (insertLine == null) {
                    throw EditorException.missing(cmd, "insert_line");
                }
                if (newStr == null) {
                    throw EditorException.missing(cmd, "new_str");
                }
                return insert(path, insertLine, newStr);
            }
            case "undo_edit" -> {
                return undo(path);
            }
            default -> throw new EditorException("Unrecognized command " + cmd
                    + ". The allowed commands for the oh_editor tool are: " + COMMANDS);
        }
    }

    // ------------------------------------------------------------------ commands

    private Result view(String path, List<Integer> viewRange) throws EditorException {
        if (isDirectory(path)) {
            if (viewRange != null && !viewRange.isEmpty()) {
                throw EditorException.invalid("view_range", Py.list(viewRange),
                        "The `view_range` parameter is not allowed when `path` points to a directory.");
            }
            return new Result(DirectoryListing.render(path), null, null);
        }
        validateFile(path);
        if (isSupportedBinary(path)) {
            // OHEditor converts these to Markdown (markitdown); that converter does not exist on the JVM.
            throw new EditorException("Error in converting file to Markdown: conversion of " + Py.suffix(path)
                    + " files is not supported by this runtime. Please use Python code to read " + path);
        }
        String content = readFile(path);
        if (viewRange == null || viewRange.isEmpty()) {
            return new Result(numbered(content, path, 1), null, null);
        }
        int numLines = countLines(content);
        if (viewRange.size() != 2) {
            throw EditorException.invalid("view_range", Py.list(viewRange), "It should be a list of two integers.");
        }
        int start = viewRange.get(0);
        int end = viewRange.get(1);
        if (start < 1 || start > numLines) {
            throw EditorException.invalid("view_range", Py.list(viewRange), "Its first element `" + start
                    + "` should be within the range of lines of the file: " + Py.list(List.of(1, numLines)) + ".");
        }
        String warning = null;
        if (end == -1) {
            end = numLines;
        } else if (end > numLines) {
            warning = "We only show up to " + numLines + " since there're only " + numLines + " lines in this file.";
            end = numLines;
        }
        if (end < start) {
            throw EditorException.invalid("view_range", Py.list(viewRange), "Its second element `" + end
                    + "` should be greater than or equal to the first element `" + start + "`.");
        }
        String slice = String.join("\n", Py.splitLines(lines(content, start, end)));
        String output = numbered(slice, path, start);
        return new Result(warning == null ? output : "NOTE: " + warning + "\n" + output, null, null);
    }

    private Result strReplace(String path, String oldStr, String newStr) throws EditorException {
        validateFile(path);
        String replacement = newStr == null ? "" : newStr;
        String content = readFile(path);
        List<Integer> found = occurrences(content, oldStr);
        if (found.isEmpty()) {
            // OHEditor retries once with both strings stripped of surrounding whitespace.
            oldStr = Py.strip(oldStr);
            replacement = Py.strip(replacement);
            found = occurrences(content, oldStr);
            if (found.isEmpty()) {
                throw new EditorException("No replacement was performed, old_str `" + oldStr
                        + "` did not appear verbatim in " + path + ".");
            }
        }
        if (found.size() > 1) {
            TreeSet<Integer> lineNumbers = new TreeSet<>();
            for (int at : found) {
                lineNumbers.add(lineOf(content, at));
            }
            throw new EditorException("No replacement was performed. Multiple occurrences of old_str `" + oldStr
                    + "` in lines " + Py.list(new ArrayList<>(lineNumbers)) + ". Please ensure it is unique.");
        }
        int at = found.get(0);
        int line = lineOf(content, at);
        String updated = content.substring(0, at) + replacement + content.substring(at + oldStr.length());
        writeFile(path, updated);
        history.add(path, content);

        int startLine = Math.max(0, line - SNIPPET_CONTEXT_WINDOW);
        int endLine = line + SNIPPET_CONTEXT_WINDOW + Py.count(replacement, '\n');
        String snippet = lines(Py.universalNewlines(updated), startLine + 1, endLine);
        String output = "The file " + path + " has been edited. "
                + numbered(snippet, "a snippet of " + path, startLine + 1)
                + "Review the changes and make sure they are as expected. Edit the file again if necessary.";
        return new Result(output, content, updated);
    }

    private Result insert(String path, long insertLine, String newStr) throws EditorException {
        validateFile(path);
        String content = readFile(path);
        int numLines = countLines(content);
        if (insertLine < 0 || insertLine > numLines) {
            throw EditorException.invalid("insert_line", insertLine,
                    "It should be within the range of allowed values: " + Py.list(List.of(0, numLines)));
        }
        int at = (int) insertLine;
        List<String> lines = Py.readLines(content);
        String[] inserted = newStr.split("\n", -1);
        StringBuilder updated = new StringBuilder();
        for (int i = 0; i < at; i++) {
            updated.append(lines.get(i));
        }
        if (at > 0 && !lines.get(at - 1).endsWith("\n")) {
            updated.append('\n'); // end the last line before appending after it (OHEditor would glue them)
        }
        for (String l : inserted) {
            updated.append(l).append('\n');
        }
        for (int i = at; i < lines.size(); i++) {
            updated.append(lines.get(i));
        }
        String newText = updated.toString();
        writeFile(path, newText);
        history.add(path, content);

        int startLine = Math.max(0, at - SNIPPET_CONTEXT_WINDOW);
        int endLine = Math.min(numLines + inserted.length, at + SNIPPET_CONTEXT_WINDOW + inserted.length);
        String normalized = Py.universalNewlines(newText);
        String snippet = lines(normalized, startLine + 1, endLine);
        String output = "The file " + path + " has been edited. "
                + numbered(snippet, "a snippet of the edited file", Math.max(1, at - SNIPPET_CONTEXT_WINDOW + 1))
                + "Review the changes and make sure they are as expected (correct indentation, no duplicate lines, etc)."
                + " Edit the file again if necessary.";
        return new Result(output, content, normalized);
    }

    private Result undo(String path) throws EditorException {
        String current = readFile(path);
        String previous = history.pop(path);
        if (previous == null) {
            throw new EditorException("No edit history found for " + path + ".");
        }
        writeFile(path, previous);
        return new Result("Last edit to " + path + " undone successfully. " + numbered(previous, path, 1),
                current, previous);
    }

    // ------------------------------------------------------------------ validation

    private void validatePath(String command, String path) throws EditorException {
        if (!path.startsWith("/")) {
            String hint = "The path should be an absolute path, starting with `/`.";
            String suggested = Py.join(cwd, path);
            if (exists(suggested)) {
                hint += " Maybe you meant " + suggested + "?";
            }
            throw EditorException.invalid("path", path, hint);
        }
        boolean exists = exists(path);
        if (command.equals("create") && exists) {
            throw EditorException.invalid("path", path,
                    "File already exists at: " + path + ". Cannot overwrite files using command `create`.");
        }
        if (!command.equals("create") && !exists) {
            throw EditorException.invalid("path", path,
                    "The path " + path + " does not exist. Please provide a valid path.");
        }
        if (!command.equals("view")) {
            if (isDirectory(path)) {
                throw EditorException.invalid("path", path, "The path " + path
                        + " is a directory and only the `view` command can be used on directories.");
            }
            if (isSupportedBinary(path)) {
                throw EditorException.invalid("path", path, "The path " + path + " points to a binary file ("
                        + Py.suffix(path) + ") and only the `view` command can be used on supported binary files.");
            }
        }
    }

    /** Size and type checks OHEditor runs before reading or writing an existing regular file. */
    private void validateFile(String path) throws EditorException {
        Path file = Py.fs(path).orElse(null);
        if (file == null || !Files.exists(file) || Files.isDirectory(file)) {
            return;
        }
        if (!Files.isRegularFile(file)) {
            // a FIFO, socket or device: opening or reading it can block for ever
            throw EditorException.validation(path, "Not a regular file (a FIFO, socket or device); this tool only"
                    + " reads and edits regular files. Use a command with a timeout instead, e.g. timeout 5 cat " + path);
        }
        try {
            long size = Files.size(file);
            if (size > maxFileBytes) {
                throw EditorException.validation(path, "File is too large (" + Py.oneDecimal(size / 1024.0 / 1024.0)
                        + "MB). Maximum allowed size is " + Py.oneDecimalOrWhole(maxFileBytes / 1024.0 / 1024.0) + "MB.");
            }
            if (isSupportedBinary(path)) {
                return;
            }
            if (TextFiles.looksBinary(file)) {
                throw EditorException.validation(path,
                        "File appears to be binary and this file type cannot be read or edited by this tool.");
            }
        } catch (IOException e) {
            throw new EditorException("Ran into " + Py.osError(e, path) + " while trying to read " + path);
        }
    }

    // ------------------------------------------------------------------ file access

    /** The whole file as text-mode Python reads it (universal newlines). */
    private String readFile(String path) throws EditorException {
        validateFile(path);
        try {
            byte[] bytes = Files.readAllBytes(Path.of(path));
            return Py.universalNewlines(decode(bytes));
        } catch (IOException e) {
            throw new EditorException("Ran into " + Py.osError(e, path) + " while trying to read " + path);
        }
    }

    private void writeFile(String path, String text) throws EditorException {
        validateFile(path);
        Path file = Path.of(path);
        try {
            byte[] bytes = TextFiles.encode(text, charsetOf(file));
            if (Files.exists(file)) {
                AtomicFiles.write(file, bytes, AtomicFiles.MODE_0664);
            } else {
                Files.write(file, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            }
        } catch (CharacterCodingException e) {
            throw new EditorException("Ran into 'latin-1' codec can't encode the new text while trying to write to "
                    + path);
        } catch (IOException e) {
            throw new EditorException("Ran into " + Py.osError(e, path) + " while trying to write to " + path);
        }
    }

    /** UTF-8, unless the file exists and is not valid UTF-8: then ISO-8859-1, which round-trips every byte. */
    private static Charset charsetOf(Path file) throws IOException {
        try {
            TextFiles.decode(Files.readAllBytes(file), StandardCharsets.UTF_8);
            return StandardCharsets.UTF_8;
        } catch (NoSuchFileException e) {
            return StandardCharsets.UTF_8;
        } catch (CharacterCodingException e) {
            return StandardCharsets.ISO_8859_1;
        }
    }

    private static String decode(byte[] bytes) {
        try {
            return TextFiles.decode(bytes, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            return new String(bytes, StandardCharsets.ISO_8859_1);
        }
    }

    // ------------------------------------------------------------------ text helpers

    /** OHEditor's {@code _make_output}: truncate, number every {@code \n}-separated line as {@code %6d\t}. */
    static String numbered(String content, String description, int firstLine) {
        String text = maybeTruncate(content, TEXT_FILE_TRUNCATED_NOTICE);
        StringBuilder out = new StringBuilder("Here's the result of running `cat -n` on ").append(description).append(":\n");
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (i > 0) {
                out.append('\n');
            }
            out.append(String.format("%6d\t", firstLine + i)).append(lines[i]);
        }
        return out.append('\n').toString();
    }

    static String maybeTruncate(String content, String notice) {
        return Py.length(content) <= MAX_RESPONSE_LEN_CHAR ? content : Py.head(content, MAX_RESPONSE_LEN_CHAR) + notice;
    }

    /** Lines {@code first..last} (1-based, inclusive) with their newlines, as OHEditor's ranged read returns them. */
    private static String lines(String text, int first, int last) {
        List<String> all = Py.readLines(text);
        StringBuilder out = new StringBuilder();
        for (int i = Math.max(first, 1); i <= Math.min(last, all.size()); i++) {
            out.append(all.get(i - 1));
        }
        return out.toString();
    }

    /** Lines as iterating a text file counts them: a last line without newline counts, nothing after a final one. */
    private static int countLines(String text) {
        int n = Py.count(text, '\n');
        return text.isEmpty() || text.endsWith("\n") ? n : n + 1;
    }

    private static int lineOf(String text, int index) {
        int line = 1;
        for (int i = 0; i < index; i++) {
            if (text.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    /** Start indexes of the non-overlapping occurrences, as {@code re.finditer(re.escape(s))} finds them. */
    private static List<Integer> occurrences(String text, String needle) {
        List<Integer> found = new ArrayList<>();
        if (needle.isEmpty()) {
            for (int i = 0; i <= text.length(); i++) {
                found.add(i);
            }
            return found;
        }
        int from = 0;
        int at;
        while ((at = text.indexOf(needle, from)) >= 0) {
            found.add(at);
            from = at + needle.length();
        }
        return found;
    }

    private static boolean isSupportedBinary(String path) {
        return SUPPORTED_BINARY_EXTENSIONS.contains(Py.suffix(path).toLowerCase(java.util.Locale.ROOT));
    }

    private static boolean exists(String path) {
        return Py.fs(path).map(Files::exists).orElse(false);
    }

    private static boolean isDirectory(String path) {
        return Py.fs(path).map(Files::isDirectory).orElse(false);
    }
}
