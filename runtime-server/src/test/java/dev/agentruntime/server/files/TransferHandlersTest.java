package dev.agentruntime.server.files;

import static dev.agentruntime.server.files.CraftedZips.withUnixMode;
import static dev.agentruntime.server.files.CraftedZips.zip;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.server.http.Http11Server;
import dev.agentruntime.server.http.HttpLimits;
import dev.agentruntime.server.http.Route;
import dev.agentruntime.internal.WireCodec;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TransferHandlersTest {

    private static final String BOUNDARY = "agentRuntimeTestBoundary7MA4YWxk";

    @TempDir
    Path root;
    Http11Server server;
    HttpClient client;
    String base;

    @BeforeEach
    void startServer() throws IOException {
        TransferHandlers handlers = new TransferHandlers(root);
        server = new Http11Server(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), HttpLimits.DEFAULTS,
                head -> switch (head.path()) {
                    case "/upload_file" -> Route.handle(handlers::upload, true);
                    case "/download_files" -> Route.handle(handlers::download, true);
                    case "/list_files" -> Route.handle(handlers::list, true);
                    default -> Route.detail(404, "Not Found");
                });
        server.start();
        base = "http://127.0.0.1:" + server.port();
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    @AfterEach
    void stopServer() {
        server.close();
    }

    // ------------------------------------------------------------------ upload

    @Test
    void uploadSavesTheFileInTheDestinationDirectory() throws Exception {
        Path dest = root.resolve("new/dir");

        HttpResponse<String> response = upload(dest.toString(), null, "notes.txt", bytes("hello\n"));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode body = json(response);
        assertThat(body.get("filename").asText()).isEqualTo("notes.txt");
        assertThat(body.get("destination").asText()).isEqualTo(dest.toString());
        assertThat(body.get("recursive").asBoolean()).isFalse();
        assertThat(Files.readString(dest.resolve("notes.txt"))).isEqualTo("hello\n");
        assertThat(names(dest)).containsExactly("notes.txt");
    }

    @Test
    void uploadNeverLeavesTheDestinationThroughTheFilename() throws Exception {
        HttpResponse<String> response = upload(root.resolve("d").toString(), null, "../../escape.txt", bytes("x"));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(root.resolve("d/escape.txt")).hasContent("x");
        assertThat(root.getParent().resolve("escape.txt")).doesNotExist();
    }

    @Test
    void uploadedZipIsExtractedInPlaceAndRemoved() throws Exception {
        Path dest = Files.createDirectories(root.resolve("ws"));
        Files.writeString(dest.resolve("existing.txt"), "old");
        byte[] zip = zip(Map.of("src/Main.java", "class Main {}", "existing.txt", "new", "empty/", ""));

        HttpResponse<String> response = upload(dest.toString(), null, "project.zip", zip);

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(dest.resolve("src/Main.java")).hasContent("class Main {}");
        assertThat(dest.resolve("existing.txt")).hasContent("new");
        assertThat(dest.resolve("empty")).isDirectory();
        assertThat(names(dest)).containsExactlyInAnyOrder("src", "existing.txt", "empty");
    }

    @Test
    void recursiveUploadExtractsAndKeepsExecutableBits() throws Exception {
        byte[] zip = withUnixMode(zip(Map.of("bin/run.sh", "#!/bin/sh\n")), "bin/run.sh", CraftedZips.EXECUTABLE_MODE);

        HttpResponse<String> response = upload(root.toString() + "/r", "true", "bundle.zip", zip);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(json(response).get("recursive").asBoolean()).isTrue();
        assertThat(Files.getPosixFilePermissions(root.resolve("r/bin/run.sh"))).contains(PosixFilePermission.OWNER_EXECUTE);
    }

    @Test
    void recursiveUploadOfANonZipIsRejected() throws Exception {
        HttpResponse<String> response = upload(root.resolve("r").toString(), "true", "plain.txt", bytes("x"));

        assertRejected(response, 400, "Uploaded file is not a zip file.");
    }

    @Test
    void zipWithParentTraversalIsRejectedAndNothingIsWritten() throws Exception {
        Path dest = Files.createDirectories(root.resolve("a/b"));
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("good.txt", "fine");
        entries.put("../evil", "pwned");

        HttpResponse<String> response = upload(dest.toString(), null, "x.zip", zip(entries));

        assertRejected(response, 400, "Unsafe zip entry '../evil': contains a '..' path segment. Nothing was extracted.");
        assertThat(names(dest)).isEmpty();
        assertThat(root.resolve("a/evil")).doesNotExist();
    }

    @Test
    void zipWithAbsoluteEntryIsRejectedAndNothingIsWritten() throws Exception {
        Path dest = Files.createDirectories(root.resolve("abs"));
        boolean tmpEvilExisted = Files.exists(Path.of("/tmp/evil"));
        String outside = root.resolve("outside.txt").toString();
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("ok/file.txt", "fine");
        entries.put("/tmp/evil", "pwned");
        entries.put(outside, "pwned");

        HttpResponse<String> response = upload(dest.toString(), "true", "x.zip", zip(entries));

        assertRejected(response, 400, "Unsafe zip entry '/tmp/evil': is an absolute path. Nothing was extracted.");
        assertThat(names(dest)).isEmpty();
        assertThat(Path.of(outside)).doesNotExist();
        if (!tmpEvilExisted) {
            assertThat(Path.of("/tmp/evil")).doesNotExist();
        }
    }

    @Test
    void zipWithSymlinkEntryPointingOutsideIsRejected() throws Exception {
        Path dest = Files.createDirectories(root.resolve("links"));
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("readme.txt", "fine");
        entries.put("escape", "../../..");
        entries.put("escape/passwd", "pwned");
        byte[] zip = withUnixMode(zip(entries), "escape", CraftedZips.SYMLINK_MODE);

        HttpResponse<String> response = upload(dest.toString(), null, "x.zip", zip);

        assertRejected(response, 400, "Unsafe zip entry 'escape': is a symbolic link, and symbolic links are not"
                + " extracted. Nothing was extracted.");
        assertThat(names(dest)).isEmpty();
    }

    @Test
    void refusedUploadRemovesTheDirectoriesItCreated() throws Exception {
        Files.createDirectories(root.resolve("kept"));
        Map<String, String> entries = new LinkedHashMap<>();
        entries.put("good.txt", "fine");
        entries.put("../evil", "pwned");

        HttpResponse<String> response = upload(root.resolve("kept/new/dir").toString(), null, "x.zip", zip(entries));

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(names(root)).containsExactly("kept");
        assertThat(names(root.resolve("kept"))).isEmpty();
    }

    @Test
    void corruptZipIsRejected() throws Exception {
        Path dest = Files.createDirectories(root.resolve("c"));

        HttpResponse<String> response = upload(dest.toString(), null, "broken.zip", bytes("not a zip at all"));

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(json(response).get("detail").asText()).startsWith("Uploaded file is not a valid zip archive: ");
        assertThat(names(dest)).isEmpty();
    }

    @Test
    void relativeOrMissingDestinationIsRejected() throws Exception {
        assertRejected(upload("relative/dir", null, "f.txt", bytes("x")), 400, "Destination must be an absolute path");
        assertRejected(upload(null, null, "f.txt", bytes("x")), 400, "Missing query parameter: destination");
        assertThat(root.resolve("relative")).doesNotExist();
    }

    @Test
    void destinationBelowAFileIsRejected() throws Exception {
        Path file = Files.writeString(root.resolve("plain.txt"), "x");

        assertRejected(upload(file.toString(), null, "f.txt", bytes("x")), 400, "Destination is not a directory: " + file);
        assertRejected(upload(file + "/sub", null, "f.txt", bytes("x")), 400,
                "Destination is not a directory: " + file + "/sub");
    }

    @Test
    void badRecursiveValueIsRejected() throws Exception {
        assertRejected(upload(root.toString(), "maybe", "f.txt", bytes("x")), 400,
                "Query parameter 'recursive' must be true or false, got 'maybe'");
    }

    @Test
    void uploadWithoutFileFieldOrWithBrokenMultipartIsRejected() throws Exception {
        String noFile = "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--" + BOUNDARY + "--\r\n";
        assertRejected(send(uploadRequest(root.toString(), null, noFile.getBytes(StandardCharsets.UTF_8))), 400,
                "Missing form field 'file'");

        String truncated = "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\nabc";
        assertRejected(send(uploadRequest(root.resolve("t").toString(), null, truncated.getBytes(StandardCharsets.UTF_8))),
                400, "Malformed multipart body: body ended before the closing boundary");
        assertThat(names(root.resolve("t"))).isEmpty();

        HttpResponse<String> json = client.send(HttpRequest.newBuilder(URI.create(base + "/upload_file?destination="
                + enc(root.toString()))).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        assertRejected(json, 400, "Expected a multipart/form-data body: Content-Type is application/json, expected"
                + " multipart/form-data");
    }

    // ------------------------------------------------------------------ download

    @Test
    void downloadOfAFileIsAZipWithOneEntry() throws Exception {
        Path file = Files.writeString(root.resolve("report.txt"), "numbers\n");

        HttpResponse<byte[]> response = download(file.toString());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/zip");
        assertThat(response.headers().firstValue("Content-Disposition")).hasValue("attachment; filename=\"report.txt.zip\"");
        assertThat(unzip(response.body())).containsExactly(Map.entry("report.txt", "numbers\n"));
    }

    @Test
    void downloadOfATreeHasEntriesRelativeToTheDirectory() throws Exception {
        Path dir = Files.createDirectories(root.resolve("proj"));
        Files.createDirectories(dir.resolve("src/pkg"));
        Files.writeString(dir.resolve("README.md"), "# proj");
        Files.writeString(dir.resolve("src/pkg/A.java"), "class A {}");
        Files.writeString(dir.resolve(".gitignore"), "target/");
        Files.createDirectories(dir.resolve("empty"));

        HttpResponse<byte[]> response = download(dir.toString());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Disposition")).hasValue("attachment; filename=\"proj.zip\"");
        assertThat(unzip(response.body())).containsExactly(
                Map.entry(".gitignore", "target/"),
                Map.entry("README.md", "# proj"),
                Map.entry("src/pkg/A.java", "class A {}"));
    }

    @Test
    void downloadErrors() throws Exception {
        assertRejected(downloadAsString("/definitely/not/here"), 404, "File not found: /definitely/not/here");
        assertRejected(downloadAsString("relative.txt"), 400, "Path must be absolute");
        HttpResponse<String> missing = client.send(HttpRequest.newBuilder(URI.create(base + "/download_files")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertRejected(missing, 400, "Missing query parameter: path");
    }

    @Test
    void downloadNameWithSpacesUsesTheExtendedFilenameParameter() {
        assertThat(TransferHandlers.attachment("my file.zip")).isEqualTo("attachment; filename*=utf-8''my%20file.zip");
        assertThat(TransferHandlers.attachment("caf\u00e9.zip")).isEqualTo("attachment; filename*=utf-8''caf%C3%A9.zip");
    }

    // ------------------------------------------------------------------ list

    @Test
    void listPutsDirectoriesFirstAndSortsCaseInsensitivelyIncludingHiddenEntries() throws Exception {
        Path dir = Files.createDirectories(root.resolve("mixed"));
        for (String d : List.of("b", "A", ".hidden", "Zeta")) {
            Files.createDirectories(dir.resolve(d));
        }
        for (String f : List.of("c.txt", "B.txt", ".env", "a.txt")) {
            Files.writeString(dir.resolve(f), "");
        }

        assertThat(list("{\"path\": \"" + dir + "\"}"))
                .containsExactly(".hidden/", "A/", "b/", "Zeta/", ".env", "a.txt", "B.txt", "c.txt");
    }

    @Test
    void listDefaultsToTheInitialCwdAndResolvesRelativePathsAgainstIt() throws Exception {
        Files.createDirectories(root.resolve("sub/inner"));
        Files.writeString(root.resolve("sub/file.txt"), "");

        assertThat(list("{}")).containsExactly("sub/");
        assertThat(list("{\"path\": null}")).containsExactly("sub/");
        assertThat(list("{\"path\": \"sub\"}")).containsExactly("inner/", "file.txt");
    }

    @Test
    void listOfMissingPathOrFileIsEmpty() throws Exception {
        Files.writeString(root.resolve("f.txt"), "");

        assertThat(list("{\"path\": \"/no/such/dir\"}")).isEmpty();
        assertThat(list("{\"path\": \"f.txt\"}")).isEmpty();
    }

    @Test
    void listWithMalformedBodyIsRejected() throws Exception {
        assertRejected(listResponse("{not json"), 400, null);
        assertRejected(listResponse("[1, 2]"), 400, "Request body must be a JSON object like {\"path\": \"/workspace\"}");
        assertRejected(listResponse("{\"path\": 3}"), 400, "Field 'path' must be a string or null");
        HttpResponse<String> get = client.send(HttpRequest.newBuilder(URI.create(base + "/list_files")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertRejected(get, 405, "Method Not Allowed");
    }

    // ------------------------------------------------------------------ streaming

    @Test
    void streamsA64MibFileUpAndDownWithoutCorruption() throws Exception {
        long size = 64L * 1024 * 1024 + 123;
        String expected = sha256(new Generator(size, 42));
        Path dest = root.resolve("big");

        HttpResponse<String> up = send(HttpRequest.newBuilder(uploadUri(dest.toString(), null))
                .header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY)
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> multipart("big.bin", new Generator(size, 42))))
                .build());

        assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
        assertThat(Files.size(dest.resolve("big.bin"))).isEqualTo(size);
        try (InputStream in = Files.newInputStream(dest.resolve("big.bin"))) {
            assertThat(sha256(in)).isEqualTo(expected);
        }

        HttpResponse<InputStream> down = client.send(HttpRequest.newBuilder(downloadUri(dest.resolve("big.bin").toString()))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(down.statusCode()).isEqualTo(200);
        try (ZipInputStream zip = new ZipInputStream(down.body())) {
            ZipEntry entry = zip.getNextEntry();
            assertThat(entry.getName()).isEqualTo("big.bin");
            assertThat(sha256(zip)).isEqualTo(expected);
            assertThat(zip.getNextEntry()).isNull();
        }
    }

    /** Deterministic pseudo-random bytes, generated on the fly (xorshift). */
    private static final class Generator extends InputStream {
        private long remaining;
        private long state;

        Generator(long size, long seed) {
            this.remaining = size;
            this.state = seed * 0x9E3779B97F4A7C15L + 1;
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (remaining == 0) {
                return -1;
            }
            int n = (int) Math.min(len, remaining);
            for (int i = 0; i < n; i++) {
                state ^= state << 13;
                state ^= state >>> 7;
                state ^= state << 17;
                b[off + i] = (byte) state;
            }
            remaining -= n;
            return n;
        }
    }

    // ------------------------------------------------------------------ helpers

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private URI uploadUri(String destination, String recursive) {
        StringBuilder uri = new StringBuilder(base + "/upload_file?x=1");
        if (destination != null) {
            uri.append("&destination=").append(enc(destination));
        }
        if (recursive != null) {
            uri.append("&recursive=").append(enc(recursive));
        }
        return URI.create(uri.toString());
    }

    private URI downloadUri(String path) {
        return URI.create(base + "/download_files?path=" + enc(path));
    }

    private static InputStream multipart(String filename, InputStream content) {
        String head = "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename
                + "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
        String tail = "\r\n--" + BOUNDARY + "--\r\n";
        return new SequenceInputStream(new SequenceInputStream(new ByteArrayInputStream(bytes(head)), content),
                new ByteArrayInputStream(bytes(tail)));
    }

    private HttpRequest uploadRequest(String destination, String recursive, byte[] body) {
        return HttpRequest.newBuilder(uploadUri(destination, recursive))
                .header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
    }

    private HttpResponse<String> upload(String destination, String recursive, String filename, byte[] content)
            throws Exception {
        byte[] body = multipart(filename, new ByteArrayInputStream(content)).readAllBytes();
        return send(uploadRequest(destination, recursive, body));
    }

    private HttpResponse<String> send(HttpRequest request) throws Exception {
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<byte[]> download(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(downloadUri(path)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private HttpResponse<String> downloadAsString(String path) throws Exception {
        return send(HttpRequest.newBuilder(downloadUri(path)).build());
    }

    private HttpResponse<String> listResponse(String body) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(base + "/list_files"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    private List<String> list(String body) throws Exception {
        HttpResponse<String> response = listResponse(body);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return WireCodec.MAPPER.readerForListOf(String.class).readValue(response.body());
    }

    private static JsonNode json(HttpResponse<String> response) throws IOException {
        return WireCodec.MAPPER.readTree(response.body());
    }

    private static void assertRejected(HttpResponse<String> response, int status, String detail) throws IOException {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode body = json(response);
        assertThat(body.has("detail")).isTrue();
        if (detail != null) {
            assertThat(body.get("detail").asText()).isEqualTo(detail);
        }
    }

    private static Map<String, String> unzip(byte[] zip) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                out.put(e.getName(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    private static List<String> names(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.map(p -> p.getFileName().toString()).toList();
        }
    }

    private static String sha256(InputStream in) throws IOException, NoSuchAlgorithmException {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] chunk = new byte[64 * 1024];
        for (int n; (n = in.read(chunk)) >= 0; ) {
            digest.update(chunk, 0, n);
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
