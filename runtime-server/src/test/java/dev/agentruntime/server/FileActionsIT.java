package dev.agentruntime.server;

import static dev.agentruntime.server.ServerProcess.JSON;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.server.ServerProcess.Response;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code read}, {@code write} and {@code edit} through the real server over HTTP: the request bodies are the ones
 * OpenHands' client sends (reference §2.4), and every observation is compared as a whole JSON object, so a missing,
 * extra or renamed field fails as surely as a wrong message. The expected texts are copied from the reference
 * (§2.4, §2.6), not from the server's constants.
 *
 * <p>One server for the class; each test works in its own directory under the server's working directory. The
 * shell stays in that working directory, except inside the test that changes it (and puts it back).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FileActionsIT {

    private static final String SAMPLE = "This is a test file.\nThis file is for testing purposes.\n";
    private static final String REVIEW = "Review the changes and make sure they are as expected. Edit the file again"
            + " if necessary.";
    private static final String REVIEW_INSERT = "Review the changes and make sure they are as expected (correct"
            + " indentation, no duplicate lines, etc). Edit the file again if necessary.";
    private static final String FILE_CLIPPED = "<response clipped><NOTE>Due to the max output limit, only part of this"
            + " file has been shown to you. You should retry this tool after you have searched inside the file with"
            + " `grep -n` in order to find the line numbers of what you are looking for.</NOTE>";
    /** The smallest valid PNG: one transparent pixel. */
    private static final byte[] PNG = Base64.getDecoder().decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

    private ServerProcess server;
    /** The server's working directory: the shell's cwd and the editor's base for "Maybe you meant". */
    private Path root;
    /** This test's own directory. */
    private Path ws;
    /** {@code ws/test.txt} with {@link #SAMPLE}, the file of the reference's edit examples. */
    private String p;

    @BeforeAll
    void start() {
        server = ServerProcess.start(Map.of());
        root = server.workingDir();
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @BeforeEach
    void directory(TestInfo test) throws IOException {
        ws = Files.createDirectory(root.resolve(test.getTestMethod().orElseThrow().getName()));
        p = Files.writeString(ws.resolve("test.txt"), SAMPLE).toString();
    }

    // ================================================================== read, impl_source default

    @Test
    void readReturnsTheFileWithItsAbsolutePath() throws IOException {
        Path file = Files.writeString(ws.resolve("hello.sh"), "echo \"Hello, World!\"\n");

        JsonNode obs = execute(read(file.toString(), "default", null));

        assertJson(obs, readObs(file.toString(), "echo \"Hello, World!\"\n", "default"));
    }

    @Test
    void readSlicesZeroBasedLinesWithEndMinusOneMeaningToTheEnd() throws IOException {
        String f = Files.writeString(ws.resolve("lines.txt"), "l0\nl1\nl2\nl3\n").toString();

        assertJson(execute(read(f, 1, 3)), readObs(f, "l1\nl2\n", "default"));
        assertJson(execute(read(f, 2, -1)), readObs(f, "l2\nl3\n", "default"));
    }

    @Test
    void relativePathsResolveAgainstTheShellsCwdAfterACd() throws IOException {
        Path sub = Files.createDirectory(ws.resolve("sub"));
        Files.writeString(sub.resolve("rel.txt"), "relative\n");
        try {
            assertThat(server.execute("cd '" + sub + "'").exitCode()).isZero();

            assertJson(execute(read("rel.txt", "default", null)),
                    readObs(sub.resolve("rel.txt").toString(), "relative\n", "default"));
            assertJson(execute(read("missing.txt", "default", null)), errorObs("File not found: " + sub
                    + "/missing.txt. Your current working directory is " + sub + "."));
            assertJson(execute(write("out.txt", "written")), writeObs(sub.resolve("out.txt").toString()));
            assertThat(sub.resolve("out.txt")).hasContent("written\n");
            assertThat(ws.resolve("out.txt")).doesNotExist();
        } finally {
            server.execute("cd '" + root + "'");
        }
        assertThat(server.execute("pwd").content()).isEqualTo(root.toString());
    }

    @Test
    void readOfAMissingFileNamesTheShellsCwd() {
        String missing = ws.resolve("nope.txt").toString();

        assertJson(execute(read(missing, "default", null)),
                errorObs("File not found: " + missing + ". Your current working directory is " + root + "."));
    }

    @Test
    void readOfADirectoryIsAnError() {
        assertJson(execute(read(ws.toString(), "default", null)),
                errorObs("Path is a directory: " + ws + ". You can only read files"));
    }

    @Test
    void readOfATextFileThatIsNotUtf8IsAnError() throws IOException {
        Path latin1 = Files.write(ws.resolve("latin1.txt"), "caf\u00e9 cr\u00e8me\n".getBytes(StandardCharsets.ISO_8859_1));

        assertJson(execute(read(latin1.toString(), "default", null)),
                errorObs("File could not be decoded as utf-8: " + latin1 + "."));
    }

    @Test
    void readOfABinaryFileIsErrorBinaryFile() throws IOException {
        Path elf = Files.write(ws.resolve("a.out"), new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0});

        assertJson(execute(read(elf.toString(), "default", null)), errorObs("ERROR_BINARY_FILE"));
        assertJson(execute(read(elf.toString(), "oh_aci", null)), errorObs("ERROR_BINARY_FILE"));
    }

    @Test
    void readOfAnImageOrPdfIsADataUrl() throws IOException {
        Path png = Files.write(ws.resolve("pixel.png"), PNG);
        Path pdf = Files.write(ws.resolve("doc.pdf"), "%PDF-1.4\n%\u00e2\u00e3\n".getBytes(StandardCharsets.ISO_8859_1));

        assertJson(execute(read(png.toString(), "default", null)), readObs(png.toString(),
                "data:image/png;base64," + Base64.getEncoder().encodeToString(PNG), "default"));
        assertJson(execute(read(pdf.toString(), "default", null)), readObs(pdf.toString(),
                "data:application/pdf;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(pdf)), "default"));
    }

    // ================================================================== read, impl_source oh_aci

    @Test
    void readThroughTheEditorWithAViewRangeShowsThoseLines() throws IOException {
        String f = Files.writeString(ws.resolve("four.txt"), "one\ntwo\nthree\nfour\n").toString();

        assertJson(execute(read(f, "oh_aci", List.of(2, 3))), readObs(f,
                "Here's the result of running `cat -n` on " + f + ":\n     2\ttwo\n     3\tthree\n", "oh_aci"));
        assertJson(execute(read(f, "oh_aci", List.of(3, -1))), readObs(f,
                "Here's the result of running `cat -n` on " + f + ":\n     3\tthree\n     4\tfour\n", "oh_aci"));
    }

    @Test
    void viewRangePastTheEndIsClampedWithANote() {
        // the reference body's view_range [1, 20] on a two-line file
        assertJson(execute(read(p, "oh_aci", List.of(1, 20))), readObs(p, "NOTE: We only show up to 2 since there're"
                + " only 2 lines in this file.\nHere's the result of running `cat -n` on " + p + ":\n"
                + "     1\tThis is a test file.\n     2\tThis file is for testing purposes.\n", "oh_aci"));
    }

    @Test
    void viewRangeWithOneElementIsRejected() {
        assertJson(execute(read(p, "oh_aci", List.of(1))), readObs(p, "ERROR:\nInvalid `view_range` parameter: [1]."
                + " It should be a list of two integers.", "oh_aci"));
    }

    @Test
    void viewRangeStartingOutsideTheFileIsRejected() {
        assertJson(execute(read(p, "oh_aci", List.of(0, 1))), readObs(p, "ERROR:\nInvalid `view_range` parameter:"
                + " [0, 1]. Its first element `0` should be within the range of lines of the file: [1, 2].", "oh_aci"));
        assertJson(execute(read(p, "oh_aci", List.of(3, 3))), readObs(p, "ERROR:\nInvalid `view_range` parameter:"
                + " [3, 3]. Its first element `3` should be within the range of lines of the file: [1, 2].", "oh_aci"));
    }

    @Test
    void viewRangeEndingBeforeItStartsIsRejected() {
        assertJson(execute(read(p, "oh_aci", List.of(2, 1))), readObs(p, "ERROR:\nInvalid `view_range` parameter:"
                + " [2, 1]. Its second element `1` should be greater than or equal to the first element `2`.", "oh_aci"));
    }

    @Test
    void readThroughTheEditorReportsErrorsAsReadObservationsWithThePathAsGiven() {
        String missing = ws.resolve("missing.txt").toString();

        assertJson(execute(read(missing, "oh_aci", null)), readObs(missing, "ERROR:\nInvalid `path` parameter: "
                + missing + ". The path " + missing + " does not exist. Please provide a valid path.", "oh_aci"));
        assertJson(execute(read("relative/path.txt", "oh_aci", null)), readObs("relative/path.txt",
                "ERROR:\nInvalid `path` parameter: relative/path.txt. The path should be an absolute path, starting"
                        + " with `/`.", "oh_aci"));
    }

    // ================================================================== write

    @Test
    void writeOfTheReferenceBodyResolvesAgainstTheShellsCwd() {
        // reference §2.4: {"path": "hello.sh", "content": "echo \"Hello, World!\""} and the read observation after it
        Path hello = root.resolve("hello.sh");
        try {
            assertJson(execute(write("hello.sh", "echo \"Hello, World!\"")), writeObs(hello.toString()));

            assertJson(execute(read("hello.sh", "default", null)),
                    readObs(hello.toString(), "echo \"Hello, World!\"\n", "default"));
        } finally {
            ServerProcess.deleteTree(hello);
        }
    }

    @Test
    void writeOfANewFileEndsEveryLineWithANewlineAndCreatesParents() throws IOException {
        String created = ws.resolve("a/b/new.txt").toString();
        String endsInNewline = ws.resolve("nl.txt").toString();

        assertJson(execute(write(created, "x\ny")), writeObs(created));
        assertJson(execute(write(endsInNewline, "a\n")), writeObs(endsInNewline));

        assertThat(Path.of(created)).hasContent("x\ny\n");
        assertThat(Files.readString(Path.of(endsInNewline))).isEqualTo("a\n\n");
        assertThat(mode(Path.of(created))).isEqualTo("rw-rw-r--");
    }

    @Test
    void writeOverAnExistingFileKeepsItsMode() throws IOException {
        Path script = Files.writeString(ws.resolve("run.sh"), "old\ncontent\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));

        assertJson(execute(write(script.toString(), "#!/bin/sh\necho new")), writeObs(script.toString()));

        assertThat(Files.readString(script)).isEqualTo("#!/bin/sh\necho new\n");
        assertThat(mode(script)).isEqualTo("rwxr-xr-x");
        assertThat(server.execute("'" + script + "'").content()).isEqualTo("new");
    }

    @Test
    void writeWithALineRangeReplacesThoseLines() throws IOException {
        Path f = Files.writeString(ws.resolve("r.txt"), "l0\nl1\nl2\nl3\n");

        assertJson(execute(write(f.toString(), "X\nY", 1, 3)), writeObs(f.toString()));

        assertThat(f).hasContent("l0\nX\nY\nl3\n");
    }

    @Test
    void writeToADirectoryIsAnError() {
        assertJson(execute(write(ws.toString(), "x")),
                errorObs("Path is a directory: " + ws + ". You can only write to files"));
    }

    @Test
    void writeOverAFileThatIsNotUtf8IsAnErrorAndLeavesItAlone() throws IOException {
        byte[] latin1 = "caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1);
        Path f = Files.write(ws.resolve("l.txt"), latin1);

        assertJson(execute(write(f.toString(), "x")), errorObs("File could not be decoded as utf-8: " + f));

        assertThat(Files.readAllBytes(f)).isEqualTo(latin1);
    }

    // ================================================================== edit: view

    @Test
    void viewOfAFileNumbersItsLinesLikeCatN() {
        assertJson(execute(Edit.of("view", p).body()), editObs(p, "Here's the result of running `cat -n` on " + p
                + ":\n     1\tThis is a test file.\n     2\tThis file is for testing purposes.\n     3\t\n", null, null, ""));
    }

    @Test
    void viewOfALongFileIsClippedAt16000CharactersWithANote() throws IOException {
        String big = Files.writeString(ws.resolve("big.txt"), "x".repeat(20_000)).toString();

        assertJson(execute(Edit.of("view", big).body()), editObs(big, "Here's the result of running `cat -n` on " + big
                + ":\n     1\t" + "x".repeat(16_000) + FILE_CLIPPED + "\n", null, null, ""));
    }

    @Test
    void viewOfADirectoryListsTwoLevelsWithoutHiddenEntriesAndCountsThem() throws IOException {
        Path d = Files.createDirectory(ws.resolve("tree"));
        Files.createDirectories(d.resolve("src/main/deep"));
        Files.writeString(d.resolve("src/App.java"), "");
        Files.writeString(d.resolve("src/.hidden"), "");
        Files.writeString(d.resolve("README.md"), "");
        Files.writeString(d.resolve("a.txt"), "");
        Files.createDirectories(d.resolve(".git/objects"));
        Files.writeString(d.resolve(".env"), "");
        String listing = "Here's the files and directories up to 2 levels deep in " + d + ", excluding hidden items:\n"
                + d + "/\n" + d + "/README.md\n" + d + "/a.txt\n" + d + "/src/\n" + d + "/src/App.java\n"
                + d + "/src/main/\n\n2 hidden files/directories in this directory are excluded. You can use 'ls -la "
                + d + "' to see them.";

        assertJson(execute(Edit.of("view", d.toString()).body()), editObs(d.toString(), listing, null, null, ""));
        // what an agent's read of a directory gets (the reference's trajectory example)
        assertJson(execute(read(d.toString(), "oh_aci", null)), readObs(d.toString(), listing, "oh_aci"));
    }

    // ================================================================== edit: paths

    @Test
    void relativePathIsRejectedWithAMaybeYouMeantHint() {
        String relative = ws.getFileName() + "/test.txt"; // exists under the server's working directory

        assertJson(execute(Edit.of("view", relative).body()), editObs(relative, "ERROR:\nInvalid `path` parameter: "
                + relative + ". The path should be an absolute path, starting with `/`. Maybe you meant " + p + "?",
                null, null, ""));
        assertJson(execute(Edit.of("view", "no-such-file.txt").body()), editObs("no-such-file.txt", "ERROR:\nInvalid"
                + " `path` parameter: no-such-file.txt. The path should be an absolute path, starting with `/`.",
                null, null, ""));
    }

    @Test
    void missingPathIsReported() {
        String missing = ws.resolve("missing.txt").toString();

        assertJson(execute(Edit.of("str_replace", missing).oldStr("a").newStr("b").body()), editObs(missing,
                "ERROR:\nInvalid `path` parameter: " + missing + ". The path " + missing + " does not exist. Please"
                        + " provide a valid path.", "a", "b", ""));
    }

    @Test
    void editingADirectoryIsRejected() {
        assertJson(execute(Edit.of("str_replace", ws.toString()).oldStr("a").newStr("b").body()), editObs(ws.toString(),
                "ERROR:\nInvalid `path` parameter: " + ws + ". The path " + ws + " is a directory and only the `view`"
                        + " command can be used on directories.", "a", "b", ""));
    }

    @Test
    void unknownCommandListsTheCommands() {
        assertJson(execute(Edit.of("delete", p).body()), editObs(p, "ERROR:\nUnrecognized command delete. The allowed"
                + " commands for the oh_editor tool are: view, create, str_replace, insert, undo_edit", null, null, ""));
    }

    // ================================================================== edit: create

    @Test
    void createWritesTheFileAsGivenAndDiffsAgainstNothing() throws IOException {
        // reference §2.4: {"command": "create", "file_text": "New file content"}
        String created = ws.resolve("new.txt").toString();

        assertJson(execute(Edit.of("create", created).fileText("New file content").body()), editObs(created, false,
                "File created successfully at: " + created, null, null,
                "--- " + created + "\n+++ " + created + "\n@@ -1 +1 @@\n-\n+New file content"));

        assertThat(Files.readString(Path.of(created))).isEqualTo("New file content");
    }

    @Test
    void createOverAnExistingFileIsRejected() {
        assertJson(execute(Edit.of("create", p).fileText("x").body()), editObs(p, "ERROR:\nInvalid `path` parameter: "
                + p + ". File already exists at: " + p + ". Cannot overwrite files using command `create`.",
                null, null, ""));

        assertThat(Path.of(p)).hasContent(SAMPLE);
    }

    @Test
    void createWithoutFileTextIsAMissingParameter() {
        String created = ws.resolve("n.txt").toString();

        assertJson(execute(Edit.of("create", created).body()), editObs(created,
                "ERROR:\nParameter `file_text` is required for command: create.", null, null, ""));

        assertThat(Path.of(created)).doesNotExist();
    }

    // ================================================================== edit: str_replace

    @Test
    void strReplaceMatchesTheReferenceObservation() throws IOException {
        assertJson(execute(Edit.of("str_replace", p).oldStr("test file").newStr("sample file").body()), editObs(p,
                "The file " + p + " has been edited. Here's the result of running `cat -n` on a snippet of " + p + ":\n"
                        + "     1\tThis is a sample file.\n     2\tThis file is for testing purposes.\n     3\t\n" + REVIEW,
                "test file", "sample file",
                "--- " + p + "\n+++ " + p + "\n@@ -1 +1 @@\n-This is a test file.\n+This is a sample file."));

        assertThat(Path.of(p)).hasContent("This is a sample file.\nThis file is for testing purposes.\n");
    }

    @Test
    void strReplaceWithoutAVerbatimMatchReportsTheStrippedString() {
        assertJson(execute(Edit.of("str_replace", p).oldStr("  not there \n").newStr("x").body()), editObs(p,
                "ERROR:\nNo replacement was performed, old_str `not there` did not appear verbatim in " + p + ".",
                "  not there \n", "x", ""));

        assertThat(Path.of(p)).hasContent(SAMPLE);
    }

    @Test
    void strReplaceWithMultipleOccurrencesListsTheirLines() {
        assertJson(execute(Edit.of("str_replace", p).oldStr("is").newStr("IS").body()), editObs(p,
                "ERROR:\nNo replacement was performed. Multiple occurrences of old_str `is` in lines [1, 2]. Please"
                        + " ensure it is unique.", "is", "IS", ""));

        assertThat(Path.of(p)).hasContent(SAMPLE);
    }

    @Test
    void strReplaceWithIdenticalStringsIsRejected() {
        assertJson(execute(Edit.of("str_replace", p).oldStr("test").newStr("test").body()), editObs(p,
                "ERROR:\nInvalid `new_str` parameter: test. No replacement was performed. `new_str` and `old_str` must"
                        + " be different.", "test", "test", ""));
    }

    @Test
    void strReplaceWithoutOldStrIsAMissingParameter() {
        assertJson(execute(Edit.of("str_replace", p).newStr("x").body()), editObs(p,
                "ERROR:\nParameter `old_str` is required for command: str_replace.", null, "x", ""));
    }

    // ================================================================== edit: insert

    @Test
    void insertWithANumberShowsTheEditedSnippet() throws IOException {
        // reference §2.4: {"command": "insert", "new_str": "Inserted line", "insert_line": 1}
        assertJson(execute(Edit.of("insert", p).newStr("Inserted line").insertLine(1).body()), insertedAfterLineOne());

        assertThat(Path.of(p)).hasContent("This is a test file.\nInserted line\nThis file is for testing purposes.\n");
    }

    @Test
    void insertWithANumericStringIsAccepted() throws IOException {
        assertJson(execute(Edit.of("insert", p).newStr("Inserted line").insertLine("1").body()), insertedAfterLineOne());

        assertThat(Path.of(p)).hasContent("This is a test file.\nInserted line\nThis file is for testing purposes.\n");
    }

    private ObjectNode insertedAfterLineOne() {
        return editObs(p, "The file " + p + " has been edited. Here's the result of running `cat -n` on a snippet of"
                + " the edited file:\n     1\tThis is a test file.\n     2\tInserted line\n"
                + "     3\tThis file is for testing purposes.\n     4\t\n" + REVIEW_INSERT,
                null, "Inserted line", "--- " + p + "\n+++ " + p + "\n@@ -1,0 +2 @@\n+Inserted line");
    }

    @Test
    void insertWithANonNumericStringIsRejected() {
        assertJson(execute(Edit.of("insert", p).newStr("x").insertLine("abc").body()), editObs(p,
                "ERROR:\nInvalid insert_line value: 'abc'. Expected an integer.", null, "x", ""));

        assertThat(Path.of(p)).hasContent(SAMPLE);
    }

    @Test
    void insertOutsideTheFileIsRejected() {
        assertJson(execute(Edit.of("insert", p).newStr("x").insertLine(3).body()), editObs(p,
                "ERROR:\nInvalid `insert_line` parameter: 3. It should be within the range of allowed values: [0, 2]",
                null, "x", ""));
        assertJson(execute(Edit.of("insert", p).newStr("x").insertLine(-1).body()), editObs(p,
                "ERROR:\nInvalid `insert_line` parameter: -1. It should be within the range of allowed values: [0, 2]",
                null, "x", ""));

        assertThat(Path.of(p)).hasContent(SAMPLE);
    }

    @Test
    void insertWithoutInsertLineIsAMissingParameter() {
        assertJson(execute(Edit.of("insert", p).newStr("x").body()), editObs(p,
                "ERROR:\nParameter `insert_line` is required for command: insert.", null, "x", ""));
    }

    // ================================================================== edit: undo_edit

    @Test
    void undoRestoresTheLastEditThenHasNoHistoryLeft() throws IOException {
        execute(Edit.of("str_replace", p).oldStr("test file").newStr("sample file").body());

        // reference §2.4: the undo_edit body
        assertJson(execute(Edit.of("undo_edit", p).body()), editObs(p, "Last edit to " + p + " undone successfully."
                + " Here's the result of running `cat -n` on " + p + ":\n     1\tThis is a test file.\n"
                + "     2\tThis file is for testing purposes.\n     3\t\n", null, null,
                "--- " + p + "\n+++ " + p + "\n@@ -1 +1 @@\n-This is a sample file.\n+This is a test file."));
        assertThat(Path.of(p)).hasContent(SAMPLE);

        assertJson(execute(Edit.of("undo_edit", p).body()),
                editObs(p, "ERROR:\nNo edit history found for " + p + ".", null, null, ""));
    }

    @Test
    void undoWithoutHistoryIsAnError() {
        assertJson(execute(Edit.of("undo_edit", p).body()),
                editObs(p, "ERROR:\nNo edit history found for " + p + ".", null, null, ""));
    }

    // ================================================================== request bodies (reference §2.4)

    private JsonNode execute(String body) {
        Response response = server.post("/execute_action", body);
        assertThat(response.status()).as("%s -> %s", body, response.body()).isEqualTo(200);
        return response.json();
    }

    private static String envelope(String message, String type, ObjectNode args) {
        ObjectNode action = JSON.createObjectNode();
        action.put("message", message);
        action.put("action", type);
        action.set("args", args);
        action.put("timeout", 120.0);
        ObjectNode body = JSON.createObjectNode();
        body.set("action", action);
        return body.toString();
    }

    private static String read(String path, String implSource, List<Integer> viewRange) {
        return read(path, 0, -1, implSource, viewRange);
    }

    private static String read(String path, int start, int end) {
        return read(path, start, end, "default", null);
    }

    private static String read(String path, int start, int end, String implSource, List<Integer> viewRange) {
        ObjectNode args = JSON.createObjectNode();
        args.put("path", path);
        args.put("start", start);
        args.put("end", end);
        args.put("thought", "");
        args.put("security_risk", -1);
        args.put("impl_source", implSource);
        if (viewRange == null) {
            args.putNull("view_range");
        } else {
            ArrayNode range = args.putArray("view_range");
            viewRange.forEach(range::add);
        }
        return envelope("Reading file: " + path, "read", args);
    }

    private static String write(String path, String content) {
        return write(path, content, 0, -1);
    }

    private static String write(String path, String content, int start, int end) {
        ObjectNode args = JSON.createObjectNode();
        args.put("path", path);
        args.put("content", content);
        args.put("start", start);
        args.put("end", end);
        args.put("thought", "");
        args.put("security_risk", -1);
        return envelope("Writing file: " + path, "write", args);
    }

    /** An {@code edit} action with every arg OpenHands' FileEditAction serializes, unset ones as null. */
    private static final class Edit {
        private final ObjectNode args = JSON.createObjectNode();

        private Edit(String command, String path) {
            args.put("path", path);
            args.put("command", command);
            args.putNull("file_text");
            args.putNull("old_str");
            args.putNull("new_str");
            args.putNull("insert_line");
            args.put("content", "");
            args.put("start", 1);
            args.put("end", -1);
            args.put("thought", "");
            args.put("security_risk", -1);
            args.put("impl_source", "oh_aci");
        }

        static Edit of(String command, String path) {
            return new Edit(command, path);
        }

        Edit fileText(String value) {
            args.put("file_text", value);
            return this;
        }

        Edit oldStr(String value) {
            args.put("old_str", value);
            return this;
        }

        Edit newStr(String value) {
            args.put("new_str", value);
            return this;
        }

        Edit insertLine(int value) {
            args.put("insert_line", value);
            return this;
        }

        /** As LLMs send it sometimes: a string, which the server converts (or reports). */
        Edit insertLine(String value) {
            args.put("insert_line", value);
            return this;
        }

        String body() {
            return envelope("", "edit", args);
        }
    }

    // ================================================================== expected observations

    private static ObjectNode observation(String type, String message, String content) {
        ObjectNode obs = JSON.createObjectNode();
        obs.put("message", message);
        obs.put("observation", type);
        obs.put("content", content);
        return obs;
    }

    private static ObjectNode readObs(String path, String content, String implSource) {
        ObjectNode obs = observation("read", "I read the file " + path + ".", content);
        obs.putObject("extras").put("path", path).put("impl_source", implSource);
        return obs;
    }

    private static ObjectNode writeObs(String path) {
        ObjectNode obs = observation("write", "I wrote to the file " + path + ".", "");
        obs.putObject("extras").put("path", path);
        return obs;
    }

    /** {@code old_content}/{@code new_content} are the action's old_str/new_str, not file contents (reference §2.4). */
    private static ObjectNode editObs(String path, String content, String oldStr, String newStr, String diff) {
        // prev_exist: whether the path existed before the command; all these commands leave that unchanged
        // (a successful create passes false explicitly).
        boolean exists = Path.of(path).isAbsolute() && Files.exists(Path.of(path));
        return editObs(path, exists, content, oldStr, newStr, diff);
    }

    private static ObjectNode editObs(String path, boolean prevExist, String content, String oldStr, String newStr,
                                      String diff) {
        ObjectNode obs = observation("edit", "I edited the file " + path + ".", content);
        ObjectNode extras = obs.putObject("extras");
        extras.put("path", path);
        extras.put("prev_exist", prevExist);
        extras.put("old_content", oldStr);
        extras.put("new_content", newStr);
        extras.put("impl_source", "oh_aci");
        extras.put("diff", diff);
        extras.putNull("_diff_cache");
        return obs;
    }

    private static ObjectNode errorObs(String content) {
        ObjectNode obs = observation("error", content, content);
        obs.putObject("extras").put("error_id", "");
        return obs;
    }

    /** Whole-object equality; on a mismatch both sides print with sorted keys, so the diff shows the field. */
    private static void assertJson(JsonNode actual, JsonNode expected) {
        if (!actual.equals(expected)) {
            assertThat(sorted(actual).toPrettyString()).isEqualTo(sorted(expected).toPrettyString());
            assertThat(actual).as("same text, different JSON types").isEqualTo(expected);
        }
    }

    private static JsonNode sorted(JsonNode node) {
        if (!node.isObject()) {
            return node;
        }
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        names.sort(null);
        ObjectNode out = JSON.createObjectNode();
        names.forEach(name -> out.set(name, sorted(node.get(name))));
        return out;
    }

    private static String mode(Path file) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
    }
}
