package dev.agentruntime.docker.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.agentruntime.docker.SandboxImage;
import dev.agentruntime.spi.ServerLaunch;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The derived image's Dockerfile and its class-data training step, without a daemon. */
class ClassDataTrainingTest {

    private static final String JAVA = SandboxImage.BUNDLED_JAVA;

    @Test
    void theDockerfileCopiesTheServerTrainsAnArchiveThenLabels() {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(Labels.CLASS_DATA, ClassDataTraining.ARCHIVE);
        String dockerfile = ImagePreparer.dockerfile("sha256:abc", true, "/bin/bash", JAVA, "", labels);
        List<String> lines = dockerfile.lines().toList();
        assertThat(lines.get(0)).isEqualTo("FROM sha256:abc");
        assertThat(lines.get(1)).isEqualTo("COPY runtime-server.jar " + SandboxImage.SERVER_JAR);
        assertThat(lines.get(2)).isEqualTo("COPY jre " + SandboxImage.HOME + "/jre");
        assertThat(lines.get(3)).startsWith("RUN [\"/bin/bash\", \"-c\", ");
        assertThat(lines.get(4)).isEqualTo("LABEL \\");
        assertThat(dockerfile).contains("\"" + Labels.CLASS_DATA + "\"=\"" + ClassDataTraining.ARCHIVE + "\"")
                .doesNotContain("USER");
        // a base image with its own Java gets no runtime copied in, and the training uses its java
        String own = ImagePreparer.dockerfile("sha256:abc", false, "/usr/bin/bash", "/usr/local/java/bin/java", "",
                Map.of());
        assertThat(own).doesNotContain("COPY jre").contains("RUN [\"/usr/bin/bash\"")
                .contains("'/usr/local/java/bin/java'");
    }

    @Test
    void theRunIsAnExecFormArrayOfBashAndTheWholeScript() throws Exception {
        String step = ClassDataTraining.dockerfileStep("/bin/bash", JAVA, true, "");
        assertThat(step.lines()).hasSize(1); // one instruction on one line: no continuation to get wrong
        String json = step.substring("RUN ".length()).strip();
        List<String> words = List.of(new ObjectMapper().readValue(json, String[].class));
        assertThat(words).hasSize(3).startsWith("/bin/bash", "-c");
        assertThat(words.get(2)).isEqualTo(ClassDataTraining.script(JAVA, true));
    }

    @Test
    void theTrainingStartsTheServerExactlyAsContainersDoPlusTheDumpFlag() {
        String script = ClassDataTraining.script(JAVA, true);
        StringBuilder flags = new StringBuilder(ServerLaunch.shellQuote(JAVA));
        for (String flag : ServerLaunch.JVM_FLAGS) {
            flags.append(' ').append(ServerLaunch.shellQuote(flag));
        }
        assertThat(script).contains(flags + " '-XX:ArchiveClassesAtExit=")
                .contains("'-jar' '" + SandboxImage.SERVER_JAR + "'")
                .contains("'AGENT_RUNTIME_EXIT_ON_STDIN_EOF=1'")
                .contains("a=" + ClassDataTraining.ARCHIVE)
                // the requests a sandbox's first seconds make
                .contains("request GET /alive").contains("\"action\": \"run\"").contains("\"action\": \"write\"")
                .contains("\"action\": \"read\"").contains("request POST /list_files")
                .contains("request GET /server_info")
                // never fails the build; a failed training leaves the default archive in place of ours
                .endsWith("exit 0").contains("ln -sf \"$d\" \"$a\"");
        assertThat(script).as("only our runtime is given a default archive").contains("-Xshare:dump");
        assertThat(ClassDataTraining.script("/usr/bin/java", false)).doesNotContain("-Xshare:dump");
    }

    @Test
    void aBaseImageWithAnotherUserTrainsAsRootAndGetsItsUserBack() {
        assertThat(ClassDataTraining.dockerfileStep("/bin/bash", JAVA, true, "node").lines().toList())
                .hasSize(3).first().isEqualTo("USER 0:0");
        assertThat(ClassDataTraining.dockerfileStep("/bin/bash", JAVA, true, "1000:1000").lines().toList())
                .last().isEqualTo("USER 1000:1000");
        for (String root : List.of("", "root", "0", "0:0", "root:root")) {
            assertThat(ClassDataTraining.dockerfileStep("/bin/bash", JAVA, true, root)).as(root)
                    .doesNotContain("USER");
        }
    }

    @Test
    void jsonArraysEscapeWhatJsonMust() {
        assertThat(ClassDataTraining.jsonArray(List.of("a\"b", "c\\d", "e\nf\tg", "\u0001")))
                .isEqualTo("[\"a\\\"b\", \"c\\\\d\", \"e\\nf\\tg\", \"\\u0001\"]");
    }

    @Test
    void longBuildStepsAreAbbreviatedInStatusMessages() {
        assertThat(ImagePreparer.abbreviate("Step 1/4 : FROM x", 160)).isEqualTo("Step 1/4 : FROM x");
        assertThat(ImagePreparer.abbreviate("Step 3/4 : RUN " + "x".repeat(500), 20)).hasSize(24).endsWith(" ...");
    }
}
