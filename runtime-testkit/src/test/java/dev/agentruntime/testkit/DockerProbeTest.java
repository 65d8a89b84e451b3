package dev.agentruntime.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.io.TempDir;

/** The probe against a small fake engine on a real unix socket: no Docker needed. */
class DockerProbeTest {

    @TempDir
    Path dir;
    private ServerSocketChannel server;
    private Thread serving;
    private final List<String> requests = new CopyOnWriteArrayList<>();

    /** Answers /_ping with {@code ping}, image lookups with 200 for {@code images} and 404 otherwise. */
    private URI fakeEngine(int ping, Set<String> images) throws IOException {
        Path socket = dir.resolve("docker.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        serving = new Thread(() -> {
            while (server.isOpen()) {
                try (SocketChannel client = server.accept()) {
                    ByteBuffer in = ByteBuffer.allocate(4096);
                    StringBuilder request = new StringBuilder();
                    while (request.indexOf("\r\n\r\n") < 0 && client.read(in) > 0) {
                        request.append(new String(in.array(), 0, in.position(), StandardCharsets.US_ASCII));
                        in.clear();
                    }
                    String line = request.substring(0, request.indexOf("\r\n"));
                    requests.add(line);
                    String path = line.split(" ")[1];
                    int status = path.equals("/_ping") ? ping
                            : images.stream().anyMatch(i -> path.equals("/images/" + i + "/json")) ? 200 : 404;
                    String answer = "HTTP/1.1 " + status + " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
                    client.write(ByteBuffer.wrap(answer.getBytes(StandardCharsets.US_ASCII)));
                } catch (IOException e) {
                    return;
                }
            }
        }, "fake-docker-engine");
        serving.setDaemon(true);
        serving.start();
        return URI.create("unix://" + socket);
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
            serving.join(5000);
        }
    }

    @Test
    void engineWithTheImagesHasNoProblem() throws IOException {
        URI host = fakeEngine(200, Set.of("agent-runtime-test/debian:bookworm"));
        assertThat(new DockerProbe(host).problem(List.of("agent-runtime-test/debian:bookworm"))).isEmpty();
        assertThat(requests).containsExactly("GET /_ping HTTP/1.0",
                "GET /images/agent-runtime-test/debian:bookworm/json HTTP/1.0");
    }

    @Test
    void missingImageIsNamedWithHowToBuildIt() throws IOException {
        URI host = fakeEngine(200, Set.of("a/present:1"));
        assertThat(new DockerProbe(host).problem(List.of("a/present:1", "b/missing:2")))
                .isEqualTo("test image b/missing:2 is missing; build it with .ci/docker-setup.sh");
    }

    @Test
    void noEngineSaysWhereItLooked() {
        URI host = URI.create("unix://" + dir.resolve("absent.sock"));
        assertThat(new DockerProbe(host).problem(List.of("x"))).startsWith("no Docker engine answers at " + host)
                .endsWith("start dockerd or set DOCKER_HOST");
    }

    @Test
    void unhealthyEngineIsReported() throws IOException {
        URI host = fakeEngine(500, Set.of());
        assertThat(new DockerProbe(host).problem(List.of())).contains("answers /_ping with HTTP 500");
    }

    @Test
    void dockerHostFromEnvironmentOrTheLocalSocket() {
        assertThat(DockerProbe.fromEnvironment(Map.of()).host()).isEqualTo(URI.create("unix:///var/run/docker.sock"));
        assertThat(DockerProbe.fromEnvironment(Map.of("DOCKER_HOST", "tcp://10.0.0.1:2375")).host())
                .isEqualTo(URI.create("tcp://10.0.0.1:2375"));
        assertThat(new DockerProbe(URI.create("ssh://box")).problem(List.of())).contains("not a unix:// or tcp://");
    }

    @Test
    void problemSkipsOnALaptopAndFailsWhenRequired() {
        ConditionEvaluationResult skipped = DockerAvailableCondition.evaluate("no engine", false);
        assertThat(skipped.isDisabled()).isTrue();
        assertThat(skipped.getReason()).hasValueSatisfying(reason -> assertThat(reason)
                .contains("Skipping Docker integration tests: no engine", "-Dagent.runtime.requireDocker=true"));
        assertThatThrownBy(() -> DockerAvailableCondition.evaluate("no engine", true))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("required (-Dagent.runtime.requireDocker=true) but cannot run: no engine");
        assertThat(DockerAvailableCondition.evaluate("", true).isDisabled()).isFalse();
    }
}
