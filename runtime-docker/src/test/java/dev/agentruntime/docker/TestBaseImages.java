package dev.agentruntime.docker;

import com.github.dockerjava.api.command.BuildImageResultCallback;
import dev.agentruntime.docker.internal.BuildContext;
import java.nio.file.Path;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/** Base images made for a test from the Debian test image, built locally from an in-memory context. */
final class TestBaseImages {

    private TestBaseImages() {
    }

    /** Builds {@code FROM debian ... <extra lines>} with the optional directory at {@code dir/}; returns its tag. */
    static String build(DockerTestClient docker, String extraDockerfileLines, Path directory) {
        return build(docker, TestImages.DEBIAN, extraDockerfileLines, directory);
    }

    /** Like {@link #build(DockerTestClient, String, Path)} from another base. */
    static String build(DockerTestClient docker, String from, String extraDockerfileLines, Path directory) {
        String tag = "agent-runtime-it/base:" + UUID.randomUUID().toString().substring(0, 12);
        try (BuildContext context = new BuildContext()) {
            if (directory != null) {
                context.directory("dir", directory);
            }
            context.text("Dockerfile", "FROM " + from + "\nLABEL agent-runtime-it.nonce=" + tag + "\n"
                    + extraDockerfileLines + "\n");
            docker.client().buildImageCmd(context.toInputStream()).withTags(Set.of(tag)).withPull(false)
                    .withRemove(true).exec(new BuildImageResultCallback()).awaitImageId(5, TimeUnit.MINUTES);
        }
        return tag;
    }

    /** Removes the base image and every sandbox image made from it. */
    static void remove(DockerTestClient docker, String tag) {
        docker.client().listImagesCmd().withLabelFilter(java.util.Map.of(
                dev.agentruntime.docker.internal.Labels.BASE_IMAGE, tag)).exec()
                .forEach(image -> removeImage(docker, image.getId()));
        removeImage(docker, tag);
    }

    private static void removeImage(DockerTestClient docker, String ref) {
        try {
            docker.client().removeImageCmd(ref).withForce(true).exec();
        } catch (RuntimeException ignored) {
            // cleanup
        }
    }
}
