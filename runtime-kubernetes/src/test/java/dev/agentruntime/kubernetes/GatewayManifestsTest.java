package dev.agentruntime.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.kubernetes.internal.KubernetesNames;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * {@code deploy/gateway.yaml} applied to fabric8's CRUD mock and read back: the Role grants exactly what the backend
 * calls (namespaced, no wildcards, no exec), the binding ties it to the Deployment's service account, probes and the
 * Service point at the container's port, resources and security are set, names and labels are valid.
 */
@EnableKubernetesMockClient(crud = true)
class GatewayManifestsTest {

    KubernetesClient client;

    /** What KubernetesRuntime and KubernetesSandboxes call in their namespace (no claim, Ingress or NetworkPolicy). */
    private static final Map<String, Set<String>> BACKEND_CALLS = Map.of(
            "pods", Set.of("create", "get", "list", "watch", "delete", "deletecollection"),
            "pods/log", Set.of("get"),
            "secrets", Set.of("create", "get", "list", "patch", "delete", "deletecollection"),
            "services", Set.of("create", "list", "delete", "deletecollection"),
            "events", Set.of("list", "watch"));

    @Test
    void theGatewayManifestsApplyAndGrantOnlyWhatTheBackendNeeds() throws Exception {
        List<HasMetadata> items;
        try (InputStream in = Files.newInputStream(Path.of("deploy/gateway.yaml"))) {
            items = client.load(in).items();
        }
        for (HasMetadata item : items) {
            client.resource(item).inNamespace("sandboxes").create();
            assertThat(KubernetesNames.dns1123SubdomainErrors(item.getMetadata().getName())).isEmpty();
            assertThat(KubernetesNames.labelErrors("metadata.labels", item.getMetadata().getLabels())).isEmpty();
        }
        ServiceAccount account = client.serviceAccounts().inNamespace("sandboxes").withName("agent-runtime-gateway")
                .get();
        Role role = client.rbac().roles().inNamespace("sandboxes").withName("agent-runtime-gateway").get();
        RoleBinding binding = client.rbac().roleBindings().inNamespace("sandboxes").withName("agent-runtime-gateway")
                .get();
        Deployment deployment = client.apps().deployments().inNamespace("sandboxes").withName("agent-runtime-gateway")
                .get();
        Service service = client.services().inNamespace("sandboxes").withName("agent-runtime-gateway").get();
        assertThat(List.of(account, role, binding, deployment, service)).doesNotContainNull();
        assertThat(items).extracting(HasMetadata::getKind).doesNotContain("ClusterRole", "ClusterRoleBinding");

        Map<String, Set<String>> granted = new TreeMap<>();
        for (PolicyRule rule : role.getRules()) {
            assertThat(rule.getApiGroups()).containsExactly("");
            assertThat(rule.getResourceNames()).isNullOrEmpty();
            for (String resource : rule.getResources()) {
                granted.computeIfAbsent(resource, r -> new TreeSet<>()).addAll(rule.getVerbs());
            }
        }
        assertThat(granted).isEqualTo(new TreeMap<>(BACKEND_CALLS));
        assertThat(granted.values()).noneMatch(v -> v.contains("*"));
        assertThat(granted).doesNotContainKeys("pods/exec", "pods/attach", "*");

        assertThat(binding.getRoleRef().getKind()).isEqualTo("Role");
        assertThat(binding.getRoleRef().getName()).isEqualTo(role.getMetadata().getName());
        assertThat(binding.getSubjects()).singleElement().satisfies(s -> {
            assertThat(s.getKind()).isEqualTo("ServiceAccount");
            assertThat(s.getName()).isEqualTo(account.getMetadata().getName());
        });

        var pod = deployment.getSpec().getTemplate();
        assertThat(pod.getSpec().getServiceAccountName()).isEqualTo(account.getMetadata().getName());
        assertThat(deployment.getSpec().getSelector().getMatchLabels()).isEqualTo(pod.getMetadata().getLabels());
        assertThat(pod.getSpec().getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(pod.getSpec().getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        Container gateway = pod.getSpec().getContainers().get(0);
        assertThat(gateway.getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("http");
            assertThat(p.getContainerPort()).isEqualTo(3000);
        });
        for (var probe : List.of(gateway.getReadinessProbe(), gateway.getLivenessProbe())) {
            assertThat(probe.getHttpGet().getPath()).isEqualTo("/health");
            assertThat(probe.getHttpGet().getPort().getStrVal()).isEqualTo("http");
        }
        Map<String, Quantity> requests = gateway.getResources().getRequests();
        Map<String, Quantity> limits = gateway.getResources().getLimits();
        for (String resource : List.of("cpu", "memory")) {
            assertThat(Quantity.getAmountInBytes(requests.get(resource)))
                    .isLessThanOrEqualTo(Quantity.getAmountInBytes(limits.get(resource)));
        }
        assertThat(gateway.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(gateway.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(gateway.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        Map<String, EnvVar> env = new TreeMap<>();
        gateway.getEnv().forEach(e -> env.put(e.getName(), e));
        assertThat(env.get("AGENT_RUNTIME_GATEWAY_BACKEND_TYPE").getValue()).isEqualTo("kubernetes");
        assertThat(env.get("AGENT_RUNTIME_GATEWAY_BACKEND_OPTION_ACCESS").getValue()).isEqualTo("service-dns");
        assertThat(env.get("AGENT_RUNTIME_GATEWAY_SECRET").getValue()).as("secrets come from a Secret").isNull();
        assertThat(env.get("AGENT_RUNTIME_GATEWAY_SECRET").getValueFrom().getSecretKeyRef().getName())
                .isEqualTo("agent-runtime-gateway");
        // the backend options the Deployment sets are options the backend knows
        env.keySet().stream().filter(k -> k.startsWith("AGENT_RUNTIME_GATEWAY_BACKEND_OPTION_"))
                .map(k -> k.substring("AGENT_RUNTIME_GATEWAY_BACKEND_OPTION_".length()))
                .forEach(option -> assertThat(KubernetesConfig.OPTION_KEYS.stream()
                        .map(dev.agentruntime.spi.Options::normalizeKey)).contains(
                        dev.agentruntime.spi.Options.normalizeKey(option)));

        assertThat(service.getSpec().getSelector()).isEqualTo(pod.getMetadata().getLabels());
        assertThat(service.getSpec().getPorts()).singleElement().satisfies(p -> assertThat(p.getTargetPort()
                .getStrVal()).isEqualTo("http"));
        assertThat(KubernetesNames.dns1035LabelErrors(service.getMetadata().getName())).isEmpty();
    }
}
