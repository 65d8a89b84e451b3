package dev.agentruntime.testkit;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * See {@link RequiresDocker}. Probes once per test run and image set (kept in the root store, not in a static).
 */
public final class DockerAvailableCondition implements ExecutionCondition {

    public static final String REQUIRE_PROPERTY = "agent.runtime.requireDocker";
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(DockerAvailableCondition.class);

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        List<String> images = context.getTestClass()
                .flatMap(type -> AnnotationSupport.findAnnotation(type, RequiresDocker.class))
                .map(annotation -> Arrays.asList(annotation.images()))
                .filter(list -> !list.isEmpty())
                .orElse(DockerProbe.standardImages());
        String problem = context.getRoot().getStore(NS).getOrComputeIfAbsent("problem:" + images,
                key -> DockerProbe.fromEnvironment().problem(images), String.class);
        return evaluate(problem, Boolean.getBoolean(REQUIRE_PROPERTY));
    }

    /** Enabled without a problem; disabled with it, or (when required) a failure. */
    static ConditionEvaluationResult evaluate(String problem, boolean required) {
        if (problem.isEmpty()) {
            return ConditionEvaluationResult.enabled("Docker engine and test images available");
        }
        if (required) {
            throw new IllegalStateException("Docker integration tests are required (-D" + REQUIRE_PROPERTY
                    + "=true) but cannot run: " + problem);
        }
        return ConditionEvaluationResult.disabled("Skipping Docker integration tests: " + problem
                + " (set -D" + REQUIRE_PROPERTY + "=true to make this a failure)");
    }
}
