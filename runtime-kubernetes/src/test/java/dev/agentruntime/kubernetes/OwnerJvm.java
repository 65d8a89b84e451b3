package dev.agentruntime.kubernetes;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import java.time.Duration;

/**
 * A separate JVM that owns one sandbox and is then killed with {@code kill -9}: {@code OwnerJvm <master url>
 * <namespace> <server image> <session id>} connects, prints {@value #READY} and waits forever.
 */
public final class OwnerJvm {

    public static final String READY = "OWNER-JVM-READY";

    private OwnerJvm() {
    }

    public static void main(String[] args) throws InterruptedException {
        KubernetesConfig k8s = KubernetesConfig.builder().masterUrl(args[0]).namespace(args[1])
                .image(SimulatedKubernetes.SANDBOX_IMAGE).serverImage(args[2]).terminationGrace(Duration.ofSeconds(1))
                .build();
        Runtime runtime = RuntimeFactory.connect(RuntimeConfig.builder().type("kubernetes").sessionId(args[3])
                .backendConfig(k8s).startupTimeout(Duration.ofSeconds(180)).build());
        System.out.println(runtime.run("echo " + READY).content());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
