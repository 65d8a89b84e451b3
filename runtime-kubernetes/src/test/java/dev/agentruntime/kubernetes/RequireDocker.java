package dev.agentruntime.kubernetes;

import dev.agentruntime.kubernetes.sim.SimulatedClusters;
import java.util.Optional;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Docker-availability for the simulated-cluster tests: skips them on a machine without a Docker engine or the test
 * images, with a message saying what is missing, and fails instead when {@code -Dagent.runtime.requireDocker=true}
 * (CI), so green never means "nothing ran". To be replaced by runtime-testkit's {@code @RequiresDocker} condition.
 */
public final class RequireDocker {

    public static final String REQUIRE_PROPERTY = "agent.runtime.requireDocker";

    private RequireDocker() {
    }

    /** Call first in a {@code @BeforeAll}. */
    public static void assumeAvailable() {
        Optional<String> problem = SimulatedClusters.dockerProblem();
        if (problem.isEmpty()) {
            return;
        }
        if (Boolean.getBoolean(REQUIRE_PROPERTY)) {
            Assertions.fail("Docker-backed tests are required (-D" + REQUIRE_PROPERTY + "=true) but cannot run: "
                    + problem.get());
        }
        Assumptions.abort("Skipping simulated-cluster tests: " + problem.get() + " (set -D" + REQUIRE_PROPERTY
                + "=true to make this a failure)");
    }
}
