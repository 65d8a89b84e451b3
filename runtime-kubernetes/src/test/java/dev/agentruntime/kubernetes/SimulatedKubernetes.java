package dev.agentruntime.kubernetes;

import dev.agentruntime.kubernetes.sim.KubeletTiming;
import dev.agentruntime.kubernetes.sim.SimulatedCluster;
import dev.agentruntime.kubernetes.sim.SimulatedClusters;
import dev.agentruntime.spi.ServerBundle;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import dev.agentruntime.testkit.DockerAvailableCondition;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The backend's tests on the simulated cluster: the images the simulated node runs (built locally with the recipes
 * of {@link KubernetesServerImage}, cached by the bundle's digest like the other test images) and a cluster per test
 * class, as a JUnit extension whose {@code afterAll} runs after the class's own {@code @AfterAll} methods (so the
 * contract suite's sandbox is closed while the cluster still answers).
 */
public final class SimulatedKubernetes implements BeforeAllCallback, AfterAllCallback, ExecutionCondition {

    /**
     * {@code -Dagent.runtime.kubernetes=real}: no simulation; the tests that can run against a real cluster use
     * KUBECONFIG's (current context, or {@code -Dagent.runtime.kubernetes.context}), with
     * {@code -Dagent.runtime.kubernetes.server-image} (required: a server image the cluster can pull),
     * {@code -Dagent.runtime.kubernetes.image} (default {@value #REAL_IMAGE}) and
     * {@code -Dagent.runtime.kubernetes.namespace} (default: the context's).
     */
    public static final boolean REAL = "real".equals(System.getProperty("agent.runtime.kubernetes"));
    public static final String REAL_IMAGE = "python:3.12-slim";

    public static final String NAMESPACE = "sandboxes";
    /** The sandbox image: Debian with bash and python3, but no server. */
    public static final String SANDBOX_IMAGE = "agent-runtime-test/debian:bookworm";

    private final boolean provisionVolumes;
    private SimulatedCluster cluster;

    public SimulatedKubernetes() {
        this(false);
    }

    /** @param provisionVolumes whether claims are bound to host directories (else they stay Pending, as recorded) */
    public SimulatedKubernetes(boolean provisionVolumes) {
        this.provisionVolumes = provisionVolumes;
    }

    /** Real cluster: always; simulated: when Docker and the test images are there (as {@code @RequiresDocker}). */
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        return REAL ? ConditionEvaluationResult.enabled("against KUBECONFIG's cluster")
                : new DockerAvailableCondition().evaluateExecutionCondition(context);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (REAL) {
            return;
        }
        cluster = SimulatedCluster.builder().namespace(NAMESPACE).timing(KubeletTiming.fast())
                .provisionVolumes(provisionVolumes).start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (cluster != null) {
            cluster.close();
        }
    }

    public SimulatedCluster cluster() {
        return cluster;
    }

    /** Settings for the simulated cluster: its API server by URL, the server copied in from {@link #serverImage()}. */
    public KubernetesConfig.Builder config() {
        if (REAL) {
            String serverImage = System.getProperty("agent.runtime.kubernetes.server-image", "");
            if (serverImage.isBlank()) {
                throw new IllegalStateException("-Dagent.runtime.kubernetes=real needs"
                        + " -Dagent.runtime.kubernetes.server-image=<a server image the cluster can pull> (see the"
                        + " module README: KubernetesServerImage, docker build, docker push)");
            }
            KubernetesConfig.Builder b = KubernetesConfig.builder().serverImage(serverImage)
                    .image(System.getProperty("agent.runtime.kubernetes.image", REAL_IMAGE));
            java.util.Optional.ofNullable(System.getProperty("agent.runtime.kubernetes.context")).ifPresent(b::context);
            java.util.Optional.ofNullable(System.getProperty("agent.runtime.kubernetes.namespace"))
                    .ifPresent(b::namespace);
            return b;
        }
        return KubernetesConfig.builder().masterUrl(cluster.masterUrl()).namespace(NAMESPACE).image(SANDBOX_IMAGE)
                .serverImage(serverImage()).terminationGrace(Duration.ofSeconds(1));
    }

    /** The server image (busybox + bundle), built from {@link KubernetesServerImage#serverDockerfile}. */
    public static synchronized String serverImage() {
        return image("agent-runtime-test/k8s-server", SimulatedClusters.BUSYBOX);
    }

    /** The sandbox image with the server baked in (Debian + bundle). */
    public static synchronized String bakedImage() {
        return image("agent-runtime-test/k8s-baked", SANDBOX_IMAGE);
    }

    private static String image(String repository, String base) {
        ServerBundle bundle = ServerBundle.prepare(line -> { });
        String tag = repository + ":" + bundle.sha256().substring(0, 16);
        if (SimulatedClusters.imageExists(tag)) {
            return tag;
        }
        try {
            Path dir = Files.createTempDirectory("k8s-image-");
            try {
                KubernetesServerImage.writeBuildContext(dir, base, line -> { });
                SimulatedClusters.buildImage(dir, tag);
            } finally {
                try (Stream<Path> files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
            return tag;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
