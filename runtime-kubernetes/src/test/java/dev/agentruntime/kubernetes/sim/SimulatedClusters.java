package dev.agentruntime.kubernetes.sim;

import java.util.List;
import java.util.Optional;

/** Test-side helpers around {@link SimulatedCluster}. */
public final class SimulatedClusters {

    /** The image the simulated node runs pod sandboxes from (busybox, with {@code sleep} and {@code httpd}). */
    public static final String BUSYBOX = "agent-runtime-test/nobash:latest";

    private SimulatedClusters() {
    }

    /**
     * The stand-in for the recordings' {@code local.test/busybox:1.35}: the busybox test image plus
     * {@code /www/index.html}, which the recorded pods serve with {@code httpd -h /www}. Made by committing a
     * container (no registry, no build context) and labelled. It is a cached test image like the ones
     * {@code .ci/docker-setup.sh} builds: made once, kept (so test JVMs running side by side never remove it from
     * under each other), rebuilt in a second when missing.
     */
    public static final String WEB_IMAGE = "agent-runtime-test/k8s-sim-busybox:1.35";

    /** Creates {@link #WEB_IMAGE} unless it exists. */
    public static void prepareWebImage() {
        try (SimDocker docker = SimDocker.open()) {
            if (docker.imageId(WEB_IMAGE).isPresent()) {
                return;
            }
            var client = docker.client();
            String id = client.createContainerCmd(BUSYBOX)
                    .withCmd("sh", "-c", "mkdir -p /www && echo 'hello from a simulated pod' > /www/index.html")
                    .withLabels(java.util.Map.of(SimDocker.MANAGED_BY, "image-build"))
                    .exec().getId();
            try {
                client.startContainerCmd(id).exec();
                client.waitContainerCmd(id).start().awaitStatusCode(60, java.util.concurrent.TimeUnit.SECONDS);
                client.commitCmd(id).withRepository(WEB_IMAGE.substring(0, WEB_IMAGE.indexOf(':')))
                        .withTag(WEB_IMAGE.substring(WEB_IMAGE.indexOf(':') + 1))
                        .withLabels(java.util.Map.of(SimDocker.MANAGED_BY, "image"))
                        .withCmd("sh").exec();
            } finally {
                docker.remove(id);
            }
        }
    }

    /** Whether the local Docker engine has {@code image}. */
    public static boolean imageExists(String image) {
        try (SimDocker docker = SimDocker.open()) {
            return docker.imageId(image).isPresent();
        }
    }

    /** Builds {@code context} (a directory with a Dockerfile) as {@code tag}, never pulling; labelled as a test image. */
    public static void buildImage(java.nio.file.Path context, String tag) {
        try (SimDocker docker = SimDocker.open()) {
            docker.client().buildImageCmd(context.toFile()).withTags(java.util.Set.of(tag)).withPull(false)
                    .withLabels(java.util.Map.of(SimDocker.MANAGED_BY, "image"))
                    .exec(new com.github.dockerjava.api.command.BuildImageResultCallback())
                    .awaitImageId(5, java.util.concurrent.TimeUnit.MINUTES);
        }
    }

    /** Why a simulated cluster cannot run here (no Docker engine, no test image), or empty. */
    public static Optional<String> dockerProblem() {
        return SimDocker.unavailable(List.of(BUSYBOX));
    }
}
