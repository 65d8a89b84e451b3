package dev.agentruntime.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A sandbox for a JUnit 5 test: annotate a {@link dev.agentruntime.Runtime} field or parameter and it is created,
 * connected and injected before it is needed, and closed after.
 *
 * <pre>{@code
 * class MyAgentTest {
 *     @AgentSandbox(image = "python:3.12-slim")            // static: one sandbox for the class
 *     static dev.agentruntime.Runtime sandbox;
 *
 *     @Test
 *     void greets(@AgentSandbox dev.agentruntime.Runtime scratch) { // a fresh local sandbox for this test
 *         assertThat(sandbox.run("python3 -c 'print(6*7)'").content()).contains("42");
 *     }
 * }
 * }</pre>
 *
 * <p>Lifecycle ({@link #lifecycle()}): by default a static field, and a parameter of a {@code @BeforeAll} method or
 * of the constructor of a {@code @TestInstance(PER_CLASS)} class, get one sandbox per test class; an instance field
 * and a test method's parameter get one per test.
 *
 * <p>When the backend is unavailable (no Docker engine answers) the tests are <em>skipped</em> with a message,
 * except in CI ({@code CI=true}, or {@code -Dagent.runtime.requireBackends=true} / {@code
 * -Dagent.runtime.requireDocker=true}, also as JUnit configuration parameters), where that is a failure, so a green
 * build never means "nothing ran". After the class, the extension asks the backend's
 * {@link dev.agentruntime.RuntimeFactory#housekeeping housekeeping} for every session it created: anything still
 * there fails the test class (and is removed).
 *
 * <p>The sandbox's session id is {@code junit-<class>-<random>}; {@link AgentSandboxExtension} does the work.
 */
@Target({ElementType.FIELD, ElementType.PARAMETER})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@ExtendWith(AgentSandboxExtension.class)
public @interface AgentSandbox {

    /** The backend type; empty = {@code docker} when {@link #image()} is set, {@code local} otherwise. */
    String type() default "";

    /** The image (Docker and image-based backends): sets the {@code image} option. */
    String image() default "";

    /** Backend options as {@code key=value}, e.g. {@code "memory=1g"}. */
    String[] options() default {};

    /** Shell variables as {@code NAME=value}. */
    String[] env() default {};

    /** When the sandbox is created and closed. */
    Lifecycle lifecycle() default Lifecycle.DEFAULT;

    /** Startup timeout in seconds (0 = the backend's default). */
    long startupTimeoutSeconds() default 0;

    /** When the sandbox is created and closed. */
    enum Lifecycle {
        /** Per class for static fields and class-level parameters, per test otherwise. */
        DEFAULT,
        /** One sandbox for all the tests of the class (an instance field gets the same one in every test instance). */
        PER_CLASS,
        /** A fresh sandbox for each test. */
        PER_TEST
    }
}
