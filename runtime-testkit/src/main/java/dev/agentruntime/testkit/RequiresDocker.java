package dev.agentruntime.testkit;

import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the annotated test class only when a Docker engine answers and the test images exist; otherwise its tests are
 * skipped with a message saying what is missing, or FAIL when {@code -Dagent.runtime.requireDocker=true} (CI sets it),
 * so a green build never means "nothing ran".
 *
 * <p>The engine is {@code DOCKER_HOST} ({@code unix://} or {@code tcp://}) or {@code /var/run/docker.sock}, probed
 * with plain HTTP ({@code GET /_ping}, {@code GET /images/{name}/json}); no Docker client library is needed.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Inherited
@ExtendWith(DockerAvailableCondition.class)
public @interface RequiresDocker {

    /**
     * The images the tests need; empty = the standard test images ({@link DockerProbe#DEBIAN_IMAGE} and
     * {@link DockerProbe#NO_BASH_IMAGE}, built by {@code .ci/docker-setup.sh}).
     */
    String[] images() default {};
}
