package dev.agentruntime.server;

import static dev.agentruntime.server.ServerProcess.JSON;
import static dev.agentruntime.server.files.CraftedZips.withUnixMode;
import static dev.agentruntime.server.files.CraftedZips.zip;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.server.files.CraftedZips;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code POST /upload_file}, {@code GET /download_files} and {@code POST /list_files} through the real server over
 * HTTP (reference §1.5): multipart bodies and crafted zips built here, byte for byte, the way a client or an attacker
 * would send them. The server runs with a session key, as every OpenHands sandbox does.
 *
 * <p>Where OpenHands answers a bad request with {@code 500 {"detail": "400: ..."}} (its HTTPExceptions are caught and
 * re-raised), this server answers with the status it meant; the tests pin that.
 *
 * <p>One server for the class; each test works in its own directory under the server's working directory.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FileTransferIT {

    private static final String KEY = "it-transfer-key-" + UUID.randomUUID();

    private ServerProcess server;
    private HttpClient http;
    private Path root;
    private Path ws;

    @BeforeAll
    void start() {
        server = ServerProcess.start(Map.of("SESSION_API_KEY", KEY));
        root = server.workingDir();
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
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
    }

    // ================================================================== upload

    @Test
    void uploadedFileLandsInTheDestinationDirectoryWhichIsCreated() throws IOException {
        Path dest = ws.resolve("new/dir");
        byte[] content = awkwardBytes();

        Reply reply = upload(query("destination", dest.toString()), new Multipart().file("notes.bin", content));

        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        assertThat(reply.contentType()).isEqualTo("application/json");
        assertJson(reply.json(), uploaded("notes.bin", dest, false));
        assertThat(Files.readAllBytes(dest.resolve("notes.bin"))).isEqualTo(content);
        assertThat(tree(ws)).containsExactly("new/", "new/dir/", "new/dir/notes.bin");
    }

    @Test
    void uploadedFileReplacesAnExistingOne() throws IOException {
        Path dest = Files.createDirectory(ws.resolve("dest"));
        Files.writeString(dest.resolve("notes.txt"), "old");

        Reply reply = upload(query("destination", dest.toString()), new Multipart().field("comment", "ignored")
                .file("notes.txt", "new\n".getBytes(StandardCharsets.UTF_8)));

        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        assertThat(dest.resolve("notes.txt")).hasContent("new\n");
        assertThat(tree(dest)).containsExactly("notes.txt");
    }

    @Test
    void uploadedZipIsExtractedInPlaceAndNotKept() throws IOException {
        Path dest = Files.createDirectory(ws.resolve("dest"));
        Files.writeString(dest.resolve("existing.txt"), "old");
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("src/Main.java", "class Main {}");
        entries.put("existing.txt", "new");
        entries.put("empty/", "");

        Reply reply = upload(query("destination", dest.toString()), new Multipart().file("project.zip", zip(entries)));

        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        assertJson(reply.json(), uploaded("project.zip", dest, false));
        assertThat(dest.resolve("src/Main.java")).hasContent("class Main {}");
        assertThat(dest.resolve("existing.txt")).hasContent("new");
        assertThat(tree(dest)).containsExactly("empty/", "existing.txt", "src/", "src/Main.java");
    }

    @Test
    void recursiveUploadExtractsTheZipAndKeepsExecutableBits() throws IOException {
        Path dest = ws.resolve("bundle");
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("bin/run.sh", "#!/bin/sh\necho ran\n");
        entries.put("lib/data.txt", "data");
        byte[] zip = withUnixMode(zip(entries), "bin/run.sh", CraftedZips.EXECUTABLE_MODE);

        Reply reply = upload(query("destination", dest.toString(), "recursive", "true"),
                new Multipart().file("bundle.zip", zip));

        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        assertJson(reply.json(), uploaded("bundle.zip", dest, true));
        assertThat(tree(dest)).containsExactly("bin/", "bin/run.sh", "lib/", "lib/data.txt");
        assertThat(Files.getPosixFilePermissions(dest.resolve("bin/run.sh"))).contains(PosixFilePermission.OWNER_EXECUTE);
        assertThat(server.execute("'" + dest.resolve("bin/run.sh") + "'").content()).isEqualTo("ran");
    }

    @Test
    void recursiveUploadOfSomethingElseThanAZipIsRefused() throws IOException {
        Path dest = Files.createDirectory(ws.resolve("dest"));

        Reply reply = upload(query("destination", dest.toString(), "recursive", "true"),
                new Multipart().file("plain.txt", "x".getBytes(StandardCharsets.UTF_8)));

        assertDetail(reply, 400, "Uploaded file is not a zip file.");
        assertThat(tree(dest)).isEmpty();
    }

    @Test
    void zipWithAParentTraversalEntryIsRefusedAndNothingIsWritten() throws IOException {
        Path dest = ws.resolve("a/b"); // does not exist yet: even the destination must not be left behind
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("good.txt", "fine"); // a naive extractor writes this before it meets the bad entry
        entries.put("../evil", "pwned");

        Reply reply = upload(query("destination", dest.toString()), new Multipart().file("x.zip", zip(entries)));

        assertDetail(reply, 400, "Unsafe zip entry '../evil': contains a '..' path segment. Nothing was extracted.");
        assertThat(tree(ws)).isEmpty();
    }

    @Test
    void zipWithAnAbsoluteEntryIsRefusedAndNothingIsWritten() throws IOException {
        Path dest = Files.createDirectory(ws.resolve("dest"));
        Path outside = Path.of("/tmp/evil-" + UUID.randomUUID());
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("ok/file.txt", "fine");
        entries.put(outside.toString(), "pwned");

        Reply reply = upload(query("destination", dest.toString(), "recursive", "true"),
                new Multipart().file("x.zip", zip(entries)));

        assertDetail(reply, 400, "Unsafe zip entry '" + outside + "': is an absolute path. Nothing was extracted.");
        assertThat(outside).doesNotExist();
        assertThat(tree(ws)).containsExactly("dest/");
    }

    @Test
    void zipWithASymlinkEntryPointingOutsideIsRefusedAndNothingIsWritten() throws IOException {
        Path dest = Files.createDirectory(ws.resolve("dest"));
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("readme.txt", "fine");
        entries.put("escape", "../../.."); // a link out of the destination, then a file written through it
        entries.put("escape/pwned.txt", "pwned");
        byte[] zip = withUnixMode(zip(entries), "escape", CraftedZips.SYMLINK_MODE);

        Reply reply = upload(query("destination", dest.toString()), new Multipart().file("links.zip", zip));

        assertDetail(reply, 400, "Unsafe zip entry 'escape': is a symbolic link, and symbolic links are not extracted."
                + " Nothing was extracted.");
        assertThat(tree(ws)).containsExactly("dest/");
        assertThat(root.getParent().resolve("pwned.txt")).doesNotExist();
    }

    @Test
    void uploadWithoutADestinationIsRefused() throws IOException {
        Reply reply = upload("", new Multipart().file("f.txt", "x".getBytes(StandardCharsets.UTF_8)));

        assertDetail(reply, 400, "Missing query parameter: destination");
        assertThat(root.resolve("f.txt")).doesNotExist();
    }

    @Test
    void uploadToARelativeDestinationIsRefused() throws IOException {
        String relative = ws.getFileName() + "/rel";

        Reply reply = upload(query("destination", relative), new Multipart().file("f.txt", "x".getBytes(StandardCharsets.UTF_8)));

        assertDetail(reply, 400, "Destination must be an absolute path");
        assertThat(tree(ws)).isEmpty();
    }

    // ================================================================== download

    @Test
    void downloadOfAFileIsAZipWithThatOneFile() throws IOException {
        byte[] content = awkwardBytes();
        Path file = Files.write(ws.resolve("report.bin"), content);

        Reply reply = download(file.toString());

        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        assertThat(reply.contentType()).isEqualTo("application/zip");
        assertThat(reply.headers().firstValue("Content-Disposition")).hasValue("attachment; filename=\"report.bin.zip\"");
        Map<String, byte[]> entries = unzip(reply.body());
        assertThat(entries).containsOnlyKeys("report.bin");
        assertThat(entries.get("report.bin")).isEqualTo(content);
    }

    @Test
    void downloadOfADirectoryIsAZipOfEveryFileUnderItRelativeToIt() throws IOException {
        Path proj = Files.createDirectory(ws.resolve("proj"));
        Files.createDirectories(proj.resolve("src/pkg"));
        Files.createDirectories(proj.resolve("empty"));
        Files.writeString(proj.resolve("README.md"), "# proj\n");
        Files.writeString(proj.resolve("src/pkg/A.java"), "class A {}\n");
        Files.writeString(proj.resolve(".gitignore"), "target/\n");
        Files.write(proj.resolve("src/blob.bin"), awkwardBytes());

        Reply reply = download(proj.toString());

        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        assertThat(reply.headers().firstValue("Content-Disposition")).hasValue("attachment; filename=\"proj.zip\"");
        Map<String, byte[]> entries = unzip(reply.body());
        Map<String, byte[]> expected = filesUnder(proj);
        assertThat(entries.keySet()).containsExactly(".gitignore", "README.md", "src/blob.bin", "src/pkg/A.java");
        expected.forEach((name, bytes) -> assertThat(entries.get(name)).as(name).isEqualTo(bytes));
    }

    @Test
    void downloadOfAMissingPathIs404() {
        String missing = ws.resolve("missing").toString();

        assertDetail(download(missing), 404, "File not found: " + missing);
    }

    @Test
    void downloadOfARelativePathIs400() {
        assertDetail(download(ws.getFileName().toString()), 400, "Path must be absolute");
    }

    // ================================================================== list

    @Test
    void listPutsDirectoriesFirstWithASlashSortsCaseInsensitivelyAndShowsHiddenEntries() throws IOException {
        Path dir = Files.createDirectory(ws.resolve("mixed"));
        for (String d : List.of("b", "A", ".hidden", "Zeta")) {
            Files.createDirectory(dir.resolve(d));
        }
        for (String f : List.of("c.txt", "B.txt", ".env", "a.txt")) {
            Files.writeString(dir.resolve(f), "");
        }
        Files.createSymbolicLink(dir.resolve("linked"), dir.resolve("b")); // a link to a directory is a directory
        List<String> expected = List.of(".hidden/", "A/", "b/", "linked/", "Zeta/", ".env", "a.txt", "B.txt", "c.txt");

        assertThat(listNames("{\"path\": \"" + dir + "\"}")).containsExactlyElementsOf(expected);
    }

    @Test
    void listResolvesARelativePathAgainstTheInitialCwdNotTheShells() throws IOException {
        Files.createDirectories(ws.resolve("inner"));
        Files.writeString(ws.resolve("file.txt"), "");
        String relative = "{\"path\": \"" + ws.getFileName() + "\"}";
        try {
            assertThat(server.execute("cd /").exitCode()).isZero();

            assertThat(listNames(relative)).containsExactly("inner/", "file.txt");
        } finally {
            server.execute("cd '" + root + "'");
        }
        assertThat(listNames("{}")).contains(ws.getFileName() + "/");
        assertThat(listNames("{\"path\": null}")).contains(ws.getFileName() + "/");
    }

    @Test
    void listOfAMissingDirectoryOrAFileIsEmpty() throws IOException {
        Path file = Files.writeString(ws.resolve("f.txt"), "");

        assertThat(listNames("{\"path\": \"" + ws.resolve("no/such/dir") + "\"}")).isEmpty();
        assertThat(listNames("{\"path\": \"" + file + "\"}")).isEmpty();
    }

    @Test
    void listWithAMalformedBodyIs400() {
        Reply notJson = list("{\"path\": ");
        assertThat(notJson.status()).as(notJson.text()).isEqualTo(400);
        assertThat(notJson.contentType()).isEqualTo("application/json");
        assertThat(notJson.json().path("detail").asText()).startsWith("Malformed JSON body: ");

        assertDetail(list(""), 400, "Request body must be a JSON object like {\"path\": \"/workspace\"}");
        assertDetail(list("[1, 2]"), 400, "Request body must be a JSON object like {\"path\": \"/workspace\"}");
        assertDetail(list("{\"path\": 3}"), 400, "Field 'path' must be a string or null");
    }

    // ================================================================== authentication

    @Test
    void allThreeEndpointsRefuseAMissingOrWrongSessionKey() throws IOException {
        Path dest = ws.resolve("denied");
        Path file = Files.writeString(ws.resolve("secret.txt"), "secret");
        Multipart form = new Multipart().file("f.txt", "x".getBytes(StandardCharsets.UTF_8));
        String uploadPath = "/upload_file?" + query("destination", dest.toString());
        String downloadPath = "/download_files?" + query("path", file.toString());
        String listBody = "{\"path\": \"" + ws + "\"}";

        for (String key : new String[] {null, KEY + "-wrong", ""}) {
            String as = key == null ? "no key" : "key '" + key + "'";
            assertDetail(send(post(uploadPath, form.contentType(), form.bytes()), key), 403, "Invalid API Key", as);
            assertDetail(send(HttpRequest.newBuilder(uri(downloadPath)).GET(), key), 403, "Invalid API Key", as);
            assertDetail(send(post("/list_files", "application/json", listBody.getBytes(StandardCharsets.UTF_8)), key),
                    403, "Invalid API Key", as);
        }

        assertThat(tree(ws)).containsExactly("secret.txt");
        assertThat(send(post(uploadPath, form.contentType(), form.bytes()), KEY).status()).isEqualTo(200);
        assertThat(tree(ws)).containsExactly("denied/", "denied/f.txt", "secret.txt");
    }

    // ================================================================== HTTP

    /** A response, body as bytes. */
    private record Reply(int status, byte[] body, HttpHeaders headers) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (status " + status + "): " + text(), e);
            }
        }

        String contentType() {
            return headers.firstValue("Content-Type").orElse("");
        }
    }

    private Reply upload(String query, Multipart form) {
        return send(post("/upload_file?" + query, form.contentType(), form.bytes()), KEY);
    }

    private Reply download(String path) {
        return send(HttpRequest.newBuilder(uri("/download_files?" + query("path", path))).GET(), KEY);
    }

    private Reply list(String body) {
        return send(post("/list_files", "application/json", body.getBytes(StandardCharsets.UTF_8)), KEY);
    }

    private List<String> listNames(String body) {
        Reply reply = list(body);
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        assertThat(reply.contentType()).isEqualTo("application/json");
        try {
            return JSON.readerForListOf(String.class).readValue(reply.body());
        } catch (IOException e) {
            throw new AssertionError("not a JSON list of names: " + reply.text(), e);
        }
    }

    private HttpRequest.Builder post(String path, String contentType, byte[] body) {
        return HttpRequest.newBuilder(uri(path)).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    }

    private URI uri(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + server.port() + pathAndQuery);
    }

    private Reply send(HttpRequest.Builder request, String key) {
        request.timeout(Duration.ofSeconds(60));
        if (key != null) {
            request.header("X-Session-API-Key", key);
        }
        try {
            HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            return new Reply(response.statusCode(), response.body(), response.headers());
        } catch (IOException e) {
            throw new UncheckedIOException("request failed; server output:\n" + server.recentOutput(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** {@code k1=v1&k2=v2}, URL-encoded. */
    private static String query(String... keyValues) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            out.append(out.length() == 0 ? "" : "&").append(keyValues[i]).append('=')
                    .append(URLEncoder.encode(keyValues[i + 1], StandardCharsets.UTF_8));
        }
        return out.toString();
    }

    /** A {@code multipart/form-data} body as requests/httpx write one (CRLF line ends, a random boundary). */
    private static final class Multipart {
        private final String boundary = "agent-runtime-it-" + UUID.randomUUID();
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();

        Multipart field(String name, String value) {
            return part("form-data; name=\"" + name + "\"", null, value.getBytes(StandardCharsets.UTF_8));
        }

        Multipart file(String filename, byte[] content) {
            return part("form-data; name=\"file\"; filename=\"" + filename + "\"", "application/octet-stream", content);
        }

        private Multipart part(String disposition, String contentType, byte[] content) {
            ascii("--" + boundary + "\r\nContent-Disposition: " + disposition + "\r\n");
            if (contentType != null) {
                ascii("Content-Type: " + contentType + "\r\n");
            }
            ascii("\r\n");
            body.writeBytes(content);
            ascii("\r\n");
            return this;
        }

        private void ascii(String s) {
            body.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
        }

        String contentType() {
            return "multipart/form-data; boundary=" + boundary;
        }

        byte[] bytes() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(body.toByteArray());
            out.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
            return out.toByteArray();
        }
    }

    // ================================================================== assertions and files

    private static ObjectNode uploaded(String filename, Path destination, boolean recursive) {
        return JSON.createObjectNode().put("filename", filename).put("destination", destination.toString())
                .put("recursive", recursive);
    }

    private static void assertDetail(Reply reply, int status, String detail) {
        assertDetail(reply, status, detail, "");
    }

    private static void assertDetail(Reply reply, int status, String detail, String as) {
        assertThat(reply.status()).as("%s: %s", as, reply.text()).isEqualTo(status);
        assertThat(reply.contentType()).as(as).isEqualTo("application/json");
        assertJson(reply.json(), JSON.createObjectNode().put("detail", detail));
    }

    /** Whole-object equality (field order aside), printed as JSON on a mismatch. */
    private static void assertJson(JsonNode actual, JsonNode expected) {
        if (!actual.equals(expected)) {
            assertThat(actual.toString()).isEqualTo(expected.toString());
        }
    }

    /**
     * Bytes that trip naive multipart and text handling: every byte value, CR/LF pairs, and lines that start like
     * a boundary.
     */
    private static byte[] awkwardBytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < 256; i++) {
            out.write(i);
        }
        out.writeBytes("\r\n--agent-runtime-it-\r\n--\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        for (int i = 255; i >= 0; i--) {
            out.write(i);
        }
        return out.toByteArray();
    }

    /** Every entry under {@code dir}, relative, sorted, directories with a trailing slash. */
    private static List<String> tree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(p -> !p.equals(dir))
                    .map(p -> dir.relativize(p) + (Files.isDirectory(p) ? "/" : ""))
                    .sorted()
                    .toList();
        }
    }

    private static Map<String, byte[]> filesUnder(Path dir) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    private static Map<String, byte[]> unzip(byte[] zip) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                assertThat(out).as("duplicate entry %s", e.getName()).doesNotContainKey(e.getName());
                out.put(e.getName(), in.readAllBytes());
            }
        }
        return out;
    }
}
