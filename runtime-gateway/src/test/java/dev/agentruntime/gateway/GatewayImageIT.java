package dev.agentruntime.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import dev.agentruntime.docker.DockerRuntimeConfig;
import dev.agentruntime.docker.internal.DockerClients;
import dev.agentruntime.internal.TarWriter;
import dev.agentruntime.spi.SessionLabels;
import dev.agentruntime.testkit.RequiresDocker;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's container image, built on the local engine from {@code runtime-gateway/Dockerfile}, the runnable jar
 * and a jlinked Java runtime on the local test base image (no registry), answers {@code /health} from a container.
 */
@RequiresDocker
class GatewayImageIT {

    /** What the gateway needs of the JDK ({@code jdeps --print-module-deps} of the jar, plus logging and TLS). */
    static final List<String> MODULES = List.of("java.base", "java.compiler", "java.desktop", "java.logging",
            "java.management", "java.naming", "java.security.jgss", "java.sql", "jdk.unsupported", "jdk.crypto.ec",
            "jdk.zipfs");

    @Test
    void theImageBuiltLocallyAnswersHealthFromAContainer(@TempDir Path dir) throws Exception {
        Path jar = Path.of(System.getProperty("agent.runtime.gateway.jar", "target/runtime-gateway.jar"));
        Path jre = dir.resolve("jre");
        Process jlink = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jlink").toString(),
                "--add-modules", String.join(",", MODULES), "--strip-debug", "--no-header-files", "--no-man-pages",
                "--compress=2", "--output", jre.toString()).redirectErrorStream(true).start();
        String jlinkOutput = new String(jlink.getInputStream().readAllBytes());
        assertThat(jlink.waitFor(180, TimeUnit.SECONDS)).isTrue();
        assertThat(jlink.exitValue()).as(jlinkOutput).isZero();

        ByteArrayOutputStream context = new ByteArrayOutputStream();
        try (TarWriter tar = new TarWriter(context, 0)) {
            tar.file("Dockerfile", Path.of("Dockerfile"));
            tar.file("runtime-gateway.jar", jar);
            tar.tree("jre", jre);
            tar.finish();
        }
        String tag = "agent-runtime-test/gateway:it-" + ProcessHandle.current().pid();
        try (DockerClients.Handle docker = DockerClients.open(DockerRuntimeConfig.defaults())) {
            DockerClient client = docker.client();
            String imageId = client.buildImageCmd(new ByteArrayInputStream(context.toByteArray()))
                    .withTags(Set.of(tag)).withBuildArg("BASE", TestGateways.IMAGE).withPull(false)
                    .withLabels(SessionLabels.ownedBy("gateway-image-test"))
                    .exec(new BuildImageResultCallback()).awaitImageId(5, TimeUnit.MINUTES);
            String container = null;
            try {
                container = client.createContainerCmd(tag)
                        .withEnv("AGENT_RUNTIME_GATEWAY_SECRET=" + TestGateways.SECRET,
                                "AGENT_RUNTIME_GATEWAY_KEY_IMG_SECRET=" + TestGateways.keyOf("img"))
                        .withExposedPorts(ExposedPort.tcp(3000))
                        .withLabels(SessionLabels.ownedBy("gateway-image-test"))
                        .withHostConfig(HostConfig.newHostConfig().withPortBindings(new PortBinding(
                                Ports.Binding.bindIp("127.0.0.1"), ExposedPort.tcp(3000))))
                        .exec().getId();
                client.startContainerCmd(container).exec();
                String hostPort = client.inspectContainerCmd(container).exec().getNetworkSettings().getPorts()
                        .getBindings().get(ExposedPort.tcp(3000))[0].getHostPortSpec();
                URI health = URI.create("http://127.0.0.1:" + hostPort + "/health");
                HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                HttpResponse<String> answer = null;
                while (answer == null || answer.statusCode() != 200) {
                    try {
                        answer = http.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(2)).build(),
                                HttpResponse.BodyHandlers.ofString());
                    } catch (IOException e) {
                        // not listening yet
                    }
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("The gateway container did not answer " + health);
                    }
                    Thread.sleep(200); // polling a condition with a deadline
                }
                assertThat(answer.body()).contains("\"status\":\"ok\"").contains("\"backend\":\"docker\"");
                HttpResponse<String> unauthorized = http.send(HttpRequest.newBuilder(health.resolve("/list"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(unauthorized.statusCode()).isEqualTo(401);
            } finally {
                if (container != null) {
                    client.removeContainerCmd(container).withForce(true).exec();
                }
                client.removeImageCmd(imageId).withForce(true).exec();
            }
        }
    }
}
