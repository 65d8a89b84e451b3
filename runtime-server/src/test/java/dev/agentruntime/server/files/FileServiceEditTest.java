package dev.agentruntime.server.files;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.ErrorObservation;
import dev.agentruntime.FileEditAction;
import dev.agentruntime.FileEditObservation;
import dev.agentruntime.FileReadAction;
import dev.agentruntime.FileReadAction.ImplSource;
import dev.agentruntime.Observation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileServiceEditTest {

    private static final String REVIEW = "Review the changes and make sure they are as expected. Edit the file again if necessary.";
    private static final String REVIEW_INSERT = "Review the changes and make sure they are as expected (correct"
            + " indentation, no duplicate lines, etc). Edit the file again if necessary.";

    @TempDir
    Path root;
    FileService files;
    Path file;
    String p;

    @BeforeEach
    void setUp() throws IOException {
        files = new FileService(root);
        file = root.resolve("test.txt");
        p = file.toString();
        Files.writeString(file, "This is a test file.\nThis file is for testing purposes.\n");
    }

    private FileEditObservation edit(FileEditAction action) {
        return edit(action, null);
    }

    private FileEditObservation edit(FileEditAction action, Object rawInsertLine) {
        Observation obs = files.edit(action, rawInsertLine);
        assertThat(obs).isInstanceOf(FileEditObservation.class);
        return (FileEditObservation) obs;
    }

    private String view(List<Integer> range) {
        return files.read(FileReadAction.of(p).viaEditor(range), root).content();
    }

    // ------------------------------------------------------------------ str_replace

    @Test
    void strReplaceMatchesTheReferenceObservation() throws IOException {
        FileEditObservation obs = edit(FileEditAction.strReplace(p, "test file", "sample file"));

        assertThat(obs.content()).isEqualTo("The file " + p + " has been edited. Here's the result of running `cat -n`"
                + " on a snippet of " + p + ":\n     1\tThis is a sample file.\n     2\tThis file is for testing purposes.\n"
                + "     3\t\n" + REVIEW);
        assertThat(obs.path()).isEqualTo(p);
        assertThat(obs.prevExist()).as("the file existed before the edit").isTrue();
        assertThat(obs.oldContent()).isEqualTo("test file");
        assertThat(obs.newContent()).isEqualTo("sample file");
        assertThat(obs.implSource()).isEqualTo(ImplSource.OH_ACI);
        assertThat(obs.diff()).isEqualTo("--- " + p + "\n+++ " + p + "\n@@ -1 +1 @@\n-This is a test file.\n"
                + "+This is a sample file.");
        assertThat(Files.readString(file)).isEqualTo("This is a sample file.\nThis file is for testing purposes.\n");
    }

    @Test
    void strReplaceSnippetStartsThreeLinesAboveAndEndsFourLinesBelowTheNewText() throws IOException {
        StringBuilder text = new StringBuilder();
        for (int i = 1; i <= 20; i++) {
            text.append("line ").append(i).append('\n');
        }
        Files.writeString(file, text);

        FileEditObservation obs = edit(FileEditAction.strReplace(p, "line 10\n", "ten\nTEN\n"));

        assertThat(obs.content()).isEqualTo("The file " + p + " has been edited. Here's the result of running `cat -n`"
                + " on a snippet of " + p + ":\n"
                + "     7\tline 7\n     8\tline 8\n     9\tline 9\n    10\tten\n    11\tTEN\n"
                + "    12\tline 11\n    13\tline 12\n    14\tline 13\n    15\tline 14\n    16\tline 15\n    17\t\n"
                + REVIEW);
        assertThat(obs.diff()).isEqualTo("--- " + p + "\n+++ " + p + "\n@@ -10 +10,2 @@\n-line 10\n+ten\n+TEN");
    }

    @Test
    void strReplaceWithoutMatchRetriesStrippedAndReportsTheStrippedString() throws IOException {
        FileEditObservation obs = edit(FileEditAction.strReplace(p, "  not there \n", "x"));

        assertThat(obs.content()).isEqualTo("ERROR:\nNo replacement was performed, old_str `not there` did not appear"
                + " verbatim in " + p + ".");
        assertThat(obs.diff()).isEmpty();
    }

    @Test
    void strReplaceStrippedRetrySucceeds() throws IOException {
        edit(FileEditAction.strReplace(p, "\n  test file  \n", "  demo file\n"));

        assertThat(Files.readString(file)).isEqualTo("This is a demo file.\nThis file is for testing purposes.\n");
    }

    @Test
    void strReplaceWithMultipleOccurrencesListsTheLines() {
        FileEditObservation obs = edit(FileEditAction.strReplace(p, "is", "IS"));

        assertThat(obs.content()).isEqualTo("ERROR:\nNo replacement was performed. Multiple occurrences of old_str"
                + " `is` in lines [1, 2]. Please ensure it is unique.");
    }

    @Test
    void strReplaceWithIdenticalStringsIsRejected() {
        FileEditObservation obs = edit(FileEditAction.strReplace(p, "test", "test"));

        assertThat(obs.content()).isEqualTo("ERROR:\nInvalid `new_str` parameter: test. No replacement was performed."
                + " `new_str` and `old_str` must be different.");
    }

    @Test
    void strReplaceWithoutOldStrIsMissingParameter() {
        FileEditObservation obs = edit(FileEditAction.strReplace(p, null, "x"));

        assertThat(obs.content()).isEqualTo("ERROR:\nParameter `old_str` is required for command: str_replace.");
    }

    @Test
    void strReplaceWithoutNewStrDeletes() throws IOException {
        edit(FileEditAction.strReplace(p, " for testing purposes", null));

        assertThat(Files.readString(file)).isEqualTo("This is a test file.\nThis file is.\n");
    }

    @Test
    void editKeepsTheFileMode() throws IOException {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-x---"));

        edit(FileEditAction.strReplace(p, "test file", "script"));
        edit(FileEditAction.insert(p, 0, "#!/bin/sh"));

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rwxr-x---");
    }

    // ------------------------------------------------------------------ paths

    @Test
    void relativePathIsRejectedWithASuggestionWhenItExistsUnderTheWorkspace() {
        FileEditObservation obs = edit(FileEditAction.view("test.txt"));

        assertThat(obs.content()).isEqualTo("ERROR:\nInvalid `path` parameter: test.txt. The path should be an"
                + " absolute path, starting with `/`. Maybe you meant " + p + "?");
        assertThat(obs.path()).isEqualTo("test.txt");
        assertThat(obs.diff()).isEmpty();
    }

    @Test
    void relativePathWithoutAMatchGetsNoSuggestion() {
        FileEditObservation obs = edit(FileEditAction.view("nope.txt"));

        assertThat(obs.content()).isEqualTo("ERROR:\nInvalid `path` parameter: nope.txt. The path should be an"
                + " absolute path, starting with `/`.");
    }

    @Test
    void missingPathIsReported() {
        String missing = root.resolve("missing.txt").toString();

        FileEditObservation obs = edit(FileEditAction.view(missing));

        assertThat(obs.content()).isEqualTo("ERROR:\nInvalid `path` parameter: " + missing + ". The path " + missing
                + " does not exist. Please provide a valid path.");
    }

    @Test
    void editingADirectoryIsRejected() {
        FileEditObservation obs = edit(FileEditAction.strReplace(root.toString(), "a", "b"));

        assertThat(obs.content()).isEqualTo("ERROR:\nInvalid `path` parameter: " + root + ". The path " + root
                + " is a directory and only the `view` command can be used on directories.");
    }

    @Test
    void unknownCommandListsTheCommands() {
        FileEditObservation obs = edit(new FileEditAction(p, "delete", null, null, null, null, "", 1, -1, "", null, null));

        assertThat(obs.content()).isEqualTo("ERROR:\nUnrecognized command delete. The allowed commands for the"
                + " oh_editor tool are: view, create, str_replace, insert, undo_edit");
    }

    @Test
    void llmBasedEditIsNotRunOnTheServer() {
        Observation obs = files.edit(new FileEditAction(p, null, null, null, null, null, "x", 1, -1, "",
                ImplSource.LLM_BASED_EDIT, null), null);

        assertThat(obs).isInstanceOf(ErrorObservation.class);
    }

    // ------------------------------------------------------------------ create

    @Test
    void createWritesTheFileAndDiffsAgainstNothing() throws IOException {
        String created = root.resolve("new.txt").toString();

        FileEditObservation obs = edit(FileEditAction.create(created, "New file content"));

        assertThat(obs.content()).isEqualTo("File created successfully at: " + created);
        assertThat(obs.prevExist()).as("the file did not exist before create").isFalse();
        assertThat(Files.readString(Path.of(created))).isEqualTo("New file content");
        assertThat(obs.diff()).isEqualTo("--- " + created + "\n+++ " + created + "\n@@ -1 +1 @@\n-\n+New file content");
    }

    @Test
    void createOverAnExistingFileIsRejected() {
        FileEditObservation obs = edit(FileEditAction.create(p, "x"));
        assertThat(obs.prevExist()).isTrue();

        assertThat(obs.content()).isEqualTo("ERROR:\nInvalid `path` parameter: " + p + ". File already exists at: " + p
                + ". Cannot overwrite files using command `create`.");
    }

    @Test
    void createWithoutFileTextIsMissingParameter() {
        FileEditObservation obs = edit(FileEditAction.create(root.resolve("n.txt").toString(), null));

        assertThat(obs.content()).isEqualTo("ERROR:\nParameter `file_text` is required for command: create.");
    }

    @Test
    void createInAMissingDirectoryFailsLikePython() {
        String nested = root.resolve("no/such/dir.txt").toString();

        FileEditObservation obs = edit(FileEditAction.create(nested, "x"));

        assertThat(obs.content()).isEqualTo("ERROR:\nRan into [Errno 2] No such file or directory: '" + nested
                + "' while trying to write to " + nested);
    }

    // ------------------------------------------------------------------ insert

    @Test
    void insertAfterALineShowsTheEditedSnippet() throws IOException {
        FileEditObservation obs = edit(FileEditAction.insert(p, 1, "Inserted line"));

        assertThat(Files.readString(file)).isEqualTo("This is a test file.\nInserted line\nThis file is for testing purposes.\n");
        assertThat(obs.content()).isEqualTo("The file " + p + " has been edited. Here's the result of running `cat -n`"
                + " on a snippet of the edited file:\n     1\tThis is a test file.\n     2\tInserted line\n"
                + "     3\tThis file is for testing purposes.\n     4\t\n" + REVIEW_INSERT);
        assertThat(obs.diff()).isEqualTo("--- " + p + "\n+++ " + p + "\n@@ -1,0 +2 @@\n+Inserted line");
    }

    @Test
    void insertAtZeroPrepends() throws IOException {
        edit(FileEditAction.insert(p, 0, "first\nsecond"));

        assertThat(Files.readString(file)).isEqualTo("first\nsecond\nThis is a test file.\nThis file is for testing purposes.\n");
    }

    @Test
    void insertAfterALastLineWithoutNewlineEndsThatLineFirst() throws IOException {
        Files.writeString(file, "a\nb");

        edit(FileEditAction.insert(p, 2, "c"));

        assertThat(Files.readString(file)).isEqualTo("a\nb\nc\n");
    }

    @Test
    void insertOutOfRangeIsRejected() {
        FileEditObservation obs = edit(FileEditAction.insert(p, 3, "x"));

        assertThat(obs.content()).isEqualTo("ERROR:\nInvalid `insert_line` parameter: 3. It should be within the range"
                + " of allowed values: [0, 2]");
    }

    @Test
    void insertAcceptsANumericString() throws IOException {
        FileEditObservation obs = edit(insertWithoutLine("Inserted line"), "1");

        assertThat(obs.content()).startsWith("The file " + p + " has been edited.");
        assertThat(Files.readString(file)).contains("This is a test file.\nInserted line\n");
    }

    @Test
    void insertRejectsANonNumericString() throws IOException {
        FileEditObservation obs = edit(insertWithoutLine("x"), "abc");

        assertThat(obs.content()).isEqualTo("ERROR:\nInvalid insert_line value: 'abc'. Expected an integer.");
        assertThat(obs.diff()).isEmpty();
    }

    @Test
    void insertWithoutInsertLineIsMissingParameter() {
        FileEditObservation obs = edit(insertWithoutLine("x"));

        assertThat(obs.content()).isEqualTo("ERROR:\nParameter `insert_line` is required for command: insert.");
    }

    @Test
    void insertWithoutNewStrIsMissingParameter() {
        FileEditObservation obs = edit(new FileEditAction(p, "insert", null, null, null, 1, "", 1, -1, "", null, null));

        assertThat(obs.content()).isEqualTo("ERROR:\nParameter `new_str` is required for command: insert.");
    }

    private FileEditAction insertWithoutLine(String newStr) {
        return new FileEditAction(p, "insert", null, null, newStr, null, "", 1, -1, "", null, null);
    }

    // ------------------------------------------------------------------ undo_edit

    @Test
    void undoRestoresEditsOneLevelAtATime() throws IOException {
        String original = Files.readString(file);
        edit(FileEditAction.strReplace(p, "test file", "first"));
        String afterFirst = Files.readString(file);
        edit(FileEditAction.strReplace(p, "first", "second"));

        FileEditObservation undo1 = edit(FileEditAction.undoEdit(p));

        assertThat(Files.readString(file)).isEqualTo(afterFirst);
        assertThat(undo1.content()).isEqualTo("Last edit to " + p + " undone successfully. Here's the result of"
                + " running `cat -n` on " + p + ":\n     1\tThis is a first.\n     2\tThis file is for testing purposes.\n"
                + "     3\t\n");
        assertThat(undo1.diff()).isEqualTo("--- " + p + "\n+++ " + p + "\n@@ -1 +1 @@\n-This is a second.\n+This is a first.");

        edit(FileEditAction.undoEdit(p));
        assertThat(Files.readString(file)).isEqualTo(original);

        FileEditObservation none = edit(FileEditAction.undoEdit(p));
        assertThat(none.content()).isEqualTo("ERROR:\nNo edit history found for " + p + ".");
    }

    @Test
    void undoKeepsTheLastTenEditsPerFile() throws IOException {
        Files.writeString(file, "v0\n");
        for (int i = 1; i <= 12; i++) {
            edit(FileEditAction.strReplace(p, "v" + (i - 1), "v" + i));
        }

        for (int i = 0; i < 10; i++) {
            assertThat(edit(FileEditAction.undoEdit(p)).content()).startsWith("Last edit to " + p + " undone");
        }

        assertThat(Files.readString(file)).isEqualTo("v2\n");
        assertThat(edit(FileEditAction.undoEdit(p)).content()).isEqualTo("ERROR:\nNo edit history found for " + p + ".");
    }

    @Test
    void insertAcceptsAnIntegerRawValue() throws IOException {
        edit(insertWithoutLine("top"), 0);

        assertThat(Files.readString(file)).startsWith("top\nThis is a test file.");
    }

    @Test
    void undoWithoutHistoryIsAnError() {
        FileEditObservation obs = edit(FileEditAction.undoEdit(p));

        assertThat(obs.content()).isEqualTo("ERROR:\nNo edit history found for " + p + ".");
    }

    // ------------------------------------------------------------------ view

    @Test
    void viewNumbersEveryLineLikeCatN() {
        FileEditObservation obs = edit(FileEditAction.view(p));

        assertThat(obs.content()).isEqualTo("Here's the result of running `cat -n` on " + p + ":\n"
                + "     1\tThis is a test file.\n     2\tThis file is for testing purposes.\n     3\t\n");
        assertThat(obs.diff()).isEmpty();
    }

    @Test
    void viewRangeBeyondTheEndIsClampedWithANote() {
        assertThat(view(List.of(2, 10))).isEqualTo("NOTE: We only show up to 2 since there're only 2 lines in this"
                + " file.\nHere's the result of running `cat -n` on " + p + ":\n     2\tThis file is for testing purposes.\n");
    }

    @Test
    void viewRangeToMinusOneShowsTheRest() {
        assertThat(view(List.of(2, -1))).isEqualTo("Here's the result of running `cat -n` on " + p + ":\n"
                + "     2\tThis file is for testing purposes.\n");
    }

    @Test
    void viewRangeErrors() {
        assertThat(view(List.of(1))).isEqualTo("ERROR:\nInvalid `view_range` parameter: [1]. It should be a list of"
                + " two integers.");
        assertThat(view(List.of(0, 1))).isEqualTo("ERROR:\nInvalid `view_range` parameter: [0, 1]. Its first element"
                + " `0` should be within the range of lines of the file: [1, 2].");
        assertThat(view(List.of(2, 1))).isEqualTo("ERROR:\nInvalid `view_range` parameter: [2, 1]. Its second element"
                + " `1` should be greater than or equal to the first element `2`.");
    }

    @Test
    void viewTruncatesLongFiles() throws IOException {
        Files.writeString(file, "x".repeat(20_000));

        String out = edit(FileEditAction.view(p)).content();

        assertThat(out).isEqualTo("Here's the result of running `cat -n` on " + p + ":\n     1\t" + "x".repeat(16_000)
                + FileEditor.TEXT_FILE_TRUNCATED_NOTICE + "\n");
        assertThat(FileEditor.TEXT_FILE_TRUNCATED_NOTICE).isEqualTo("<response clipped><NOTE>Due to the max output"
                + " limit, only part of this file has been shown to you. You should retry this tool after you have"
                + " searched inside the file with `grep -n` in order to find the line numbers of what you are looking"
                + " for.</NOTE>");
    }

    @Test
    void viewOfBinaryFileFailsValidation() throws IOException {
        Path bin = Files.write(root.resolve("x.bin"), new byte[] {1, 0, 2});

        FileEditObservation obs = edit(FileEditAction.view(bin.toString()));

        assertThat(obs.content()).isEqualTo("ERROR:\nFile validation failed for " + bin + ": File appears to be binary"
                + " and this file type cannot be read or edited by this tool.");
    }

    @Test
    void viewOfHugeFileFailsValidation() throws IOException {
        Path big = root.resolve("big.txt");
        try (var ch = java.nio.channels.FileChannel.open(big, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap("x".getBytes()), 11L * 1024 * 1024 - 1); // sparse 11 MiB
        }
        Files.writeString(big, "abc", java.nio.file.StandardOpenOption.WRITE); // text head, NULs after

        FileEditObservation obs = edit(FileEditAction.view(big.toString()));

        assertThat(obs.content()).isEqualTo("ERROR:\nFile validation failed for " + big + ": File is too large (11.0MB)."
                + " Maximum allowed size is 10MB.");
    }

    @Test
    void viewOfDirectoryListsTwoLevelsSortedWithoutHiddenEntries() throws IOException {
        Path dir = Files.createDirectory(root.resolve("ws"));
        Files.createDirectories(dir.resolve("src/main"));
        Files.writeString(dir.resolve("src/App.java"), "");
        Files.writeString(dir.resolve("src/.hidden"), "");
        Files.createDirectories(dir.resolve("src/main/deep"));
        Files.writeString(dir.resolve("README.md"), "");
        Files.writeString(dir.resolve("a.txt"), "");
        Files.createDirectories(dir.resolve(".git/objects"));
        Files.writeString(dir.resolve(".env"), "");

        FileEditObservation obs = edit(FileEditAction.view(dir.toString()));

        assertThat(obs.content()).isEqualTo("Here's the files and directories up to 2 levels deep in " + dir
                + ", excluding hidden items:\n"
                + dir + "/\n" + dir + "/README.md\n" + dir + "/a.txt\n" + dir + "/src/\n" + dir + "/src/App.java\n"
                + dir + "/src/main/\n\n2 hidden files/directories in this directory are excluded. You can use 'ls -la "
                + dir + "' to see them.");
    }

    @Test
    void viewOfAHugeDirectoryIsClipped() throws IOException {
        Path dir = Files.createDirectory(root.resolve("many"));
        for (int i = 0; i < 400; i++) {
            Files.writeString(dir.resolve(String.format("file-with-a-rather-long-name-%04d.txt", i)), "");
        }

        String out = edit(FileEditAction.view(dir.toString())).content();

        assertThat(out).startsWith("Here's the files and directories up to 2 levels deep in " + dir
                + ", excluding hidden items:\n" + dir + "/\n" + dir + "/file-with-a-rather-long-name-0000.txt\n");
        assertThat(out).endsWith("<response clipped><NOTE>Due to the max output limit, only part of this directory has"
                + " been shown to you. You should use `ls -la` instead to view large directories incrementally.</NOTE>");
        String header = "Here's the files and directories up to 2 levels deep in " + dir + ", excluding hidden items:\n";
        assertThat(out.length() - header.length() - FileEditor.DIRECTORY_TRUNCATED_NOTICE.length())
                .isEqualTo(16_000 + 1); // the directory itself gains a trailing slash
    }

    @Test
    void viewOfDirectoryWithViewRangeIsRejected() {
        String out = files.read(FileReadAction.of(root.toString()).viaEditor(List.of(1, 2)), root).content();

        assertThat(out).isEqualTo("ERROR:\nInvalid `view_range` parameter: [1, 2]. The `view_range` parameter is not"
                + " allowed when `path` points to a directory.");
    }

    @Test
    void viewOfPdfIsNotConvertedToMarkdown() throws IOException {
        Path pdf = Files.writeString(root.resolve("doc.pdf"), "%PDF-1.4 text only\n");

        FileEditObservation obs = edit(FileEditAction.view(pdf.toString()));

        assertThat(obs.content()).startsWith("ERROR:\nError in converting file to Markdown: ")
                .endsWith(". Please use Python code to read " + pdf);
    }

    @Test
    void editingASupportedBinaryFormatIsRejected() throws IOException {
        Path pdf = Files.writeString(root.resolve("doc.pdf"), "%PDF-1.4\n");

        FileEditObservation obs = edit(FileEditAction.strReplace(pdf.toString(), "PDF", "X"));

        assertThat(obs.content()).isEqualTo("ERROR:\nInvalid `path` parameter: " + pdf + ". The path " + pdf
                + " points to a binary file (.pdf) and only the `view` command can be used on supported binary files.");
    }
}
