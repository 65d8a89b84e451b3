package dev.agentruntime.kubernetes.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import dev.agentruntime.kubernetes.KubernetesConfig;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.SessionLabels;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every manifest option, as sent: created on fabric8's mock server in CRUD mode and read back, with names, labels and
 * annotations checked against Kubernetes' own validation rules (which the mock does not enforce).
 */
@EnableKubernetesMockClient(crud = true)
class SandboxManifestsTest {

    KubernetesClient client;

    private static final KubernetesConfig FULL = KubernetesConfig.builder().namespace("sandboxes")
            .image("python:3.12-slim").serverImage("reg.example/agent-runtime-server:1").imagePullPolicy("Always")
            .imagePullSecrets(List.of("regcred")).cpuRequest("250m").cpuLimit("2").memoryRequest("512Mi")
            .memoryLimit("2Gi").nodeSelector(Map.of("pool", "sandboxes"))
            .tolerations(List.of(KubernetesConfig.toleration("dedicated=sandbox:NoSchedule")))
            .runtimeClassName("gvisor").runAsUser(1000).serviceAccountName("sandbox")
            .ttl(java.time.Duration.ofMinutes(90)).ingressDomain("sandboxes.example.com").ingressClassName("nginx")
            .ingressTlsSecret("wildcard-tls").pvcSize("5Gi").pvcStorageClass("fast").networkPolicy(true).build();

    private static RuntimeConfig session(String id) {
        return RuntimeConfig.builder().type("kubernetes").sessionId(id).label("tenant", "acme").build();
    }

    private static SandboxManifests manifests(KubernetesConfig k8s, RuntimeConfig config) {
        return new SandboxManifests(k8s, "sandboxes", config.sessionId(), SessionLabels.forSession(config));
    }

    private static ServerLaunch launch(RuntimeConfig config, SandboxManifests m) {
        return ServerLaunch.forSession(config).sessionApiKey(Secret.of("the-session-key"))
                .java(m.serverDir() + "/jre/bin/java").jar(m.serverDir() + "/runtime-server.jar")
                .port(KubernetesConfig.SERVER_PORT)
                .keyDelivery(new ServerLaunch.KeyDelivery.File(SandboxManifests.KEY_FILE)).build();
    }

    @Test
    void thePodCarriesEveryOptionAndTheSecurityDefaults() {
        RuntimeConfig config = session("s1");
        SandboxManifests m = manifests(FULL, config);
        Pod sent = m.pod(launch(config, m), "/workspace");
        client.pods().inNamespace("sandboxes").resource(sent).create();
        Pod pod = client.pods().inNamespace("sandboxes").withName(m.podName()).get();

        var spec = pod.getSpec();
        assertThat(spec.getRestartPolicy()).isEqualTo("Never");
        assertThat(spec.getActiveDeadlineSeconds()).isEqualTo(5400L);
        assertThat(spec.getAutomountServiceAccountToken()).as("the sandbox gets no API token").isFalse();
        assertThat(spec.getEnableServiceLinks()).isFalse();
        assertThat(spec.getServiceAccountName()).isEqualTo("sandbox");
        assertThat(spec.getNodeSelector()).containsExactly(Map.entry("pool", "sandboxes"));
        assertThat(spec.getTolerations()).singleElement().satisfies(t -> {
            assertThat(t.getKey()).isEqualTo("dedicated");
            assertThat(t.getValue()).isEqualTo("sandbox");
            assertThat(t.getEffect()).isEqualTo("NoSchedule");
        });
        assertThat(spec.getImagePullSecrets()).extracting(r -> r.getName()).containsExactly("regcred");
        assertThat(spec.getRuntimeClassName()).isEqualTo("gvisor");
        assertThat(spec.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        assertThat(spec.getSecurityContext().getRunAsUser()).isEqualTo(1000L);
        assertThat(spec.getSecurityContext().getRunAsNonRoot()).isTrue();

        Container sandbox = spec.getContainers().get(0);
        assertThat(sandbox.getName()).isEqualTo("sandbox");
        assertThat(sandbox.getImage()).isEqualTo("python:3.12-slim");
        assertThat(sandbox.getImagePullPolicy()).isEqualTo("Always");
        assertThat(sandbox.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(sandbox.getSecurityContext().getPrivileged()).isFalse();
        assertThat(sandbox.getResources().getRequests()).containsEntry("cpu", new Quantity("250m"))
                .containsEntry("memory", new Quantity("512Mi"));
        assertThat(sandbox.getResources().getLimits()).containsEntry("cpu", new Quantity("2"))
                .containsEntry("memory", new Quantity("2Gi"));
        assertThat(sandbox.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/alive");
        assertThat(sandbox.getReadinessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("server");
        assertThat(sandbox.getPorts()).extracting(p -> p.getName() + ":" + p.getContainerPort())
                .containsExactly("server:60000", "vscode:60001", "app-1:60002", "app-2:60003");
        assertThat(sandbox.getCommand()).startsWith(SandboxManifests.COPIED_SERVER_DIR + "/jre/bin/java")
                .contains("--session-api-key-file", SandboxManifests.KEY_FILE);
        assertThat(sandbox.getEnv()).extracting(EnvVar::getName).doesNotContain(ServerLaunch.ENV_SESSION_API_KEY);
        assertThat(String.valueOf(pod)).as("the key is only in the Secret").doesNotContain("the-session-key");
        assertThat(sandbox.getVolumeMounts()).extracting(v -> v.getName() + ":" + v.getMountPath())
                .containsExactly("run:" + SandboxManifests.RUN_DIR, "workspace:/workspace",
                        "server:" + SandboxManifests.COPIED_SERVER_DIR)
                .as("the key Secret is mounted only into the setup container").doesNotContain("session-key");

        Container setup = spec.getInitContainers().get(0);
        assertThat(setup.getImage()).isEqualTo("reg.example/agent-runtime-server:1");
        assertThat(setup.getCommand().get(2)).contains("cp -R /opt/agent-runtime/. " + SandboxManifests.COPIED_SERVER_DIR)
                .contains("umask 077").contains(SandboxManifests.KEY_FILE);
        assertThat(spec.getVolumes()).anySatisfy(v -> {
            assertThat(v.getName()).isEqualTo("run");
            assertThat(v.getEmptyDir().getMedium()).isEqualTo("Memory");
        }).anySatisfy(v -> {
            assertThat(v.getName()).isEqualTo("workspace");
            assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo(m.claimName());
        }).anySatisfy(v -> assertThat(v.getSecret().getSecretName()).isEqualTo(m.secretName()));
        assertValid(pod);
    }

    @Test
    void withoutAServerImageTheServerComesFromTheImageAndTheWorkspaceIsAnEmptyDir() {
        RuntimeConfig config = session("s2");
        KubernetesConfig baked = KubernetesConfig.builder().image("reg.example/baked:1").build();
        SandboxManifests m = manifests(baked, config);
        Pod pod = m.pod(launch(config, m), "/workspace");
        assertThat(pod.getSpec().getInitContainers().get(0).getImage()).isEqualTo("reg.example/baked:1");
        assertThat(pod.getSpec().getInitContainers().get(0).getCommand().get(2)).doesNotContain("cp -R");
        assertThat(pod.getSpec().getContainers().get(0).getCommand().get(0)).isEqualTo("/opt/agent-runtime/jre/bin/java");
        assertThat(pod.getSpec().getVolumes()).anySatisfy(v -> {
            assertThat(v.getName()).isEqualTo("workspace");
            assertThat(v.getEmptyDir()).isNotNull();
        });
        assertThat(pod.getSpec().getSecurityContext().getRunAsNonRoot()).isNull();
        assertThat(pod.getSpec().getActiveDeadlineSeconds()).isEqualTo(KubernetesConfig.DEFAULT_TTL.getSeconds());
    }

    @Test
    void dependentsAreOwnedByThePodAndTheClaimIsNot() {
        RuntimeConfig config = session("s3");
        SandboxManifests m = manifests(FULL, config);
        Pod pod = client.pods().inNamespace("sandboxes").resource(m.pod(launch(config, m), "/workspace")).create();
        List<HasMetadata> owned = new ArrayList<>();
        owned.add(client.services().inNamespace("sandboxes").resource(m.service(pod)).create());
        owned.add(client.network().v1().ingresses().inNamespace("sandboxes").resource(m.ingress(pod)).create());
        owned.add(client.network().v1().networkPolicies().inNamespace("sandboxes").resource(m.networkPolicy(pod))
                .create());
        for (HasMetadata o : owned) {
            assertThat(o.getMetadata().getOwnerReferences()).singleElement().satisfies(ref -> {
                assertThat(ref.getKind()).isEqualTo("Pod");
                assertThat(ref.getName()).isEqualTo(m.podName());
                assertThat(ref.getUid()).isEqualTo(pod.getMetadata().getUid());
                assertThat(ref.getController()).isTrue();
                assertThat(ref.getBlockOwnerDeletion()).as("needs pods/finalizers rights on OpenShift").isNull();
            });
            assertValid(o);
        }
        Service service = (Service) owned.get(0);
        assertThat(service.getSpec().getType()).isEqualTo("ClusterIP");
        assertThat(service.getSpec().getSelector()).isEqualTo(SessionLabels.kubernetesSessionSelector("s3"));
        assertThat(service.getSpec().getPorts()).extracting(p -> p.getName() + ":" + p.getPort() + "->"
                + p.getTargetPort().getStrVal()).containsExactly("server:60000->server", "vscode:60001->vscode",
                "app-1:60002->app-1", "app-2:60003->app-2");
        assertThat(KubernetesNames.dns1035LabelErrors(service.getMetadata().getName())).isEmpty();

        Ingress ingress = (Ingress) owned.get(1);
        assertThat(ingress.getSpec().getIngressClassName()).isEqualTo("nginx");
        assertThat(ingress.getSpec().getTls()).singleElement().satisfies(tls -> {
            assertThat(tls.getSecretName()).isEqualTo("wildcard-tls");
            assertThat(tls.getHosts()).containsExactly(m.ingressHost(), m.ingressAppHost(1), m.ingressAppHost(2));
        });
        assertThat(ingress.getSpec().getRules().get(0).getHttp().getPaths().get(0).getBackend().getService()
                .getPort().getName()).isEqualTo("server");
        ingress.getSpec().getRules().forEach(r -> assertThat(KubernetesNames.dns1123SubdomainErrors(r.getHost()))
                .isEmpty());

        NetworkPolicy policy = (NetworkPolicy) owned.get(2);
        assertThat(policy.getSpec().getPolicyTypes()).containsExactly("Ingress", "Egress");
        assertThat(policy.getSpec().getPodSelector().getMatchLabels()).isEqualTo(service.getSpec().getSelector());
        assertThat(policy.getSpec().getEgress().get(1).getTo().get(0).getIpBlock().getExcept()).contains("10.0.0.0/8");

        PersistentVolumeClaim claim = client.persistentVolumeClaims().inNamespace("sandboxes").resource(m.claim())
                .create();
        assertThat(claim.getMetadata().getOwnerReferences()).as("kept when the pod goes").isNullOrEmpty();
        assertThat(claim.getSpec().getStorageClassName()).isEqualTo("fast");
        assertThat(claim.getSpec().getResources().getRequests()).containsEntry("storage", new Quantity("5Gi"));
        assertThat(claim.getMetadata().getLabels()).containsEntry("agentruntime.dev/role", "workspace");
        assertValid(claim);

        var secret = client.secrets().inNamespace("sandboxes").resource(m.keySecret(Secret.of("k3y"))).create();
        assertThat(new String(Base64.getDecoder().decode(secret.getData().get(SandboxManifests.SECRET_KEY)),
                StandardCharsets.UTF_8)).isEqualTo("k3y");
        assertThat(secret.getImmutable()).isTrue();
        assertValid(secret);
    }

    @ParameterizedTest
    @ValueSource(strings = {"s1", "My_Session.ID-1", "UPPER", "a.b.c", "x23456789012345678901234567890123456789012345678901234567890123"})
    void namesLabelsAndAnnotationsFollowKubernetesRulesForAnySessionId(String sessionId) {
        RuntimeConfig config = session(sessionId);
        SandboxManifests m = manifests(FULL, config);
        Pod pod = m.pod(launch(config, m), "/workspace");
        assertValid(pod);
        assertThat(m.podName().length()).isLessThanOrEqualTo(57);
        assertThat(KubernetesNames.dns1035LabelErrors(m.serviceName())).isEmpty();
        assertThat(KubernetesNames.dns1123LabelErrors(m.podName() + "-app1")).isEmpty();
        assertThat(pod.getMetadata().getLabels()).containsEntry("agentruntime.dev/session-id", sessionId)
                .containsEntry("label.agentruntime.dev/tenant", "acme");
        assertThat(SessionLabels.parse(merged(pod))).hasValueSatisfying(l -> assertThat(l.sessionId())
                .isEqualTo(sessionId));
    }

    @Test
    void sessionIdsThatLowerCaseAlikeGetDistinctPods() {
        assertThat(SandboxManifests.podName("agent-sandbox", "A_b")).isNotEqualTo(SandboxManifests.podName(
                "agent-sandbox", "a-b"));
        assertThat(SandboxManifests.podName("agent-sandbox", "a-b")).isEqualTo("agent-sandbox-a-b");
        assertThat(SandboxManifests.podName("agent-sandbox", "A_b")).matches("agent-sandbox-a-b-[0-9a-f]{8}");
    }

    private static Map<String, String> merged(HasMetadata o) {
        Map<String, String> all = new java.util.HashMap<>(o.getMetadata().getAnnotations());
        all.putAll(o.getMetadata().getLabels());
        return all;
    }

    private static void assertValid(HasMetadata o) {
        assertThat(KubernetesNames.dns1123SubdomainErrors(o.getMetadata().getName())).as("name").isEmpty();
        assertThat(KubernetesNames.labelErrors("metadata.labels", o.getMetadata().getLabels())).as("labels").isEmpty();
        assertThat(KubernetesNames.annotationErrors("metadata.annotations", o.getMetadata().getAnnotations()))
                .as("annotations").isEmpty();
    }
}
