package dev.agentruntime.docker;

import com.github.dockerjava.api.exception.NotFoundException;
import dev.agentruntime.docker.internal.DockerClients;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** See {@link RequiresDocker}. Probes once per test run (kept in the root store, not in a static). */
public final class DockerAvailableCondition implements ExecutionCondition {

    public static final String REQUIRE_PROPERTY = "agent.runtime.requireDocker";
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(DockerAvailableCondition.class);

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        String problem = context.getRoot().getStore(NS).getOrComputeIfAbsent("problem", k -> probe(), String.class);
        if (problem.isEmpty()) {
            return ConditionEvaluationResult.enabled("Docker engine and test images available");
        }
        if (Boolean.getBoolean(REQUIRE_PROPERTY)) {
            throw new IllegalStateException("Docker integration tests are required (-D" + REQUIRE_PROPERTY
                    + "=true) but cannot run: " + problem);
        }
        return ConditionEvaluationResult.disabled("Skipping Docker integration tests: " + problem
                + " (set -D" + REQUIRE_PROPERTY + "=true to make this a failure)");
    }

    private static String probe() {
        try (DockerClients.Handle handle = DockerClients.open(DockerRuntimeConfig.defaults())) {
            try {
                handle.client().pingCmd().exec();
            } catch (RuntimeException e) {
                return "no Docker engine answers at " + handle.dockerHost() + " (" + e.getMessage()
                        + "); start dockerd or set DOCKER_HOST";
            }
            for (String image : new String[] {TestImages.DEBIAN, TestImages.NO_BASH}) {
                try {
                    handle.client().inspectImageCmd(image).exec();
                } catch (NotFoundException e) {
                    return "test image " + image + " is missing; build it with .ci/docker-setup.sh";
                }
            }
            return "";
        } catch (RuntimeException e) {
            return "cannot configure a Docker client (" + e.getMessage() + ")";
        }
    }
}
