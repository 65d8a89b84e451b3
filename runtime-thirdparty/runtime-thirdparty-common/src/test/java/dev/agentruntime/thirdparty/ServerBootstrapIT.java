package dev.agentruntime.thirdparty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.CmdRunAction;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.spi.ActionServerClient;
import dev.agentruntime.spi.PortAllocator;
import dev.agentruntime.spi.PortLease;
import dev.agentruntime.spi.PortRange;
import dev.agentruntime.spi.ServerBundle;
import dev.agentruntime.spi.ServerEndpoint;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.StartupLog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bootstrap against a "sandbox" that is this host's bash: the real bundle (a real jlink, cached per JDK) uploaded,
 * digest-checked and unpacked by the real tools, the real server started detached and reached over HTTP, its death
 * and its log noticed the way a vendor backend notices them.
 */
class ServerBootstrapIT {

    @TempDir
    Path tmp;

    private final List<String> commandsRun = new ArrayList<>();
    private final List<Long> servers = new ArrayList<>();

    /** A vendor's two primitives, on this host. */
    private final SandboxCommands host = new SandboxCommands() {
        @Override
        public Result run(String command, Duration timeout) {
            commandsRun.add(command);
            try {
                Process process = new ProcessBuilder("bash", "-c", command).start();
                process.getOutputStream().close();
                byte[] out = process.getInputStream().readAllBytes();
                byte[] err = process.getErrorStream().readAllBytes();
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly();
                    throw new RuntimeTimeoutException("bash -c did not end within " + timeout);
                }
                return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8),
                        new String(err, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void upload(Path hostFile, String sandboxPath) {
            try {
                Files.createDirectories(Path.of(sandboxPath).getParent());
                Files.copy(hostFile, Path.of(sandboxPath));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    @AfterEach
    void stopServers() {
        servers.forEach(pid -> ProcessHandle.of(pid).ifPresent(p -> {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }));
    }

    private ServerBootstrap bootstrap(List<String> progress) {
        return new ServerBootstrap("Host", "sb-1", host, progress::add, tmp.resolve("state").toString());
    }

    @Test
    void installsOnceStartsDetachedAndNoticesTheServersEnd() throws Exception {
        ServerBundle bundle = ServerBundle.prepare(line -> { });
        List<String> progress = new ArrayList<>();
        ServerBootstrap bootstrap = bootstrap(progress);
        String dir = tmp.resolve("opt").toString();

        ServerBootstrap.Installed first = bootstrap.install(bundle, dir);
        assertThat(first.uploadedBytes()).isEqualTo(bundle.size());
        assertThat(progress).anyMatch(p -> p.startsWith("Uploading the action server bundle"));
        ServerBootstrap.Installed again = bootstrap.install(bundle, dir);
        assertThat(again.uploadedBytes()).as("already installed: nothing sent").isZero();
        assertThat(again.java()).isEqualTo(dir + "/jre/bin/java");

        try (PortLease port = PortAllocator.defaults().allocate(PortRange.EXECUTION_SERVER)) {
            RuntimeConfig config = RuntimeConfig.builder().sessionId("boot-1").build();
            ServerLaunch launch = ServerLaunch.forSession(config).java(first.java()).jar(first.jar())
                    .port(port.port()).bindAddress("127.0.0.1").workingDir(tmp.resolve("ws").toString()).build();
            bootstrap.start(launch);
            assertThat(bootstrap.exited()).isFalse();
            try (ActionServerClient client = new ActionServerClient(ServerEndpoint.of(
                    URI.create("http://127.0.0.1:" + port.port()), launch.sessionApiKey()), "boot-1")) {
                client.awaitAlive(Instant.now().plusSeconds(60), () -> !bootstrap.exited(), bootstrap::describeExit);
                assertThat(client.execute(CmdRunAction.of("echo $AGENT_RUNTIME_SESSION_ID"), Duration.ofSeconds(30))
                        .content()).isEqualTo("boot-1");
                long pid = Long.parseLong(client.execute(CmdRunAction.of("echo $PPID"), Duration.ofSeconds(30))
                        .content().strip());
                servers.add(pid);
                assertThat(commandsRun).as("start() returned while the server runs: it is detached").isNotEmpty();
                ProcessHandle.of(pid).orElseThrow().destroy();
            }
            awaitTrue(Duration.ofSeconds(30), bootstrap::exited);
            assertThat(bootstrap.exitCode()).isPresent();
            assertThat(bootstrap.describeExit()).startsWith("The action server exited with code");
            assertThat(bootstrap.logTail()).anyMatch(line -> line.startsWith(ServerLaunch.READY_LINE_PREFIX));
        }
    }

    @Test
    void aServerThatCannotStartLeavesItsReasonInTheLogTail() throws Exception {
        ServerBundle bundle = ServerBundle.prepare(line -> { });
        ServerBootstrap bootstrap = bootstrap(new ArrayList<>());
        ServerBootstrap.Installed server = bootstrap.install(bundle, tmp.resolve("opt").toString());
        RuntimeConfig config = RuntimeConfig.builder().sessionId("boot-2")
                .env("JAVA_TOOL_OPTIONS", "-XX:+NoSuchBootstrapOption").build();
        bootstrap.start(ServerLaunch.forSession(config).java(server.java()).jar(server.jar()).port(0)
                .workingDir(tmp.resolve("ws").toString()).build());
        ServerBootstrap.ExitWatch watch = new ServerBootstrap.ExitWatch(bootstrap, Duration.ofMillis(100));
        awaitTrue(Duration.ofSeconds(30), () -> !watch.stillRunning());
        assertThat(bootstrap.exitCode()).hasValueSatisfying(code -> assertThat(code).isNotZero());
        StartupLog startupLog = new StartupLog(null);
        bootstrap.feedLogTail(startupLog);
        assertThat(startupLog.describe()).startsWith("Last server log lines:").contains("NoSuchBootstrapOption");
    }

    @Test
    void aDamagedUploadIsReportedAsSuch() {
        ServerBundle bundle = ServerBundle.prepare(line -> { });
        SandboxCommands truncating = new SandboxCommands() {
            @Override
            public Result run(String command, Duration timeout) {
                return host.run(command, timeout);
            }

            @Override
            public void upload(Path hostFile, String sandboxPath) {
                try {
                    Files.createDirectories(Path.of(sandboxPath).getParent());
                    byte[] bytes = Files.readAllBytes(hostFile);
                    Files.write(Path.of(sandboxPath), java.util.Arrays.copyOf(bytes, bytes.length / 2));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
        ServerBootstrap bootstrap = new ServerBootstrap("Host", "sb-3", truncating, line -> { },
                tmp.resolve("state").toString());
        assertThatThrownBy(() -> bootstrap.install(bundle, tmp.resolve("opt").toString()))
                .isInstanceOf(RuntimeStartupException.class).hasMessageContaining("arrived damaged")
                .hasMessageContaining("sandbox sb-3");
        assertThat(tmp.resolve("opt")).doesNotExist();
    }

    private static void awaitTrue(Duration timeout, java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within " + timeout).isLessThan(deadline);
            Thread.sleep(50); // polling a condition with a deadline
        }
    }
}
