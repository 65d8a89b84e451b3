package dev.agentruntime.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.StatusEvent;
import dev.agentruntime.docker.internal.Labels;
import dev.agentruntime.internal.JreLinker;
import dev.agentruntime.internal.ServerJar;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.testkit.RequiresDocker;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** How base images are turned into sandbox images. */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DockerImagesIT {

    private final DockerTestClient docker = new DockerTestClient();

    @AfterAll
    void closeClient() {
        docker.close();
    }

    private static DockerRuntimeConfig config(String image) {
        return DockerRuntimeConfig.builder().image(image).pullPolicy(PullPolicy.NEVER).build();
    }

    @Test
    void aSandboxImageIsBuiltOnceAndLabelledWithWhatItIsMadeOf() {
        String base = TestBaseImages.build(docker, "", null);
        try {
            List<StatusEvent> events = new CopyOnWriteArrayList<>();
            RuntimeConfig.Builder runtime = RuntimeConfig.builder().type("docker").statusListener(events::add)
                    .startupTimeout(Duration.ofMinutes(3)).backendConfig(config(base));
            try (DockerRuntime first = new DockerRuntime(runtime.build())) {
                first.connect();
            }
            assertThat(events).extracting(StatusEvent::status).contains(RuntimeStatus.BUILDING_RUNTIME);
            assertThat(events).filteredOn(e -> e.status() == RuntimeStatus.BUILDING_RUNTIME)
                    .extracting(StatusEvent::message).anyMatch(m -> m.contains("Checking base image " + base))
                    .anyMatch(m -> m.contains("Building agent-runtime/sandbox:"));

            SandboxImage image = DockerSandboxes.prepareImage(config(base));
            Map<String, String> labels = docker.client().inspectImageCmd(image.name()).exec().getConfig().getLabels();
            assertThat(labels).containsEntry(Labels.MANAGED_BY, "agent-runtime")
                    .containsEntry(Labels.ROLE, Labels.ROLE_IMAGE)
                    .containsEntry(Labels.BASE_IMAGE, base)
                    .containsEntry(Labels.BASE_IMAGE_ID, docker.client().inspectImageCmd(base).exec().getId())
                    .containsEntry(Labels.SERVER_SHA256, ServerJar.sha256(ServerJar.locate()))
                    .containsEntry(Labels.JRE_BUNDLED, "true")
                    .containsEntry(Labels.CLASS_DATA, SandboxImage.CLASS_DATA_ARCHIVE);
            assertThat(image.name()).startsWith("agent-runtime/sandbox:agent-runtime-it_base_");
            assertThat(image.classData()).isTrue();

            events.clear();
            try (DockerRuntime second = new DockerRuntime(runtime.sessionId("second-" + System.nanoTime()).build())) {
                second.connect();
                assertThat(serverClassesFromTheArchive(second, SandboxImage.BUNDLED_JAVA))
                        .as("the trained archive maps for the exact command containers start with").isTrue();
            }
            assertThat(events).extracting(StatusEvent::status).as("built once")
                    .doesNotContain(RuntimeStatus.BUILDING_RUNTIME);
        } finally {
            TestBaseImages.remove(docker, base);
        }
    }

    @Test
    void aBaseImageWithJava17OrNewerNeedsNoBundledRuntime() throws Exception {
        Path jre = JreLinker.defaults().linkedRuntime();
        String base = TestBaseImages.build(docker, "COPY dir /usr/local/java\nENV JAVA_HOME=/usr/local/java "
                + "PATH=/usr/local/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", jre);
        try {
            SandboxImage image = DockerSandboxes.prepareImage(config(base));
            assertThat(image.jreBundled()).isFalse();
            assertThat(image.javaPath()).isEqualTo("/usr/local/java/bin/java");
            String id;
            try (DockerRuntime sandbox = new DockerRuntime(RuntimeConfig.builder().type("docker")
                    .backendConfig(config(base)).build())) {
                sandbox.connect();
                id = sandbox.containerId().orElseThrow();
                assertThat(sandbox.run("ls /opt/agent-runtime").content()).contains("runtime-server.jar")
                        .doesNotContain("jre");
                assertThat(serverClassesFromTheArchive(sandbox, "/usr/local/java/bin/java")).isTrue();
            }
            assertThat(docker.awaitGone(id, Duration.ofSeconds(10))).isTrue(); // so its image can be removed
        } finally {
            TestBaseImages.remove(docker, base);
        }
    }

    @Test
    void aJavaThatCannotTrainAnArchiveStillMakesAWorkingImage() throws Exception {
        // a Java without its default CDS archive cannot dump a dynamic one: the training fails, the build must not
        Path jre = JreLinker.defaults().linkedRuntime();
        String base = TestBaseImages.build(docker, "COPY dir /usr/local/java\nRUN rm /usr/local/java/lib/server/"
                + "classes.jsa\nENV PATH=/usr/local/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                jre);
        try {
            SandboxImage image = DockerSandboxes.prepareImage(config(base));
            assertThat(image.jreBundled()).isFalse();
            String id;
            try (DockerRuntime sandbox = new DockerRuntime(RuntimeConfig.builder().type("docker")
                    .backendConfig(config(base)).build())) {
                sandbox.connect();
                id = sandbox.containerId().orElseThrow();
                assertThat(sandbox.run("echo works").content()).contains("works");
                // no archive of ours: the link to the JVM's (missing) default archive, so the flag changes nothing
                assertThat(sandbox.run("readlink " + SandboxImage.CLASS_DATA_ARCHIVE).content().strip())
                        .isEqualTo("/usr/local/java/lib/server/classes.jsa");
                assertThat(serverClassesFromTheArchive(sandbox, "/usr/local/java/bin/java")).isFalse();
            }
            assertThat(docker.awaitGone(id, Duration.ofSeconds(10))).isTrue();
        } finally {
            TestBaseImages.remove(docker, base);
        }
    }

    @Test
    void aBaseImageWithAnotherUserIsTrainedAsRootAndKeepsItsUser() throws Exception {
        String base = TestBaseImages.build(docker, "RUN useradd -m -u 1234 app\nUSER app", null);
        try {
            SandboxImage image = DockerSandboxes.prepareImage(config(base));
            assertThat(docker.client().inspectImageCmd(image.name()).exec().getConfig().getUser()).isEqualTo("app");
            String id;
            try (DockerRuntime sandbox = new DockerRuntime(RuntimeConfig.builder().type("docker")
                    .backendConfig(config(base)).build())) {
                sandbox.connect();
                id = sandbox.containerId().orElseThrow();
                assertThat(sandbox.run("id -un").content().strip()).isEqualTo("app");
                assertThat(serverClassesFromTheArchive(sandbox, SandboxImage.BUNDLED_JAVA)).isTrue();
            }
            assertThat(docker.awaitGone(id, Duration.ofSeconds(10))).isTrue();
        } finally {
            TestBaseImages.remove(docker, base);
        }
    }

    /**
     * Whether a JVM started with the containers' flags and the image's archive loads the server's main class from
     * the archive's dynamic (top) layer. {@code -Xshare:on} makes a mismatching archive an error rather than a
     * silent fallback.
     */
    private static boolean serverClassesFromTheArchive(DockerRuntime sandbox, String java) {
        String command = ServerLaunch.shellQuote(java) + " " + String.join(" ", ServerLaunch.JVM_FLAGS.stream()
                .map(ServerLaunch::shellQuote).toList()) + " -XX:SharedArchiveFile=" + SandboxImage.CLASS_DATA_ARCHIVE
                + " -Xshare:on -Xlog:class+load=info -jar " + SandboxImage.SERVER_JAR + " --no-such-option 2>&1"
                + " | grep -c 'dev.agentruntime.server.Main source: shared objects file (top)'";
        return sandbox.run(command).content().strip().equals("1");
    }

    @Test
    void aMuslImageFailsFastAndSaysWhy() {
        // busybox (static, no glibc loader) plus a musl loader: what the probe sees in an Alpine image
        String base = TestBaseImages.build(docker, TestImages.NO_BASH, "RUN mkdir -p /lib && touch /lib/ld-musl-x86_64.so.1",
                null);
        try {
            DockerRuntime runtime = new DockerRuntime(RuntimeConfig.builder().type("docker")
                    .backendConfig(config(base)).build());
            assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeStartupException.class)
                    .hasMessageContaining(base).hasMessageContaining("musl libc")
                    .hasMessageContaining("Debian/Ubuntu-based image");
            runtime.close();
        } finally {
            TestBaseImages.remove(docker, base);
        }
    }
}
