package dev.agentruntime.kubernetes.internal;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.Secret;
import dev.agentruntime.kubernetes.KubernetesConfig;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.SessionLabels;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerPortBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSecurityContextBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.IngressRuleBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one sandbox is made of, as Kubernetes objects: the pod (init container {@value #SETUP_CONTAINER} that hands
 * the session key - and the server, with a server image - to the sandbox container {@value #SANDBOX_CONTAINER}), the
 * Secret with the key, the ClusterIP Service, and the optional Ingress, workspace claim and NetworkPolicy. Every
 * object carries the session's labels and annotations; all but the claim are owned by the pod, so deleting the pod
 * removes them (the garbage collector), while the claim outlives it. Names, labels and annotations are checked against
 * Kubernetes' rules here, before anything is sent.
 */
public final class SandboxManifests {

    public static final String SANDBOX_CONTAINER = "sandbox";
    public static final String SETUP_CONTAINER = "setup";
    /** The key file the server reads and deletes at start (in a memory-backed emptyDir). */
    public static final String RUN_DIR = "/run/agent-runtime";
    public static final String KEY_FILE = RUN_DIR + "/session-key";
    /** Where the Secret with the key is mounted, in the setup container only. */
    static final String KEY_MOUNT = "/var/run/agent-runtime-key";
    /** Where the server bundle is copied to (emptyDir) when a server image is used. */
    public static final String COPIED_SERVER_DIR = "/opt/agent-runtime-copied";
    public static final String SECRET_KEY = "session-api-key";
    /** The role of the kept workspace claim in its session labels. */
    public static final String ROLE_WORKSPACE = "workspace";
    public static final String ROLE_KEY = "session-key";
    public static final String ROLE_ACCESS = "access";

    private final KubernetesConfig k8s;
    private final String namespace;
    private final String podName;
    private final SessionLabels labels;

    public SandboxManifests(KubernetesConfig k8s, String namespace, String sessionId, SessionLabels labels) {
        this.k8s = k8s;
        this.namespace = namespace;
        this.podName = podName(k8s.namePrefix(), sessionId);
        this.labels = labels;
    }

    /**
     * {@code <prefix>-<session>}: the session id lower-cased with other characters as '-', and a digest of the id
     * appended whenever that changed it (so {@code A_b} and {@code a-b} never share a pod); at most 57 characters, so
     * it is also a valid Service name (DNS-1035) and an Ingress host label with an {@code -app1} suffix.
     */
    public static String podName(String prefix, String sessionId) {
        String label = KubernetesNames.toDns1123Label(sessionId, 63, "session");
        int room = 57 - prefix.length() - 1;
        if (!label.equals(sessionId) || label.length() > room) {
            String digest = sha256(sessionId).substring(0, 8);
            String head = label.substring(0, Math.min(label.length(), room - 9)).replaceAll("-+$", "");
            label = head.isEmpty() ? digest : head + "-" + digest;
        }
        return prefix + "-" + label;
    }

    public String podName() {
        return podName;
    }

    public String serviceName() {
        return podName;
    }

    public String secretName() {
        return podName + "-key";
    }

    public String claimName() {
        return podName + "-workspace";
    }

    public String ingressHost() {
        return podName + "." + k8s.ingressDomain().orElseThrow();
    }

    public String ingressAppHost(int app) {
        return podName + "-app" + app + "." + k8s.ingressDomain().orElseThrow();
    }

    public String namespace() {
        return namespace;
    }

    /** Where the server's java and jar are inside the sandbox container. */
    public String serverDir() {
        return k8s.serverImage().isPresent() ? COPIED_SERVER_DIR : k8s.serverDir();
    }

    private ObjectMeta meta(String name, SessionLabels of) {
        SessionLabels.KubernetesMetadata m = of.asKubernetes();
        ObjectMeta meta = new ObjectMetaBuilder().withName(name).withNamespace(namespace)
                .withLabels(new LinkedHashMap<>(m.labels())).withAnnotations(new LinkedHashMap<>(m.annotations()))
                .build();
        validate(meta);
        return meta;
    }

    private static void validate(ObjectMeta meta) {
        List<String> errors = new ArrayList<>(KubernetesNames.dns1123SubdomainErrors(meta.getName()));
        errors.addAll(KubernetesNames.labelErrors("metadata.labels", meta.getLabels()));
        errors.addAll(KubernetesNames.annotationErrors("metadata.annotations", meta.getAnnotations()));
        if (!errors.isEmpty()) {
            throw new InvalidConfigException("Object " + meta.getName() + " would be refused by the API server: "
                    + String.join("; ", errors));
        }
    }

    /**
     * The owner reference every dependent carries: deleting the pod cascades to it (background deletion). Without
     * {@code blockOwnerDeletion}: setting it needs {@code update} on {@code pods/finalizers} where the
     * OwnerReferencesPermissionEnforcement admission plugin runs (OpenShift), and only foreground deletion uses it.
     */
    public static OwnerReference ownedBy(Pod pod) {
        return new OwnerReferenceBuilder().withApiVersion("v1").withKind("Pod").withName(pod.getMetadata().getName())
                .withUid(pod.getMetadata().getUid()).withController(true).build();
    }

    /** The Secret holding the session key; created before the pod, owned by it once the pod exists. */
    public io.fabric8.kubernetes.api.model.Secret keySecret(Secret key) {
        return new SecretBuilder().withMetadata(meta(secretName(), labels.withRole(ROLE_KEY))).withType("Opaque")
                .withImmutable(true)
                .addToData(SECRET_KEY, java.util.Base64.getEncoder().encodeToString(
                        key.reveal().getBytes(StandardCharsets.UTF_8))).build();
    }

    /** The workspace claim (no owner: it is kept when the pod goes). */
    public PersistentVolumeClaim claim() {
        PersistentVolumeClaimBuilder b = new PersistentVolumeClaimBuilder()
                .withMetadata(meta(claimName(), labels.withRole(ROLE_WORKSPACE))).withNewSpec()
                .withAccessModes("ReadWriteOnce").withNewResources()
                .addToRequests("storage", new Quantity(k8s.pvcSize().orElseThrow())).endResources().endSpec();
        k8s.pvcStorageClass().ifPresent(c -> b.editSpec().withStorageClassName(c).endSpec());
        return b.build();
    }

    public Pod pod(ServerLaunch launch, String workspace) {
        List<Volume> volumes = new ArrayList<>();
        volumes.add(new VolumeBuilder().withName("session-key").withNewSecret().withSecretName(secretName())
                .withDefaultMode(0444).endSecret().build());
        volumes.add(new VolumeBuilder().withName("run").withNewEmptyDir().withMedium("Memory")
                .withSizeLimit(new Quantity("1Mi")).endEmptyDir().build());
        volumes.add(k8s.pvcSize().isPresent()
                ? new VolumeBuilder().withName("workspace").withNewPersistentVolumeClaim().withClaimName(claimName())
                .endPersistentVolumeClaim().build()
                : new VolumeBuilder().withName("workspace").withNewEmptyDir().endEmptyDir().build());
        List<VolumeMount> sandboxMounts = new ArrayList<>(List.of(mount("run", RUN_DIR),
                mount("workspace", workspace)));
        List<VolumeMount> setupMounts = new ArrayList<>(List.of(mount("run", RUN_DIR),
                new VolumeMountBuilder().withName("session-key").withMountPath(KEY_MOUNT).withReadOnly(true).build()));
        String setup = "set -e; umask 077; cp " + KEY_MOUNT + "/" + SECRET_KEY + " " + KEY_FILE;
        if (k8s.serverImage().isPresent()) {
            volumes.add(new VolumeBuilder().withName("server").withNewEmptyDir().endEmptyDir().build());
            sandboxMounts.add(new VolumeMountBuilder().withName("server").withMountPath(COPIED_SERVER_DIR)
                    .withReadOnly(true).build());
            setupMounts.add(mount("server", COPIED_SERVER_DIR));
            setup = "set -e; cp -R " + k8s.serverDir() + "/. " + COPIED_SERVER_DIR + "/; " + setup;
        }
        List<EnvVar> env = new ArrayList<>();
        launch.environment().forEach((name, value) -> env.add(new EnvVar(name, value, null)));

        ResourceRequirementsBuilder resources = new ResourceRequirementsBuilder();
        k8s.cpuRequest().ifPresent(q -> resources.addToRequests("cpu", new Quantity(q)));
        k8s.memoryRequest().ifPresent(q -> resources.addToRequests("memory", new Quantity(q)));
        k8s.cpuLimit().ifPresent(q -> resources.addToLimits("cpu", new Quantity(q)));
        k8s.memoryLimit().ifPresent(q -> resources.addToLimits("memory", new Quantity(q)));

        PodSecurityContextBuilder podSecurity = new PodSecurityContextBuilder().withNewSeccompProfile()
                .withType("RuntimeDefault").endSeccompProfile();
        k8s.runAsUser().ifPresent(uid -> podSecurity.withRunAsUser(uid).withRunAsGroup(uid));
        if (k8s.runAsNonRoot() || k8s.runAsUser().filter(uid -> uid != 0).isPresent()) {
            podSecurity.withRunAsNonRoot(true);
        }
        var containerSecurity = new SecurityContextBuilder().withPrivileged(false)
                .withAllowPrivilegeEscalation(false).build();

        PodBuilder pod = new PodBuilder().withMetadata(meta(podName, labels)).withNewSpec()
                .withRestartPolicy("Never")
                .withActiveDeadlineSeconds(k8s.ttl().getSeconds())
                .withTerminationGracePeriodSeconds(k8s.terminationGrace().getSeconds())
                .withAutomountServiceAccountToken(false)
                .withEnableServiceLinks(false)
                .withNodeSelector(k8s.nodeSelector().isEmpty() ? null : new LinkedHashMap<>(k8s.nodeSelector()))
                .withTolerations(k8s.tolerations().isEmpty() ? null : k8s.tolerations())
                .withImagePullSecrets(k8s.imagePullSecrets().isEmpty() ? null
                        : k8s.imagePullSecrets().stream().map(LocalObjectReference::new).toList())
                .withRuntimeClassName(k8s.runtimeClassName().orElse(null))
                .withServiceAccountName(k8s.serviceAccountName().orElse(null))
                .withSecurityContext(podSecurity.build())
                .withVolumes(volumes)
                .withInitContainers(new ContainerBuilder().withName(SETUP_CONTAINER)
                        .withImage(k8s.serverImage().orElse(k8s.image()))
                        .withImagePullPolicy(k8s.imagePullPolicy())
                        .withCommand("sh", "-c", setup)
                        .withVolumeMounts(setupMounts)
                        .withSecurityContext(containerSecurity)
                        .withResources(resources.build())
                        .build())
                .withContainers(new ContainerBuilder().withName(SANDBOX_CONTAINER)
                        .withImage(k8s.image())
                        .withImagePullPolicy(k8s.imagePullPolicy())
                        .withCommand(launch.command())
                        .withEnv(env)
                        .withPorts(port("server", KubernetesConfig.SERVER_PORT),
                                port("vscode", KubernetesConfig.VSCODE_PORT),
                                port("app-1", KubernetesConfig.APP_PORT_1), port("app-2", KubernetesConfig.APP_PORT_2))
                        .withNewReadinessProbe().withNewHttpGet().withPath("/alive")
                        .withPort(new IntOrString("server")).endHttpGet()
                        .withPeriodSeconds(1).withTimeoutSeconds(2).withFailureThreshold(3).endReadinessProbe()
                        .withTerminationMessagePolicy("FallbackToLogsOnError")
                        .withResources(resources.build())
                        .withSecurityContext(containerSecurity)
                        .withVolumeMounts(sandboxMounts)
                        .build())
                .endSpec();
        Pod built = pod.build();
        for (var c : built.getSpec().getContainers()) {
            for (var p : c.getPorts()) {
                List<String> errors = KubernetesNames.portNameErrors(p.getName());
                if (!errors.isEmpty()) {
                    throw new IllegalStateException(String.join("; ", errors));
                }
            }
        }
        return built;
    }

    private static VolumeMount mount(String name, String path) {
        return new VolumeMountBuilder().withName(name).withMountPath(path).build();
    }

    private static io.fabric8.kubernetes.api.model.ContainerPort port(String name, int number) {
        return new ContainerPortBuilder().withName(name).withContainerPort(number).withProtocol("TCP").build();
    }

    /** The sandbox's own selector: the pod's session labels that a Service and a NetworkPolicy select by. */
    public Map<String, String> selector() {
        return new LinkedHashMap<>(SessionLabels.kubernetesSessionSelector(labels.sessionId()));
    }

    public Service service(Pod owner) {
        ObjectMeta meta = meta(serviceName(), labels.withRole(ROLE_ACCESS));
        meta.setOwnerReferences(List.of(ownedBy(owner)));
        List<String> nameErrors = KubernetesNames.dns1035LabelErrors(serviceName());
        if (!nameErrors.isEmpty()) {
            throw new InvalidConfigException("Service name " + serviceName() + ": " + String.join("; ", nameErrors));
        }
        return new ServiceBuilder().withMetadata(meta).withNewSpec().withType("ClusterIP")
                .withSelector(selector())
                .withPorts(servicePort("server", KubernetesConfig.SERVER_PORT),
                        servicePort("vscode", KubernetesConfig.VSCODE_PORT),
                        servicePort("app-1", KubernetesConfig.APP_PORT_1),
                        servicePort("app-2", KubernetesConfig.APP_PORT_2))
                .endSpec().build();
    }

    private static io.fabric8.kubernetes.api.model.ServicePort servicePort(String name, int number) {
        return new ServicePortBuilder().withName(name).withPort(number).withTargetPort(new IntOrString(name))
                .withProtocol("TCP").build();
    }

    /** The Ingress: the server at {@link #ingressHost()}, the two app ports at {@link #ingressAppHost(int)}. */
    public Ingress ingress(Pod owner) {
        ObjectMeta meta = meta(podName, labels.withRole(ROLE_ACCESS));
        meta.setOwnerReferences(List.of(ownedBy(owner)));
        List<IngressRule> rules = List.of(rule(ingressHost(), "server"), rule(ingressAppHost(1), "app-1"),
                rule(ingressAppHost(2), "app-2"));
        IngressBuilder b = new IngressBuilder().withMetadata(meta).withNewSpec()
                .withIngressClassName(k8s.ingressClassName().orElse(null)).withRules(rules).endSpec();
        k8s.ingressTlsSecret().ifPresent(secret -> b.editSpec().addNewTl()
                .withHosts(ingressHost(), ingressAppHost(1), ingressAppHost(2)).withSecretName(secret).endTl()
                .endSpec());
        for (IngressRule rule : rules) {
            List<String> errors = KubernetesNames.dns1123SubdomainErrors(rule.getHost());
            if (!errors.isEmpty()) {
                throw new InvalidConfigException("Ingress host " + rule.getHost() + ": " + String.join("; ", errors));
            }
        }
        return b.build();
    }

    private IngressRule rule(String host, String portName) {
        return new IngressRuleBuilder().withHost(host).withNewHttp().addNewPath().withPath("/").withPathType("Prefix")
                .withNewBackend().withNewService().withName(serviceName()).withNewPort().withName(portName).endPort()
                .endService().endBackend().endPath().endHttp().build();
    }

    /**
     * Ingress only to the sandbox's ports (server, VS Code, apps); egress only to DNS and to addresses outside the
     * private ranges (so not to other pods, nodes or the API server on a private network).
     */
    public NetworkPolicy networkPolicy(Pod owner) {
        ObjectMeta meta = meta(podName, labels.withRole(ROLE_ACCESS));
        meta.setOwnerReferences(List.of(ownedBy(owner)));
        return new NetworkPolicyBuilder().withMetadata(meta).withNewSpec()
                .withNewPodSelector().withMatchLabels(selector()).endPodSelector()
                .withPolicyTypes("Ingress", "Egress")
                .addNewIngress()
                .addNewPort().withProtocol("TCP").withPort(new IntOrString(KubernetesConfig.SERVER_PORT)).endPort()
                .addNewPort().withProtocol("TCP").withPort(new IntOrString(KubernetesConfig.VSCODE_PORT)).endPort()
                .addNewPort().withProtocol("TCP").withPort(new IntOrString(KubernetesConfig.APP_PORT_1)).endPort()
                .addNewPort().withProtocol("TCP").withPort(new IntOrString(KubernetesConfig.APP_PORT_2)).endPort()
                .endIngress()
                .addNewEgress()
                .addNewPort().withProtocol("UDP").withPort(new IntOrString(53)).endPort()
                .addNewPort().withProtocol("TCP").withPort(new IntOrString(53)).endPort()
                .endEgress()
                .addNewEgress().addNewTo().withNewIpBlock().withCidr("0.0.0.0/0")
                .withExcept("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")
                .endIpBlock().endTo().endEgress()
                .endSpec().build();
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
