package dev.agentruntime.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The local backend's half of the hardening (issue 15): the key is in no environment or command line, the server
 * listens on loopback only, and closing leaves no process, workspace or scratch file behind — also of commands that
 * left the shell's process group ({@code (cmd &)}, {@code setsid}).
 */
class LocalHardeningIT {

    @Test
    void theKeyIsInNeitherTheServersEnvironmentNorItsCommandLine() throws IOException {
        String key = "local-key-" + UUID.randomUUID();
        try (Runtime sandbox = RuntimeFactory.connect(RuntimeConfig.builder().type("local").sessionApiKey(key)
                .build())) {
            long server = Long.parseLong(sandbox.run("echo $PPID").content().strip());
            byte[] environ = Files.readAllBytes(Path.of("/proc/" + server + "/environ"));
            byte[] cmdline = Files.readAllBytes(Path.of("/proc/" + server + "/cmdline"));
            assertThat(new String(environ)).doesNotContain(key);
            assertThat(new String(cmdline)).doesNotContain(key);
            assertThat(sandbox.run("cat /proc/$PPID/environ 2>&1 | tr '\\\\0' '\\\\n' | grep -c -F -- '" + key
                    + "' || true").content().strip()).as("what the shell can read").endsWith("0");
        }
    }

    @Test
    void theServerListensOnLoopbackOnly() throws Exception {
        Optional<InetAddress> external = Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
                .filter(i -> {
                    try {
                        return i.isUp() && !i.isLoopback();
                    } catch (IOException e) {
                        return false;
                    }
                })
                .flatMap(i -> Collections.list(i.getInetAddresses()).stream())
                .filter(a -> a instanceof Inet4Address).findFirst();
        try (Runtime sandbox = RuntimeFactory.connect(RuntimeConfig.builder().type("local").build())) {
            long server = Long.parseLong(sandbox.run("echo $PPID").content().strip());
            List<String> args = List.of(ProcessHandle.of(server).orElseThrow().info().arguments().orElseThrow());
            assertThat(args).containsSubsequence("--bind", "127.0.0.1");
            int port = Integer.parseInt(args.get(args.indexOf("-jar") + 2));
            if (external.isPresent()) {
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress(external.get(), port), 2000);
                    throw new AssertionError("the server answered on " + external.get() + ":" + port);
                } catch (IOException expected) {
                    // refused: not listening there
                }
            }
            assertThat(URI.create("http://127.0.0.1:" + port).getPort()).isEqualTo(port);
        }
    }

    @Test
    void closingLeavesNoProcessWorkspaceOrScratchFile() throws Exception {
        Runtime sandbox = RuntimeFactory.connect(RuntimeConfig.builder().type("local").build());
        Path workspace = ((LocalRuntime) sandbox).workspace();
        long server = Long.parseLong(sandbox.run("echo $PPID").content().strip());
        sandbox.run("(sleep 1001 &) ; setsid sleep 1002 & nohup sleep 1003 >/dev/null 2>&1 &");
        List<ProcessHandle> sleepers = awaitSleepers(3);
        List<Path> scratchBefore = scratchOf(server);
        sandbox.close();
        for (ProcessHandle sleeper : sleepers) {
            sleeper.onExit().get(30, TimeUnit.SECONDS);
            assertThat(sleeper.isAlive()).as("sleeper " + sleeper.pid()).isFalse();
        }
        assertThat(ProcessHandle.of(server).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        assertThat(workspace).as("the temporary workspace").doesNotExist();
        assertThat(scratchBefore).as("the server's scratch files").allSatisfy(p -> assertThat(p).doesNotExist());
    }

    private static List<ProcessHandle> awaitSleepers(int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            List<ProcessHandle> sleepers = ProcessHandle.allProcesses()
                    .filter(p -> p.info().arguments().map(a -> a.length == 1 && a[0].matches("100[123]"))
                            .orElse(false))
                    .toList();
            if (sleepers.size() >= count) {
                return sleepers;
            }
            assertThat(System.nanoTime()).as("the sleepers started").isLessThan(deadline);
            Thread.sleep(50); // polling a condition with a deadline
        }
    }

    /** The server's files in /dev/shm (the shell's command files), named after its pid. */
    private static List<Path> scratchOf(long server) throws IOException {
        try (Stream<Path> files = Files.list(Path.of("/dev/shm"))) {
            return files.filter(p -> p.getFileName().toString().contains(Long.toString(server))).toList();
        }
    }
}
