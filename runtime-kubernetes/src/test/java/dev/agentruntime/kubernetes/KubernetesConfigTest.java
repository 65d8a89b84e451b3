package dev.agentruntime.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.kubernetes.internal.KubernetesClients;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Options, validation with the API server's rules, and where the client and namespace come from. */
@EnableKubernetesMockClient(crud = true)
class KubernetesConfigTest {

    KubernetesClient client;

    private static KubernetesConfig options(Map<String, String> options) {
        return KubernetesConfig.from(RuntimeConfig.builder().type("kubernetes").options(options).build());
    }

    @Test
    void everyOptionReachesTheTypedConfig() {
        KubernetesConfig c = options(Map.ofEntries(Map.entry("namespace", "sandboxes"),
                Map.entry("image", "python:3.12-slim"), Map.entry("server-image", "reg.example/server:1"),
                Map.entry("IMAGE_PULL_POLICY", "Always"), Map.entry("image.pull.secrets", "regcred, other"),
                Map.entry("cpu.request", "250m"), Map.entry("cpu.limit", "2"), Map.entry("memory.request", "512Mi"),
                Map.entry("memory.limit", "2Gi"), Map.entry("node.selector", "pool=sandboxes,zone=a"),
                Map.entry("tolerations", "dedicated=sandbox:NoSchedule, gpu"), Map.entry("runtime.class", "gvisor"),
                Map.entry("run.as.user", "1000"), Map.entry("ttl", "2h"), Map.entry("termination.grace", "3s"),
                Map.entry("access", "port-forward"), Map.entry("ingress.domain", "sandboxes.example.com"),
                Map.entry("ingress.class", "nginx"), Map.entry("ingress.tls.secret", "wildcard"),
                Map.entry("pvc.size", "5Gi"), Map.entry("pvc.storage.class", "fast"),
                Map.entry("network.policy", "yes"), Map.entry("name.prefix", "sbx"), Map.entry("token", "t0ken"),
                Map.entry("master.url", "https://api.example:6443")));
        assertThat(c.namespace()).contains("sandboxes");
        assertThat(c.serverImage()).contains("reg.example/server:1");
        assertThat(c.imagePullPolicy()).isEqualTo("Always");
        assertThat(c.imagePullSecrets()).containsExactly("regcred", "other");
        assertThat(c.cpuRequest()).contains("250m");
        assertThat(c.memoryLimit()).contains("2Gi");
        assertThat(c.nodeSelector()).containsEntry("pool", "sandboxes").containsEntry("zone", "a");
        assertThat(c.tolerations()).hasSize(2);
        assertThat(c.tolerations().get(0).getOperator()).isEqualTo("Equal");
        assertThat(c.tolerations().get(0).getEffect()).isEqualTo("NoSchedule");
        assertThat(c.tolerations().get(1).getOperator()).isEqualTo("Exists");
        assertThat(c.tolerations().get(1).getEffect()).isNull();
        assertThat(c.runtimeClassName()).contains("gvisor");
        assertThat(c.runAsUser()).contains(1000L);
        assertThat(c.ttl()).isEqualTo(Duration.ofHours(2));
        assertThat(c.access()).isEqualTo(KubernetesConfig.Access.PORT_FORWARD);
        assertThat(c.networkPolicy()).isTrue();
        assertThat(c.namePrefix()).isEqualTo("sbx");
        assertThat(c.toString()).contains("token=REDACTED").doesNotContain("t0ken");
    }

    @Test
    void badValuesAreRefusedWithTheRuleThatWasBroken() {
        assertThatThrownBy(() -> options(Map.of("namespace", "Sandboxes"))).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("namespace is not valid for Kubernetes").hasMessageContaining("RFC 1123");
        assertThatThrownBy(() -> options(Map.of("cpu.request", "2", "cpu.limit", "500m")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("cpu request 2 must be less than or equal to the cpu limit 500m");
        assertThatThrownBy(() -> options(Map.of("memory.limit", "lots"))).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("is not a Kubernetes quantity");
        assertThatThrownBy(() -> options(Map.of("node.selector", "bad key!=x")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("name part must consist of");
        assertThatThrownBy(() -> options(Map.of("tolerations", "k=v:Sometimes")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("effect must be NoSchedule");
        assertThatThrownBy(() -> options(Map.of("ttl", "0s"))).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("activeDeadlineSeconds");
        assertThatThrownBy(() -> options(Map.of("access", "ingress"))).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("needs ingressDomain");
        assertThatThrownBy(() -> options(Map.of("access", "teleport"))).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("is not one of auto, service-dns, ingress, pod-ip, port-forward");
        assertThatThrownBy(() -> options(Map.of("run.as.user", "0", "run.as.non.root", "true")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("contradicts");
        assertThatThrownBy(() -> options(Map.of("name.prefix", "Agent_Sandbox")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("namePrefix");
        assertThatThrownBy(() -> options(Map.of("warp.speed", "9"))).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("Unknown option(s) [warp.speed]");
    }

    @Test
    void aKubeconfigContextNamesTheClusterAndTheNamespace(@TempDir Path dir) throws Exception {
        Path kubeconfig = dir.resolve("config");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                current-context: dev
                clusters:
                - name: dev
                  cluster: {server: "https://dev.example:6443"}
                - name: prod
                  cluster: {server: "https://prod.example:6443"}
                users:
                - name: me
                  user: {token: "secret-token"}
                contexts:
                - name: dev
                  context: {cluster: dev, user: me, namespace: dev-sandboxes}
                - name: prod
                  context: {cluster: prod, user: me, namespace: prod-sandboxes}
                """);
        try (KubernetesClients.Handle current = KubernetesClients.open(KubernetesConfig.builder().kubeconfig(kubeconfig)
                .build())) {
            assertThat(current.client().getMasterUrl().toString()).startsWith("https://dev.example:6443");
            assertThat(current.namespace()).isEqualTo("dev-sandboxes");
            assertThat(current.owned()).isTrue();
        }
        try (KubernetesClients.Handle prod = KubernetesClients.open(KubernetesConfig.builder().kubeconfig(kubeconfig)
                .context("prod").build())) {
            assertThat(prod.client().getMasterUrl().toString()).startsWith("https://prod.example:6443");
            assertThat(prod.namespace()).isEqualTo("prod-sandboxes");
            assertThat(prod.where()).contains("context prod");
        }
        try (KubernetesClients.Handle overridden = KubernetesClients.open(KubernetesConfig.builder()
                .kubeconfig(kubeconfig).context("prod").namespace("mine").build())) {
            assertThat(overridden.namespace()).isEqualTo("mine");
        }
        assertThatThrownBy(() -> KubernetesClients.open(KubernetesConfig.builder().kubeconfig(dir.resolve("none"))
                .build())).isInstanceOf(InvalidConfigException.class).hasMessageContaining("Cannot read the kubeconfig");
    }

    @Test
    void aSuppliedClientIsUsedAndNeverClosed() {
        KubernetesConfig k8s = KubernetesConfig.builder().client(client).build();
        try (SandboxHousekeeping housekeeping = KubernetesSandboxes.connect(k8s)) {
            assertThat(housekeeping.list()).isEmpty();
        }
        // still usable after the housekeeping closed
        assertThat(client.pods().inNamespace("test").list().getItems()).isEmpty();
        try (KubernetesClients.Handle handle = KubernetesClients.open(k8s)) {
            assertThat(handle.owned()).isFalse();
            assertThat(handle.namespace()).isEqualTo(client.getNamespace());
        }
    }

    @Test
    void inClusterOutsideAPodIsAClearError() {
        org.junit.jupiter.api.Assumptions.assumeFalse(KubernetesClients.runningInCluster());
        assertThatThrownBy(() -> KubernetesClients.open(KubernetesConfig.builder().inCluster(true).build()))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("runs in no pod");
    }
}
