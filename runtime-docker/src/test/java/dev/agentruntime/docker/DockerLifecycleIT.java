package dev.agentruntime.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Ports;
import dev.agentruntime.Capability;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.StatusEvent;
import dev.agentruntime.docker.internal.Labels;
import dev.agentruntime.testkit.RequiresDocker;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** The Docker backend's lifecycle against a real daemon and the locally built Debian image. */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DockerLifecycleIT {

    private final DockerTestClient docker = new DockerTestClient();

    @AfterAll
    void closeClient() {
        docker.close();
    }

    private static String session() {
        return "it-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static DockerRuntimeConfig.Builder debian() {
        return DockerRuntimeConfig.builder().image(TestImages.DEBIAN).pullPolicy(PullPolicy.NEVER);
    }

    private static RuntimeConfig.Builder config(String session, DockerRuntimeConfig.Builder dockerConfig) {
        return RuntimeConfig.builder().type("docker").sessionId(session).startupTimeout(Duration.ofMinutes(3))
                .sessionApiKey("test-key-" + session) // attach needs the session's key: it is in no container config
                .backendConfig(dockerConfig.build());
    }

    @Test
    void createsALabelledContainerOnLoopbackAndRemovesItOnClose() throws Exception {
        String session = session();
        List<StatusEvent> events = new CopyOnWriteArrayList<>();
        String id;
        try (DockerRuntime sandbox = new DockerRuntime(config(session, debian()).statusListener(events::add).build())) {
            sandbox.connect();
            assertThat(sandbox.status()).isEqualTo(RuntimeStatus.READY);
            CmdOutputObservation out = sandbox.run("echo hello from $(hostname) in $(pwd)");
            assertThat(out.exitCode()).isZero();
            assertThat(out.content()).contains("hello from").contains("in /workspace");

            id = sandbox.containerId().orElseThrow();
            InspectContainerResponse info = docker.inspect(id).orElseThrow();
            assertThat(info.getName()).isEqualTo("/agent-runtime-" + session);
            Map<String, String> labels = info.getConfig().getLabels();
            assertThat(labels).containsEntry(Labels.MANAGED_BY, "agent-runtime")
                    .containsEntry(Labels.SESSION_ID, session)
                    .containsEntry(Labels.OWNER_PID, Long.toString(ProcessHandle.current().pid()))
                    .containsEntry(Labels.OWNER_HOST, dev.agentruntime.spi.SandboxOwner.current().host())
                    .containsEntry(Labels.KEEP_ALIVE, "false")
                    .containsKeys(Labels.CREATED_AT, Labels.VERSION, Labels.OWNER_STARTED);
            HostConfig host = info.getHostConfig();
            assertThat(host.getAutoRemove()).isTrue();
            assertThat(host.getInit()).isTrue();
            assertThat(host.getPrivileged()).isFalse();
            Map<ExposedPort, Ports.Binding[]> bindings = info.getNetworkSettings().getPorts().getBindings();
            Ports.Binding[] server = bindings.get(ExposedPort.tcp(60000));
            assertThat(server).as("the server's port").hasSize(1);
            assertThat(server[0].getHostIp()).isEqualTo("127.0.0.1");
            // by default only the server's port is published: each published port is a docker-proxy to start
            assertThat(sandbox.publishedPorts()).containsOnlyKeys(60000)
                    .containsEntry(60000, Integer.parseInt(server[0].getHostPortSpec()));
            assertThat(bindings).doesNotContainKeys(ExposedPort.tcp(60001), ExposedPort.tcp(60002),
                    ExposedPort.tcp(60003));
            assertThat(sandbox.webHosts()).isEmpty();
            assertThat(sandbox.capabilities()).contains(Capability.SHELL, Capability.FILES,
                    Capability.PAUSE_RESUME, Capability.ATTACH, Capability.ISOLATION,
                    Capability.IPYTHON) // the test image has python3 (.ci/docker-setup.sh)
                    .doesNotContain(Capability.WEB_HOSTS);
        }
        assertThat(events).extracting(StatusEvent::status).contains(RuntimeStatus.STARTING_RUNTIME,
                RuntimeStatus.RUNTIME_STARTED, RuntimeStatus.READY, RuntimeStatus.CLOSED);
        assertThat(docker.awaitGone(id, Duration.ofSeconds(10))).as("container removed on close").isTrue();
    }

    @Test
    void webHostsReachAnApplicationListeningInTheSandbox() throws Exception {
        try (DockerRuntime sandbox = new DockerRuntime(config(session(), debian().publishAppPorts(true)).build())) {
            sandbox.connect();
            Map<String, Integer> hosts = sandbox.webHosts();
            assertThat(hosts).hasSize(2).containsValues(60002, 60003);
            assertThat(sandbox.publishedPorts()).containsOnlyKeys(60000, 60001, 60002, 60003);
            assertThat(sandbox.capabilities()).contains(Capability.WEB_HOSTS);
            assertThat(hosts.keySet()).allMatch(url -> url.startsWith("http://127.0.0.1:"));
            sandbox.run("perl -MIO::Socket::INET -e '$s=IO::Socket::INET->new(LocalPort=>60002,Listen=>5,"
                    + "ReuseAddr=>1) or die; while($c=$s->accept){<$c>; print $c \"HTTP/1.0 200 OK\\r\\n\\r\\n"
                    + "hello from the app\"; close $c}' > /dev/null 2>&1 &");
            String url = hosts.entrySet().stream().filter(e -> e.getValue() == 60002).findFirst().orElseThrow()
                    .getKey();
            assertThat(getWithin(URI.create(url + "/"), Duration.ofSeconds(20))).isEqualTo("hello from the app");
        }
    }

    /** GETs the URL until it answers 200 or the deadline passes (the app starts in the background). */
    private static String getWithin(URI uri, Duration timeout) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        Instant deadline = Instant.now().plus(timeout);
        Exception last = null;
        while (Instant.now().isBefore(deadline)) {
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri)
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    return response.body();
                }
            } catch (IOException e) {
                last = e;
            }
            Thread.sleep(100); // waiting for a background server to listen, bounded by the deadline
        }
        throw new AssertionError("no answer from " + uri + " within " + timeout, last);
    }

    @Test
    void pauseAndResumeKeepABackgroundProcessAndTheShell() throws Exception {
        try (DockerRuntime sandbox = new DockerRuntime(config(session(), debian()).build())) {
            sandbox.connect();
            sandbox.run("mkdir -p /tmp/here && cd /tmp/here && export KEPT=yes");
            sandbox.run("sleep 600 > /dev/null 2>&1 &");
            String pid = sandbox.run("echo pid=$!").content().replaceAll("(?s).*pid=(\\d+).*", "$1");
            assertThat(pid).matches("\\d+");

            sandbox.pause();
            assertThat(sandbox.status()).isEqualTo(RuntimeStatus.PAUSED);
            assertThat(docker.inspect(sandbox.containerId().orElseThrow()).orElseThrow().getState().getPaused())
                    .isTrue();

            sandbox.resume();
            assertThat(sandbox.status()).isEqualTo(RuntimeStatus.READY);
            assertThat(sandbox.run("kill -0 " + pid + " && echo still-running").content()).contains("still-running");
            assertThat(sandbox.run("echo $(pwd) $KEPT").content()).contains("/tmp/here yes");
        }
    }

    @Test
    void stopModePauseStopsTheContainerAndResumeKeepsFilesAndUrls() throws Exception {
        try (DockerRuntime sandbox = new DockerRuntime(config(session(), debian().pauseMode(PauseMode.STOP).publishAppPorts(true))
                .build())) {
            sandbox.connect();
            Map<String, Integer> hostsBefore = sandbox.webHosts();
            assertThat(hostsBefore).hasSize(2);
            sandbox.run("echo survived > /tmp/file");
            sandbox.pause();
            InspectContainerResponse stopped = docker.inspect(sandbox.containerId().orElseThrow()).orElseThrow();
            assertThat(stopped.getState().getRunning()).isFalse();
            assertThat(stopped.getHostConfig().getAutoRemove()).isFalse();

            sandbox.resume();
            assertThat(sandbox.run("cat /tmp/file").content()).contains("survived");
            assertThat(sandbox.webHosts()).isEqualTo(hostsBefore);
        }
    }

    @Test
    void attachWorksAfterTheCreatingJvmClosedWithoutRemoving() throws Exception {
        String session = session();
        String id;
        try (ChildJvm child = ChildJvm.start("keep", session)) {
            String created = child.readLine(Duration.ofMinutes(3));
            assertThat(created).startsWith("CREATED ");
            id = created.substring("CREATED ".length());
            assertThat(child.readLine(Duration.ofSeconds(60))).isEqualTo("CLOSED");
            assertThat(child.waitFor(Duration.ofSeconds(30))).isZero();
        }
        assertThat(docker.inspect(id)).as("keep-alive container outlives its JVM").isPresent();

        try (DockerRuntime attached = new DockerRuntime(config(session, debian()).attachToExisting(true).build())) {
            attached.connect();
            assertThat(attached.containerId()).contains(id);
            assertThat(attached.run("cat /tmp/from-child").content()).contains("written-by-the-child");
        }
        assertThat(docker.awaitGone(id, Duration.ofSeconds(10))).as("closing the attached runtime removes it")
                .isTrue();
    }

    @Test
    void attachStartsAStoppedContainer() throws Exception {
        String session = session();
        String id;
        try (DockerRuntime first = new DockerRuntime(config(session, debian()).keepAlive(true).build())) {
            first.connect();
            first.run("echo before-stop > /tmp/state");
            id = first.containerId().orElseThrow();
        }
        docker.client().stopContainerCmd(id).withTimeout(5).exec();
        assertThat(docker.inspect(id).orElseThrow().getState().getRunning()).isFalse();

        try (DockerRuntime attached = new DockerRuntime(config(session, debian()).attachToExisting(true).build())) {
            attached.connect();
            assertThat(attached.run("cat /tmp/state").content()).contains("before-stop");
        }
        assertThat(docker.awaitGone(id, Duration.ofSeconds(10))).isTrue();
    }

    @Test
    void attachingToAMissingSessionFailsWithNotFound() {
        String session = session();
        DockerRuntime runtime = new DockerRuntime(config(session, debian()).attachToExisting(true).build());
        assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining("agent-runtime-" + session)
                .hasMessageContaining("no container named");
        runtime.close();
    }

    @Test
    void aSessionIdInUseGivesAClearErrorAndLeavesTheFirstSandboxAlone() {
        String session = session();
        try (DockerRuntime first = new DockerRuntime(config(session, debian()).build())) {
            first.connect();
            DockerRuntime second = new DockerRuntime(config(session, debian()).build());
            assertThatThrownBy(second::connect).isInstanceOf(RuntimeStartupException.class)
                    .hasMessageContaining("already exists")
                    .hasMessageContaining("attachToExisting");
            second.close();
            assertThat(first.run("echo first-still-works").content()).contains("first-still-works");
        }
    }

    @Test
    void aMissingImageGivesAClearErrorAndLeavesNothingBehind() {
        String session = session();
        DockerRuntime runtime = new DockerRuntime(config(session, DockerRuntimeConfig.builder()
                .image("agent-runtime-test/no-such-image:1").pullPolicy(PullPolicy.NEVER)).build());
        assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining("agent-runtime-test/no-such-image:1")
                .hasMessageContaining("is not on the Docker daemon");
        runtime.close();
        assertThat(docker.countSession(session)).isZero();
    }

    @Test
    void aMalformedImageNameGivesAClearError() {
        DockerRuntime runtime = new DockerRuntime(config(session(), DockerRuntimeConfig.builder()
                .image("Not A Valid/Image!!").pullPolicy(PullPolicy.NEVER)).build());
        assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining("Not A Valid/Image!!");
        runtime.close();
    }

    @Test
    void anImageWithoutBashFailsFastAndSaysWhy() {
        Instant start = Instant.now();
        DockerRuntime runtime = new DockerRuntime(config(session(), DockerRuntimeConfig.builder()
                .image(TestImages.NO_BASH).pullPolicy(PullPolicy.NEVER)).build());
        assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining(TestImages.NO_BASH)
                .hasMessageContaining("has no bash")
                .hasMessageContaining("Debian/Ubuntu-based image");
        runtime.close();
        assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(30));
    }

    @Test
    void aServerThatCannotStartReportsItsExitCodeAndLastLogLines() throws Exception {
        String session = session();
        // the server refuses a malformed idle timeout and exits with status 2
        DockerRuntime runtime = new DockerRuntime(config(session, debian().idleTimeout(Duration.ZERO)
                .env("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS", "not-a-number")).build());
        assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining("agent-runtime-" + session)
                .hasMessageContaining("exit code 2")
                .hasMessageContaining("Last server log lines")
                .hasMessageContaining("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS must be a number of seconds");
        runtime.close();
        assertThat(docker.awaitNoSession(session, Duration.ofSeconds(10))).as("nothing left behind").isTrue();
    }

    @Test
    void limitsAreAppliedToTheRunningContainer() {
        try (DockerRuntime sandbox = new DockerRuntime(config(session(), debian()
                .cpus(1.5).memory("512m").pidsLimit(256)).build())) {
            sandbox.connect();
            HostConfig host = docker.inspect(sandbox.containerId().orElseThrow()).orElseThrow().getHostConfig();
            assertThat(host.getNanoCPUs()).isEqualTo(1_500_000_000L);
            assertThat(host.getMemory()).isEqualTo(512L * 1024 * 1024);
            assertThat(host.getPidsLimit()).isEqualTo(256L);
            assertThat(sandbox.run("cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max")
                    .content()).contains("256");
        }
    }

    @Test
    void hostNetworkModeServesOnAnAllocatedPort() {
        try (DockerRuntime sandbox = new DockerRuntime(config(session(), debian().hostNetwork(true)).build())) {
            sandbox.connect();
            int serverPort = sandbox.publishedPorts().keySet().iterator().next();
            assertThat(serverPort).isBetween(30000, 39999);
            assertThat(sandbox.publishedPorts()).allSatisfy((inside, host) -> assertThat(inside).isEqualTo(host));
            assertThat(sandbox.webHosts()).hasSize(2);
            assertThat(sandbox.run("echo $APP_PORT_1").content().strip())
                    .isEqualTo(Integer.toString(sandbox.webHosts().values().iterator().next()));
            assertThat(docker.inspect(sandbox.containerId().orElseThrow()).orElseThrow().getHostConfig()
                    .getNetworkMode()).isEqualTo("host");
        }
    }

    @Test
    void workspaceBindMountsAndNamedVolumesAreMounted(@TempDir Path workspace, @TempDir Path readOnly)
            throws Exception {
        Files.writeString(workspace.resolve("from-host.txt"), "host file");
        Files.writeString(readOnly.resolve("ro.txt"), "read only");
        String volume = "agent-runtime-it-" + UUID.randomUUID().toString().substring(0, 8);
        try (DockerRuntime sandbox = new DockerRuntime(config(session(), debian()
                .volume(readOnly + ":/data:ro")
                .volume(DockerVolume.named(volume, "/cache")))
                .workspace(workspace).build())) {
            sandbox.connect();
            assertThat(sandbox.run("cat /workspace/from-host.txt").content()).contains("host file");
            sandbox.run("echo from-sandbox > /workspace/back.txt");
            assertThat(Files.readString(workspace.resolve("back.txt"))).contains("from-sandbox");
            assertThat(sandbox.run("cat /data/ro.txt").content()).contains("read only");
            assertThat(sandbox.run("touch /data/nope").exitCode()).isNotZero();
            assertThat(sandbox.run("touch /cache/ok && echo written").content()).contains("written");
            assertThat(docker.client().inspectVolumeCmd(volume).exec().getLabels())
                    .containsEntry(Labels.MANAGED_BY, "agent-runtime");
        } finally {
            docker.client().removeVolumeCmd(volume).exec();
        }
    }

    @Test
    void theShellRunsAsTheConfiguredUser() {
        try (DockerRuntime sandbox = new DockerRuntime(config(session(), debian().user("agent", 4321))
                .startupTimeout(Duration.ofSeconds(60)).build())) {
            sandbox.connect();
            assertThat(sandbox.run("echo $(id -un):$(id -u)").content()).contains("agent:4321");
            assertThat(sandbox.run("touch /workspace/mine && stat -c %U /workspace/mine").content())
                    .contains("agent");
        }
    }

    @Test
    void optionsReachTheTypedConfiguration() {
        RuntimeConfig config = RuntimeConfig.builder().type("docker").sessionId(session())
                .option("image", TestImages.DEBIAN).option("pull.policy", "never").option("memory", "256m")
                .option("idle.timeout", "2m").build();
        try (dev.agentruntime.Runtime sandbox = dev.agentruntime.RuntimeFactory.create(config)) {
            assertThat(sandbox).isInstanceOf(DockerRuntime.class);
            sandbox.connect();
            DockerRuntime dockerRuntime = (DockerRuntime) sandbox;
            assertThat(dockerRuntime.dockerConfig().idleTimeout()).isEqualTo(Duration.ofMinutes(2));
            assertThat(docker.inspect(dockerRuntime.containerId().orElseThrow()).orElseThrow().getHostConfig()
                    .getMemory()).isEqualTo(256L * 1024 * 1024);
        }
    }
}
