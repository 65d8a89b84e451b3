package dev.agentruntime.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.server.ServerProcess.Obs;
import dev.agentruntime.server.ServerProcess.Response;
import dev.agentruntime.server.ServerProcess.Run;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every attack of the red-team run (issue 15) reproduced as given against the real server jar, with its outcome
 * asserted: a 4xx JSON answer or a bounded result, the server and the shell still serving, nothing lost, nothing
 * left behind. The slow-connection flood is {@link SlowConnectionsIT}; the fuzz is {@link FuzzIT}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HardeningIT {

    private static final String KEY = "hardening-key-5c1f0e7a";
    private ServerProcess server;

    @BeforeAll
    void start() {
        server = ServerProcess.start(Map.of("SESSION_API_KEY", KEY, "NO_CHANGE_TIMEOUT_SECONDS", "2",
                "AGENT_RUNTIME_SERVER_DEBUG", "1"));
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @AfterEach
    void stillServing() {
        assertServing(server);
    }

    private static void assertServing(ServerProcess s) {
        assertThat(s.get("/alive").status()).isEqualTo(200);
        s.ensureIdle();
    }

    private static String action(String type, ObjectNode args) {
        ObjectNode action = ServerProcess.JSON.createObjectNode();
        action.put("action", type);
        action.set("args", args);
        action.put("timeout", 60);
        ObjectNode body = ServerProcess.JSON.createObjectNode();
        body.set("action", action);
        return body.toString();
    }

    private static ObjectNode args() {
        return ServerProcess.JSON.createObjectNode();
    }

    // ------------------------------------------------------------------ 2. lone surrogates and NUL

    @Test
    void loneSurrogateInACommandIs422AndTheShellKeepsServing() {
        // the raw JSON escape, as the red team sent it: it used to mark the command running, then throw (500, wedged)
        String body = "{\"action\": {\"action\": \"run\", \"args\": {\"command\": \"echo \\ud800\", \"is_input\": false}}}";
        for (int i = 0; i < 3; i++) {
            Response response = server.post("/execute_action", body);
            assertThat(response.status()).isEqualTo(422);
            assertThat(response.json().path("detail").asText())
                    .contains("args.command contains a lone UTF-16 surrogate (\\ud800 at index 5)")
                    .contains("Nothing was run");
        }
        assertThat(server.execute("echo still-here").content()).isEqualTo("still-here");
        // a real surrogate pair (an emoji) is fine
        assertThat(server.execute("echo \uD83D\uDE00").content()).isEqualTo("\uD83D\uDE00");
    }

    @Test
    void loneSurrogateAnywhereInAnActionIs422() {
        String write = "{\"action\": {\"action\": \"write\", \"args\": {\"path\": \"" + server.workingDir()
                + "/s.txt\", \"content\": \"a\\udc00b\"}}}";
        Response response = server.post("/execute_action", write);
        assertThat(response.status()).isEqualTo(422);
        assertThat(response.json().path("detail").asText()).contains("args.content contains a lone UTF-16 surrogate");
        assertThat(server.workingDir().resolve("s.txt")).doesNotExist();
    }

    @Test
    void nulInACommandIs422InsteadOfSilentlyCuttingIt() {
        Response response = server.post("/execute_action", action("run", args().put("command", "echo a\u0000; rm -rf x")));
        assertThat(response.status()).isEqualTo(422);
        assertThat(response.json().path("detail").asText()).contains("args.command contains a NUL character at index 6");
        Response path = server.post("/execute_action", action("read", args().put("path", "/etc/pass\u0000wd")));
        assertThat(path.status()).isEqualTo(422);
        assertThat(path.json().path("detail").asText()).contains("args.path contains a NUL character");
    }

    // ------------------------------------------------------------------ 3. memory

    @Test
    void tenMegabyteWriteIs413BeforeAnythingRuns() {
        Path target = server.workingDir().resolve("ten.txt");
        Response response = server.post("/execute_action", action("write",
                args().put("path", target.toString()).put("content", "x".repeat(10_000_000))));
        assertThat(response.status()).isEqualTo(413);
        assertThat(response.json().path("detail").asText()).contains("larger than the limit");
        assertThat(target).doesNotExist();
    }

    @Test
    void tenMegabyteCommandIs413() {
        Response response = server.post("/execute_action", action("run", args().put("command",
                "echo " + "y".repeat(10_000_000))));
        assertThat(response.status()).isEqualTo(413);
        // under the request limit but over the command limit: refused by the action checks, also before it runs
        Response command = server.post("/execute_action", action("run", args().put("command",
                "echo " + "y".repeat(2_000_000))));
        assertThat(command.status()).isEqualTo(413);
        assertThat(command.json().path("detail").asText()).contains("args.command is larger than the limit of 1048576");
    }

    @Test
    void writeJustUnderTheLimitIsAnsweredAndWritten() throws IOException {
        Path target = server.workingDir().resolve("three.txt");
        String content = "0123456789abcdef\n".repeat(180_000); // ~3 MB, under the 4 MiB limit of a 64 MiB heap
        Obs obs = new Obs(server.post("/execute_action", action("write",
                args().put("path", target.toString()).put("content", content))).json());
        assertThat(obs.type()).isEqualTo("write");
        assertThat(Files.size(target)).isEqualTo(content.length() + 1);
        Files.delete(target);
    }

    @Test
    void readOfASixteenMegabyteFileIsBoundedAndRangesStream() throws IOException {
        Path big = server.workingDir().resolve("big.txt");
        try (var out = Files.newBufferedWriter(big)) {
            for (int i = 0; i < 1_000_000; i++) {
                out.write("line " + i + " of the big file\n"); // ~26 MB
            }
        }
        try {
            Obs whole = new Obs(server.post("/execute_action", action("read", args().put("path", big.toString())))
                    .json());
            assertThat(whole.type()).isEqualTo("error");
            assertThat(whole.content()).contains("File too large").contains("read a range of lines");
            Obs range = new Obs(server.post("/execute_action", action("read", args().put("path", big.toString())
                    .put("start", 999_998).put("end", 1_000_000))).json());
            assertThat(range.content()).isEqualTo("line 999998 of the big file\nline 999999 of the big file\n");
            Obs view = new Obs(server.post("/execute_action", action("read", args().put("path", big.toString())
                    .put("impl_source", "oh_aci"))).json());
            assertThat(view.content()).contains("File is too large");
        } finally {
            Files.deleteIfExists(big);
        }
    }

    // ------------------------------------------------------------------ 4. FIFOs and deadlines

    @Test
    void readOfAFifoIsRefusedAtOnceAndTheLockIsFree() throws Exception {
        Path fifo = server.workingDir().resolve("pipe");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        try {
            Obs read = new Obs(server.post("/execute_action", action("read", args().put("path", fifo.toString())))
                    .json());
            assertThat(read.content()).startsWith("Not a regular file: " + fifo);
            Obs view = new Obs(server.post("/execute_action", action("read", args().put("path", fifo.toString())
                    .put("impl_source", "oh_aci"))).json());
            assertThat(view.content()).contains("Not a regular file");
            Obs write = new Obs(server.post("/execute_action", action("write", args().put("path", fifo.toString())
                    .put("start", 1).put("end", 2).put("content", "x"))).json());
            assertThat(write.content()).startsWith("Not a regular file");
            Response download = server.get("/download_files?path=" + fifo);
            assertThat(download.status()).isEqualTo(400);
            assertThat(server.execute("echo lock-free").content()).isEqualTo("lock-free");
        } finally {
            Files.deleteIfExists(fifo);
        }
    }

    @Test
    void everyCommandEndsByTheLongestActionTime() {
        try (ServerProcess capped = ServerProcess.start(Map.of("AGENT_RUNTIME_MAX_ACTION_SECONDS", "1.5"))) {
            // blocking, no timeout: it would hold the action lock for ever; the cap answers it as timed out
            Run blocking = Run.of("sleep 30").blocking(true);
            Obs obs = capped.execute(blocking);
            assertThat(obs.exitCode()).isEqualTo(-1);
            assertThat(obs.suffix()).contains("The command timed out after 1.5 seconds");
            assertThat(capped.execute(Run.of("C-c").hardTimeout(10)).exitCode()).isEqualTo(130);
        }
    }

    // ------------------------------------------------------------------ 5. uploads

    @Test
    void zipWith300kEntriesIsRefusedFastAndLeavesNothing() throws IOException {
        Path zip = HostileZips.manyEntries(Files.createTempFile("many-", ".zip"), 300_000);
        try {
            byte[] bytes = Files.readAllBytes(zip);
            Path dest = server.workingDir().resolve("many");
            long start = System.nanoTime();
            Response response = server.upload(dest, "many.zip", bytes);
            long millis = (System.nanoTime() - start) / 1_000_000;
            System.out.printf("[hardening] %d-byte zip with 300,000 entries refused in %d ms (upload included)%n",
                    bytes.length, millis);
            assertThat(response.status()).isEqualTo(413);
            assertThat(response.json().path("detail").asText()).contains("300000 entries, more than the limit of 100000");
            assertThat(dest).doesNotExist();
        } finally {
            Files.delete(zip);
        }
    }

    @Test
    void zipBombIsRefusedBeforeItExpands() {
        byte[] honest = HostileZips.bomb(4, 1024, true); // ~4 MB that claims and holds 4 GiB
        Path dest = server.workingDir().resolve("bomb");
        Response response = server.upload(dest, "bomb.zip", honest);
        assertThat(response.status()).isEqualTo(413);
        assertThat(response.json().path("detail").asText()).contains("times its size");
        assertThat(dest).doesNotExist();
    }

    @Test
    void zipBombThatLiesAboutItsSizeIsCaughtWhileExtracting() throws IOException {
        byte[] liar = HostileZips.bomb(4, 1024, false); // declares 1,000 bytes per entry
        Path dest = Files.createDirectories(server.workingDir().resolve("liar"));
        Response response = server.upload(dest, "liar.zip", liar);
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().path("detail").asText()).contains("expands beyond the 1000 bytes its header declares");
        try (Stream<Path> left = Files.list(dest)) {
            assertThat(left).as("staging and partial files are removed").isEmpty();
        }
    }

    @Test
    void longEntryNameIs400() throws IOException {
        Path dest = server.workingDir().resolve("long");
        Response response = server.upload(dest, "long.zip", HostileZips.longName(300));
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().path("detail").asText()).contains("longer than 255 bytes");
        assertThat(dest).doesNotExist();
    }

    // ------------------------------------------------------------------ 6. shell recovery

    @Test
    void execBashIsDetectedAndANewShellServes() {
        Obs replaced = server.execute(Run.of("exec bash").hardTimeout(30));
        assertThat(replaced.suffix()).contains("The shell was replaced (by exec)");
        assertThat(server.execute("echo after-exec").content()).isEqualTo("after-exec");
        Obs python = server.execute(Run.of("exec sleep 60").hardTimeout(30));
        assertThat(python.suffix()).contains("The shell was replaced");
        assertThat(server.execute("echo again").content()).isEqualTo("again");
    }

    @Test
    void redirectingOrClosingTheShellsOutputKeepsTheMarker() {
        assertThat(server.execute("exec >out.log 2>&1").exitCode()).isZero();
        Obs hidden = server.execute("echo into-the-log");
        assertThat(hidden.exitCode()).isZero();
        assertThat(hidden.content()).isEmpty();
        assertThat(server.execute("exec >/dev/tty 2>&1; echo back").content()).isEqualTo("back");
        assertThat(server.execute("exec >&-").exitCode()).isZero();
        Obs closed = server.execute("echo nowhere");
        assertThat(closed.exitCode()).isEqualTo(1); // write error: the command ends, with its real exit code
        assertThat(server.execute("exec >/dev/tty; echo restored").content()).isEqualTo("restored");
    }

    @Test
    void sttySaneDoesNotLeakTheInjectLine() {
        assertThat(server.execute("stty sane").exitCode()).isZero();
        assertThat(server.execute("echo one").content()).isEqualTo("one");
        assertThat(server.execute("echo two").content()).isEqualTo("two");
        server.execute("stty -onlcr -echoctl");
    }

    @Test
    void theNonceIsInNoEnvironmentAndNoFile() {
        assertThat(server.execute("env | grep -c AR_NONCE; tr '\\0' '\\n' </proc/$$/environ | grep -c AR_NONCE")
                .content()).isEqualTo("0\n0");
        Obs files = server.execute("ls /dev/shm/agent-runtime-shell-*" + server.process().pid() + "-*/");
        assertThat(files.content()).isEqualTo("command"); // the rc file with the nonce is gone once bash read it
    }

    @Test
    void aForgedMarkerWithoutTheNonceDoesNotEndTheCommand() {
        Obs obs = server.execute("printf '\\036ARdeadbeef\\0371\\0370\\037\\037/\\037\\035'; sleep 0.2; false");
        assertThat(obs.exitCode()).isEqualTo(1);
    }

    // ------------------------------------------------------------------ 9. small ones

    @Test
    void timeoutOf1e308IsClampedNotA500() {
        String body = "{\"action\": {\"action\": \"run\", \"args\": {\"command\": \"echo big-timeout\"}, \"timeout\": 1e308}}";
        Response response = server.post("/execute_action", body);
        assertThat(response.status()).isEqualTo(200);
        assertThat(new Obs(response.json()).content()).isEqualTo("big-timeout");
        Response infinite = server.post("/execute_action", body.replace("1e308", "1e999"));
        assertThat(infinite.status()).isEqualTo(200);
    }

    @Test
    void longInputIsDeliveredWholeInLinesOrRefused() throws IOException {
        Obs cat = server.execute(Run.of("cat > got.txt"));
        assertThat(cat.exitCode()).isEqualTo(-1);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 120; i++) {
            text.append(String.format("%099d", i)).append('\n'); // 12,000 bytes in 100-byte lines
        }
        text.setLength(text.length() - 1); // the server ends the input with a newline
        Obs typed = server.execute(Run.input(text.toString()));
        assertThat(typed.exitCode()).isEqualTo(-1);
        Response oneLine = server.post("/execute_action", action("run", args().put("command", "z".repeat(8000))
                .put("is_input", true)));
        assertThat(oneLine.status()).isEqualTo(413);
        assertThat(oneLine.json().path("detail").asText()).contains("a line longer than 4095 bytes");
        Response huge = server.post("/execute_action", action("run", args().put("command",
                "line\n".repeat(200_000)).put("is_input", true)));
        assertThat(huge.status()).isEqualTo(413);
        assertThat(server.execute(Run.input("C-d")).exitCode()).isZero();
        assertThat(Files.size(server.workingDir().resolve("got.txt"))).isEqualTo(12_000);
    }

    @Test
    void theKeyNeverReachesTheLogs() {
        server.execute("echo log-check");
        server.send("POST", "/execute_action", "{}", "wrong-" + KEY, Duration.ofSeconds(10));
        assertThat(server.recentOutput()).contains("run").doesNotContain(KEY);
    }

    // ------------------------------------------------------------------ 8. secrets

    @Test
    void emptyKeyIsRefusedAtStart() throws Exception {
        Path dir = Files.createTempDirectory("agent-runtime-it-");
        try {
            Process p = ServerProcess.launch(Map.of("SESSION_API_KEY", ""), dir, List.of());
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isEqualTo(2);
            assertThat(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8))
                    .contains("SESSION_API_KEY is set but empty");
        } finally {
            ServerProcess.deleteTree(dir);
        }
    }

    @Test
    void keyFileIsReadDeletedAndRequired() throws Exception {
        Path dir = Files.createTempDirectory("agent-runtime-it-");
        Path keyFile = Files.createTempFile("key-", ".txt", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rw-------")));
        Files.writeString(keyFile, "from-a-file-9d2\n");
        try (ServerProcess fromFile = ServerProcess.start(Map.of(), dir, true,
                List.of("--session-api-key-file", keyFile.toString()), null).withKey("from-a-file-9d2")) {
            assertThat(keyFile).as("the key file is deleted once read").doesNotExist();
            assertThat(fromFile.execute("echo keyed").content()).isEqualTo("keyed");
            assertThat(fromFile.send("POST", "/execute_action", "{}", null, Duration.ofSeconds(10)).status())
                    .isEqualTo(403);
            assertThat(fromFile.execute("tr '\\0' '\\n' </proc/$PPID/environ 2>/dev/null | grep -c from-a-file;"
                    + " true").content()).isEqualTo("0");
        } finally {
            Files.deleteIfExists(keyFile);
        }
    }

    @Test
    void keyFileOthersCanReadIsRefused() throws Exception {
        Path dir = Files.createTempDirectory("agent-runtime-it-");
        Path keyFile = Files.createTempFile("key-", ".txt");
        Files.writeString(keyFile, "readable");
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-r--r--"));
        try {
            Process p = ServerProcess.launch(Map.of(), dir, List.of("--session-api-key-file", keyFile.toString()));
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isEqualTo(2);
            assertThat(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8))
                    .contains("is accessible to its group or to others (rw-r--r--)");
        } finally {
            Files.deleteIfExists(keyFile);
            ServerProcess.deleteTree(dir);
        }
    }

    @Test
    void keyOnStdinsFirstLine() throws Exception {
        Path dir = Files.createTempDirectory("agent-runtime-it-");
        try (ServerProcess fromStdin = ServerProcess.start(Map.of("AGENT_RUNTIME_EXIT_ON_STDIN_EOF", "1"), dir, true,
                List.of("--session-api-key-stdin"), "from-stdin-77a").withKey("from-stdin-77a")) {
            assertThat(fromStdin.execute("echo keyed").content()).isEqualTo("keyed");
            assertThat(fromStdin.send("POST", "/execute_action", "{}", "wrong", Duration.ofSeconds(10)).status())
                    .isEqualTo(403);
            fromStdin.closeStdin(); // what's left of stdin is still the parent's EOF signal
            assertThat(fromStdin.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
    }

    // ------------------------------------------------------------------ 7. identity

    @Test
    void withAUserFileActionsAndUploadsRunAsThatUser() throws Exception {
        assumeTrue(dev.agentruntime.server.os.ProcessControlAccess.isRoot(), "needs root to switch users");
        Path dir = Files.createTempDirectory("agent-runtime-it-");
        try (ServerProcess asNobody = ServerProcess.start(Map.of("SESSION_API_KEY", KEY), dir, true,
                List.of("--username", "nobody"), null)) {
            assertThat(Files.readString(Path.of("/proc/" + asNobody.process().pid() + "/status")))
                    .containsPattern("Uid:\\s+65534\\s+65534\\s+65534");
            Obs shadow = new Obs(asNobody.post("/execute_action", action("read", args().put("path", "/etc/shadow")))
                    .json());
            assertThat(shadow.content()).contains("Permission denied");
            Obs view = new Obs(asNobody.post("/execute_action", action("read", args().put("path", "/etc/shadow")
                    .put("impl_source", "oh_aci"))).json());
            assertThat(view.content()).doesNotContain("root:");
            Obs write = new Obs(asNobody.post("/execute_action", action("write",
                    args().put("path", "/root/planted.txt").put("content", "x"))).json());
            assertThat(write.type()).isEqualTo("error");
            assertThat(Path.of("/root/planted.txt")).doesNotExist();
            Response upload = asNobody.upload(dir.resolve("up"), "note.txt", "hello".getBytes(StandardCharsets.UTF_8));
            assertThat(upload.status()).isEqualTo(200);
            Path note = dir.resolve("up/note.txt");
            assertThat(Files.getOwner(note).getName()).isEqualTo("nobody");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(note))).isEqualTo("rw-r--r--");
            assertThat(asNobody.execute("id -un; cat /proc/$PPID/environ >/dev/null 2>&1 || echo environ-closed")
                    .content()).isEqualTo("nobody\nenviron-closed");
        }
    }

    // ------------------------------------------------------------------ 9. leftovers

    @Test
    void parentGoneLeavesNoProcessNoScratchAndNoWorkingDirectory() throws Exception {
        Path dir = Files.createTempDirectory("agent-runtime-it-");
        ServerProcess owned = ServerProcess.start(Map.of("AGENT_RUNTIME_EXIT_ON_STDIN_EOF", "1"), dir, true,
                List.of("--remove-working-dir-on-exit"), null);
        try {
            owned.execute("(sleep 1000 &)");
            owned.execute("setsid sleep 1001 > /dev/null 2>&1 &");
            owned.execute("nohup sleep 1002 > /dev/null 2>&1 &");
            List<ProcessHandle> sleepers = new ArrayList<>();
            ServerProcess.awaitCondition(Duration.ofSeconds(10), "three sleepers", () -> {
                sleepers.clear();
                owned.descendants().stream().filter(p -> p.info().commandLine().orElse("").contains("sleep 100"))
                        .forEach(sleepers::add);
                return sleepers.size() == 3;
            });
            long pid = owned.process().pid();
            owned.closeStdin(); // what the owner's kill -9 looks like to the server
            assertThat(owned.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
            for (ProcessHandle p : sleepers) {
                ServerProcess.awaitCondition(Duration.ofSeconds(10), "pid " + p.pid() + " gone", () -> !p.isAlive());
            }
            try (Stream<Path> shm = Files.list(Path.of("/dev/shm"))) {
                assertThat(shm.map(p -> p.getFileName().toString()))
                        .noneMatch(name -> name.startsWith("agent-runtime-shell-" + pid + "-"));
            }
            assertThat(dir).as("--remove-working-dir-on-exit").doesNotExist();
        } finally {
            owned.close();
        }
    }
}
