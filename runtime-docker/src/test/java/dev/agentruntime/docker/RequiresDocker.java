package dev.agentruntime.docker;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the annotated test class only when a Docker engine answers and the test images exist; otherwise the tests are
 * skipped with a message saying what is missing, or FAIL when {@code -Dagent.runtime.requireDocker=true} (CI), so a
 * green build never means "nothing ran".
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(DockerAvailableCondition.class)
public @interface RequiresDocker {
}
