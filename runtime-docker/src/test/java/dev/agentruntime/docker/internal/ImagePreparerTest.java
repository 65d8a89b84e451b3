package dev.agentruntime.docker.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.internal.JreLinker;
import org.junit.jupiter.api.Test;

class ImagePreparerTest {

    @Test
    void tagsNameTheBaseImageReadably() {
        assertThat(ImagePreparer.tagPrefix("agent-runtime-test/debian:bookworm"))
                .isEqualTo("agent-runtime-test_debian_bookworm-");
        assertThat(ImagePreparer.tagPrefix("python:3.12-slim")).isEqualTo("python_3.12-slim-");
        assertThat(ImagePreparer.tagPrefix("repo@sha256:abcdef")).isEqualTo("repo-");
        assertThat(ImagePreparer.tagPrefix("r/" + "x".repeat(200))).hasSizeLessThanOrEqualTo(61);
    }

    @Test
    void repositoryAndTagSplitIgnoresRegistryPorts() {
        assertThat(ImagePreparer.splitTag("debian")).containsExactly("debian", "latest");
        assertThat(ImagePreparer.splitTag("python:3.12-slim")).containsExactly("python", "3.12-slim");
        assertThat(ImagePreparer.splitTag("localhost:5000/img")).containsExactly("localhost:5000/img", "latest");
        assertThat(ImagePreparer.splitTag("localhost:5000/img:1")).containsExactly("localhost:5000/img", "1");
    }

    @Test
    void javaSpecificationVersionsCompareAcrossTheOldScheme() {
        assertThat(ImagePreparer.javaSpec("1.8")).isEqualTo(8);
        assertThat(ImagePreparer.javaSpec("17")).isEqualTo(17);
        assertThat(ImagePreparer.javaSpec("21.0.1")).isEqualTo(21);
        assertThat(ImagePreparer.javaSpec(null)).isZero();
    }

    @Test
    void jreArchitecturesAreNormalised() {
        assertThat(JreLinker.normalizeArch("amd64")).isEqualTo(JreLinker.normalizeArch("x86_64"));
        assertThat(JreLinker.normalizeArch("arm64")).isEqualTo(JreLinker.normalizeArch("aarch64"));
    }
}
