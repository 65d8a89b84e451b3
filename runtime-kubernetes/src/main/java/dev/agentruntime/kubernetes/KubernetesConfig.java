package dev.agentruntime.kubernetes;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import dev.agentruntime.kubernetes.internal.KubernetesNames;
import dev.agentruntime.spi.BackendConfig;
import dev.agentruntime.spi.Options;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The Kubernetes backend's settings: which cluster and namespace, which image, how the server gets into the pod,
 * the pod's scheduling, resources and security, its hard TTL, how the server is reached, and the optional Ingress,
 * workspace PVC and NetworkPolicy. Built with {@link #builder()} or from string options ({@link #fromOptions}):
 *
 * <pre>{@code
 * RuntimeConfig.builder().type("kubernetes")
 *         .backendConfig(KubernetesConfig.builder().context("staging").namespace("sandboxes")
 *                 .image("registry.example/agent-sandbox:1").build())
 *         .build();
 * // or: AGENT_RUNTIME_OPTION_NAMESPACE=sandboxes AGENT_RUNTIME_OPTION_SERVER_IMAGE=registry.example/agent-runtime-server:1
 * }</pre>
 *
 * <h2>The cluster</h2>
 * A {@link #client() user-supplied client} (never closed by the backend) wins; otherwise {@link #kubeconfig()} (with
 * {@link #context()}), or fabric8's auto-configuration: {@code KUBECONFIG} / {@code ~/.kube/config} and its current
 * context (or {@link #context()}), else the pod's service account when running in a cluster; {@link #inCluster()}
 * forces the service account. {@link #masterUrl()} with an optional {@link #token()} names an API server directly.
 * The namespace is {@link #namespace()}, else the context's, else {@code default}.
 *
 * <h2>The server</h2>
 * Without {@link #serverImage()} the {@link #image()} must contain the server bundle at {@link #serverDir()} (see
 * {@link KubernetesServerImage#bakedDockerfile}); with it an init container copies the server and its Java runtime
 * from that small image into an {@code emptyDir}, so any glibc-based image with bash works.
 *
 * @param client             a client to use instead of making one; never closed by the backend
 * @param kubeconfig         a kubeconfig file (default: fabric8's auto-configuration)
 * @param context            the kubeconfig context (default: its current context)
 * @param masterUrl          the API server's URL, bypassing kubeconfig
 * @param token              a bearer token for {@link #masterUrl()}
 * @param inCluster          use the pod's service account, never a kubeconfig
 * @param namespace          the namespace (default: the context's, else {@code default})
 * @param image              the sandbox container's image
 * @param serverImage        an image holding the server bundle at {@link #serverDir()}, copied in by an init container
 * @param serverDir          where the bundle (jre/ and runtime-server.jar) is in {@link #image()} or {@link #serverImage()}
 * @param imagePullPolicy    {@code IfNotPresent}, {@code Always} or {@code Never}
 * @param imagePullSecrets   names of docker-registry Secrets in the namespace
 * @param cpuRequest         e.g. {@code 250m}
 * @param cpuLimit           e.g. {@code 2}
 * @param memoryRequest      e.g. {@code 512Mi}
 * @param memoryLimit        e.g. {@code 2Gi}
 * @param nodeSelector       node labels the pod requires
 * @param tolerations        taints the pod tolerates
 * @param runtimeClassName   e.g. {@code gvisor} or {@code kata}
 * @param runAsUser          the uid of every container (then {@code runAsNonRoot} when not 0)
 * @param runAsNonRoot       refuse images whose user is root (the kubelet checks)
 * @param serviceAccountName the pod's service account (its token is never mounted)
 * @param ttl                the pod's {@code activeDeadlineSeconds}: a hard lifetime, whatever happens to its owner
 * @param terminationGrace   the pod's {@code terminationGracePeriodSeconds}
 * @param access             how the server is reached
 * @param ingressDomain      when set, an Ingress per session at {@code <pod>.<domain>} (and app hosts)
 * @param ingressClassName   the Ingress's class
 * @param ingressTlsSecret   a TLS Secret for the Ingress hosts (a wildcard certificate of the domain)
 * @param pvcSize            when set, a PersistentVolumeClaim as the workspace: kept on close, removed on delete
 * @param pvcStorageClass    the claim's storage class (default: the cluster's default)
 * @param networkPolicy      a NetworkPolicy that admits traffic to the sandbox only on its ports and allows egress
 *                           only to DNS and outside the cluster's private ranges
 * @param namePrefix         the pod name's prefix
 */
public record KubernetesConfig(
        Optional<KubernetesClient> client, Optional<Path> kubeconfig, Optional<String> context,
        Optional<String> masterUrl, Optional<Secret> token, boolean inCluster, Optional<String> namespace,
        String image, Optional<String> serverImage, String serverDir, String imagePullPolicy,
        List<String> imagePullSecrets, Optional<String> cpuRequest, Optional<String> cpuLimit,
        Optional<String> memoryRequest, Optional<String> memoryLimit, Map<String, String> nodeSelector,
        List<Toleration> tolerations, Optional<String> runtimeClassName, Optional<Long> runAsUser,
        boolean runAsNonRoot, Optional<String> serviceAccountName, Duration ttl,
        Duration terminationGrace, Access access, Optional<String> ingressDomain, Optional<String> ingressClassName,
        Optional<String> ingressTlsSecret, Optional<String> pvcSize, Optional<String> pvcStorageClass,
        boolean networkPolicy, String namePrefix) implements BackendConfig {

    /** How the backend reaches the server in the pod. */
    public enum Access {
        /** The first that answers of: Service DNS (in a cluster), the Ingress (when configured), the pod IP, a port-forward. */
        AUTO,
        /** {@code http://<service>.<namespace>.svc:<port>}: from inside the cluster. */
        SERVICE_DNS,
        /** The session's Ingress host (needs {@link #ingressDomain()}). */
        INGRESS,
        /** {@code http://<pod IP>:<port>}: on a node, or where the pod network is routed. */
        POD_IP,
        /** A fabric8 port-forward through the API server to a local port: works from anywhere the API server does. */
        PORT_FORWARD;

        static Access parse(String text) {
            try {
                return valueOf(text.trim().toUpperCase(Locale.ROOT).replace('-', '_').replace('.', '_'));
            } catch (IllegalArgumentException e) {
                throw new InvalidConfigException("access '" + text + "' is not one of auto, service-dns, ingress,"
                        + " pod-ip, port-forward");
            }
        }
    }

    /** The server's port in the pod; the pod has its own network namespace, so fixed ports never clash. */
    public static final int SERVER_PORT = 60000;
    public static final int VSCODE_PORT = 60001;
    public static final int APP_PORT_1 = 60002;
    public static final int APP_PORT_2 = 60003;
    public static final String DEFAULT_IMAGE = "debian:bookworm-slim";
    public static final String DEFAULT_SERVER_DIR = "/opt/agent-runtime";
    public static final Duration DEFAULT_TTL = Duration.ofHours(12);
    public static final Duration DEFAULT_TERMINATION_GRACE = Duration.ofSeconds(5);
    public static final String DEFAULT_NAME_PREFIX = "agent-sandbox";

    /** Option keys accepted by {@link #fromOptions(Options)}. */
    public static final Set<String> OPTION_KEYS = Set.of("kubeconfig", "context", "master.url", "token", "in.cluster",
            "namespace", "image", "server.image", "server.dir", "image.pull.policy", "image.pull.secrets",
            "cpu.request", "cpu.limit", "memory.request", "memory.limit", "node.selector", "tolerations",
            "runtime.class", "run.as.user", "run.as.non.root", "service.account", "ttl",
            "termination.grace", "access", "ingress.domain", "ingress.class", "ingress.tls.secret", "pvc.size",
            "pvc.storage.class", "network.policy", "name.prefix");

    public KubernetesConfig {
        client = Objects.requireNonNullElse(client, Optional.empty());
        kubeconfig = Objects.requireNonNullElse(kubeconfig, Optional.empty());
        context = Objects.requireNonNullElse(context, Optional.empty());
        masterUrl = Objects.requireNonNullElse(masterUrl, Optional.empty());
        token = Objects.requireNonNullElse(token, Optional.empty());
        namespace = Objects.requireNonNullElse(namespace, Optional.empty());
        namespace.ifPresent(ns -> check("namespace", KubernetesNames.dns1123LabelErrors(ns)));
        if (image == null || image.isBlank()) {
            throw new InvalidConfigException("image must not be blank (e.g. " + DEFAULT_IMAGE + ")");
        }
        serverImage = Objects.requireNonNullElse(serverImage, Optional.<String>empty()).filter(s -> !s.isBlank());
        serverDir = Objects.requireNonNullElse(serverDir, DEFAULT_SERVER_DIR);
        if (!serverDir.startsWith("/")) {
            throw new InvalidConfigException("serverDir must be an absolute path, was '" + serverDir + "'");
        }
        imagePullPolicy = Objects.requireNonNullElse(imagePullPolicy, "IfNotPresent");
        if (!Set.of("IfNotPresent", "Always", "Never").contains(imagePullPolicy)) {
            throw new InvalidConfigException("imagePullPolicy must be IfNotPresent, Always or Never, was '"
                    + imagePullPolicy + "'");
        }
        imagePullSecrets = List.copyOf(Objects.requireNonNullElse(imagePullSecrets, List.of()));
        imagePullSecrets.forEach(s -> check("imagePullSecrets", KubernetesNames.dns1123SubdomainErrors(s)));
        cpuRequest = quantity("cpuRequest", cpuRequest);
        cpuLimit = quantity("cpuLimit", cpuLimit);
        memoryRequest = quantity("memoryRequest", memoryRequest);
        memoryLimit = quantity("memoryLimit", memoryLimit);
        notAbove("cpu", cpuRequest, cpuLimit);
        notAbove("memory", memoryRequest, memoryLimit);
        nodeSelector = Map.copyOf(Objects.requireNonNullElse(nodeSelector, Map.of()));
        check("nodeSelector", KubernetesNames.labelErrors("spec.nodeSelector", nodeSelector));
        tolerations = List.copyOf(Objects.requireNonNullElse(tolerations, List.of()));
        runtimeClassName = Objects.requireNonNullElse(runtimeClassName, Optional.empty());
        runtimeClassName.ifPresent(r -> check("runtimeClassName", KubernetesNames.dns1123SubdomainErrors(r)));
        runAsUser = Objects.requireNonNullElse(runAsUser, Optional.empty());
        runAsUser.ifPresent(uid -> {
            if (uid < 0 || uid > Integer.MAX_VALUE) {
                throw new InvalidConfigException("runAsUser must be between 0 and 2147483647, was " + uid);
            }
        });
        if (runAsNonRoot && runAsUser.filter(uid -> uid == 0).isPresent()) {
            throw new InvalidConfigException("runAsNonRoot contradicts runAsUser 0");
        }
        serviceAccountName = Objects.requireNonNullElse(serviceAccountName, Optional.empty());
        serviceAccountName.ifPresent(s -> check("serviceAccountName", KubernetesNames.dns1123SubdomainErrors(s)));
        ttl = Objects.requireNonNullElse(ttl, DEFAULT_TTL);
        if (ttl.getSeconds() < 1) {
            throw new InvalidConfigException("ttl (activeDeadlineSeconds) must be at least 1 second, was " + ttl);
        }
        terminationGrace = Objects.requireNonNullElse(terminationGrace, DEFAULT_TERMINATION_GRACE);
        if (terminationGrace.isNegative()) {
            throw new InvalidConfigException("terminationGrace must not be negative, was " + terminationGrace);
        }
        access = Objects.requireNonNullElse(access, Access.AUTO);
        ingressDomain = Objects.requireNonNullElse(ingressDomain, Optional.empty());
        ingressDomain.ifPresent(d -> check("ingressDomain", KubernetesNames.dns1123SubdomainErrors(d)));
        ingressClassName = Objects.requireNonNullElse(ingressClassName, Optional.empty());
        ingressTlsSecret = Objects.requireNonNullElse(ingressTlsSecret, Optional.empty());
        ingressTlsSecret.ifPresent(s -> check("ingressTlsSecret", KubernetesNames.dns1123SubdomainErrors(s)));
        if (access == Access.INGRESS && ingressDomain.isEmpty()) {
            throw new InvalidConfigException("access INGRESS needs ingressDomain (the Ingress hosts' domain)");
        }
        if ((ingressClassName.isPresent() || ingressTlsSecret.isPresent()) && ingressDomain.isEmpty()) {
            throw new InvalidConfigException("ingressClassName and ingressTlsSecret need ingressDomain");
        }
        pvcSize = quantity("pvcSize", pvcSize);
        pvcStorageClass = Objects.requireNonNullElse(pvcStorageClass, Optional.empty());
        if (pvcStorageClass.isPresent() && pvcSize.isEmpty()) {
            throw new InvalidConfigException("pvcStorageClass needs pvcSize (the workspace claim's size)");
        }
        namePrefix = Objects.requireNonNullElse(namePrefix, DEFAULT_NAME_PREFIX);
        if (!namePrefix.matches("[a-z]([-a-z0-9]{0,18}[a-z0-9])?")) {
            throw new InvalidConfigException("namePrefix '" + namePrefix + "' is not valid: 1-20 lower case letters,"
                    + " digits or '-', starting with a letter and ending with a letter or digit (it starts pod and"
                    + " Service names)");
        }
    }

    private static void check(String what, List<String> errors) {
        if (!errors.isEmpty()) {
            throw new InvalidConfigException(what + " is not valid for Kubernetes: " + String.join("; ", errors));
        }
    }

    private static Optional<String> quantity(String what, Optional<String> value) {
        Optional<String> v = Objects.requireNonNullElse(value, Optional.<String>empty()).map(String::trim);
        v.ifPresent(q -> {
            try {
                Quantity.getAmountInBytes(new Quantity(q));
                if (!q.matches("[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")) {
                    throw new IllegalArgumentException(q);
                }
            } catch (RuntimeException e) {
                throw new InvalidConfigException(what + " '" + q + "' is not a Kubernetes quantity (e.g. 500m, 2,"
                        + " 512Mi, 4Gi)");
            }
        });
        return v;
    }

    private static void notAbove(String resource, Optional<String> request, Optional<String> limit) {
        if (request.isPresent() && limit.isPresent() && Quantity.getAmountInBytes(new Quantity(request.get()))
                .compareTo(Quantity.getAmountInBytes(new Quantity(limit.get()))) > 0) {
            throw new InvalidConfigException(resource + " request " + request.get() + " must be less than or equal to"
                    + " the " + resource + " limit " + limit.get());
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** The typed settings of {@code config}: its backend config, or its options converted. */
    public static KubernetesConfig from(RuntimeConfig config) {
        return Options.typedConfig(config, KubernetesConfig.class, OPTION_KEYS, KubernetesConfig::fromOptions);
    }

    /**
     * From string options: the record's names in dotted form ({@code server.image}, {@code cpu.limit},
     * {@code ingress.tls.secret}, ...); {@code node.selector} as {@code k=v,k2=v2}; {@code tolerations} as
     * {@code key[=value][:Effect]} items (no value: operator Exists; no effect: every effect);
     * {@code image.pull.secrets} comma separated; {@code access} one of auto, service-dns, ingress, pod-ip,
     * port-forward; {@code token} a secret.
     */
    public static KubernetesConfig fromOptions(Options o) {
        Builder b = builder();
        o.path("kubeconfig").ifPresent(b::kubeconfig);
        o.string("context").ifPresent(b::context);
        o.string("master.url").ifPresent(b::masterUrl);
        o.secret("token").ifPresent(b::token);
        b.inCluster(o.bool("in.cluster", false));
        o.string("namespace").ifPresent(b::namespace);
        o.string("image").ifPresent(b::image);
        o.string("server.image").ifPresent(b::serverImage);
        o.string("server.dir").ifPresent(b::serverDir);
        o.string("image.pull.policy").ifPresent(b::imagePullPolicy);
        b.imagePullSecrets(o.list("image.pull.secrets"));
        o.string("cpu.request").ifPresent(b::cpuRequest);
        o.string("cpu.limit").ifPresent(b::cpuLimit);
        o.string("memory.request").ifPresent(b::memoryRequest);
        o.string("memory.limit").ifPresent(b::memoryLimit);
        Map<String, String> selector = new LinkedHashMap<>();
        for (String item : o.list("node.selector")) {
            int eq = item.indexOf('=');
            if (eq <= 0) {
                throw new InvalidConfigException("node.selector item '" + item + "' is not key=value");
            }
            selector.put(item.substring(0, eq).trim(), item.substring(eq + 1).trim());
        }
        b.nodeSelector(selector);
        List<Toleration> tolerations = new ArrayList<>();
        for (String item : o.list("tolerations")) {
            tolerations.add(toleration(item));
        }
        b.tolerations(tolerations);
        o.string("runtime.class").ifPresent(b::runtimeClassName);
        o.parsed("run.as.user", Long::parseLong, "a uid (0-2147483647)").ifPresent(b::runAsUser);
        b.runAsNonRoot(o.bool("run.as.non.root", false));
        o.string("service.account").ifPresent(b::serviceAccountName);
        o.duration("ttl").ifPresent(b::ttl);
        o.duration("termination.grace").ifPresent(b::terminationGrace);
        o.parsed("access", Access::parse, "auto, service-dns, ingress, pod-ip or port-forward").ifPresent(b::access);
        o.string("ingress.domain").ifPresent(b::ingressDomain);
        o.string("ingress.class").ifPresent(b::ingressClassName);
        o.string("ingress.tls.secret").ifPresent(b::ingressTlsSecret);
        o.string("pvc.size").ifPresent(b::pvcSize);
        o.string("pvc.storage.class").ifPresent(b::pvcStorageClass);
        b.networkPolicy(o.bool("network.policy", false));
        o.string("name.prefix").ifPresent(b::namePrefix);
        return b.build();
    }

    /** A toleration from {@code key[=value][:Effect]}: no value means operator Exists, no effect means every effect. */
    public static Toleration toleration(String item) {
        String rest = item.trim();
        String effect = null;
        int colon = rest.lastIndexOf(':');
        if (colon >= 0) {
            effect = rest.substring(colon + 1).trim();
            rest = rest.substring(0, colon).trim();
            if (!Set.of("NoSchedule", "PreferNoSchedule", "NoExecute").contains(effect)) {
                throw new InvalidConfigException("toleration '" + item + "': effect must be NoSchedule,"
                        + " PreferNoSchedule or NoExecute, was '" + effect + "'");
            }
        }
        int eq = rest.indexOf('=');
        String key = eq < 0 ? rest : rest.substring(0, eq).trim();
        if (key.isEmpty() || !KubernetesNames.qualifiedNameErrors(key).isEmpty()) {
            throw new InvalidConfigException("toleration '" + item + "': '" + key + "' is not a valid taint key");
        }
        TolerationBuilder t = new TolerationBuilder().withKey(key).withEffect(effect);
        return eq < 0 ? t.withOperator("Exists").build()
                : t.withOperator("Equal").withValue(rest.substring(eq + 1).trim()).build();
    }

    @Override
    public String toString() {
        return "KubernetesConfig[" + (client.isPresent() ? "client=supplied, " : "")
                + kubeconfig.map(k -> "kubeconfig=" + k + ", ").orElse("")
                + context.map(c -> "context=" + c + ", ").orElse("")
                + masterUrl.map(u -> "masterUrl=" + u + ", ").orElse("") + (token.isPresent() ? "token=REDACTED, " : "")
                + (inCluster ? "inCluster, " : "") + "namespace=" + namespace.orElse("(context)") + ", image=" + image
                + serverImage.map(s -> ", serverImage=" + s).orElse("") + ", ttl=" + ttl + ", access=" + access + "]";
    }

    /** Builds a {@link KubernetesConfig}; every setting is optional. */
    public static final class Builder {
        private Optional<KubernetesClient> client = Optional.empty();
        private Optional<Path> kubeconfig = Optional.empty();
        private Optional<String> context = Optional.empty();
        private Optional<String> masterUrl = Optional.empty();
        private Optional<Secret> token = Optional.empty();
        private boolean inCluster;
        private Optional<String> namespace = Optional.empty();
        private String image = DEFAULT_IMAGE;
        private Optional<String> serverImage = Optional.empty();
        private String serverDir = DEFAULT_SERVER_DIR;
        private String imagePullPolicy = "IfNotPresent";
        private List<String> imagePullSecrets = List.of();
        private Optional<String> cpuRequest = Optional.empty();
        private Optional<String> cpuLimit = Optional.empty();
        private Optional<String> memoryRequest = Optional.empty();
        private Optional<String> memoryLimit = Optional.empty();
        private Map<String, String> nodeSelector = Map.of();
        private List<Toleration> tolerations = List.of();
        private Optional<String> runtimeClassName = Optional.empty();
        private Optional<Long> runAsUser = Optional.empty();
        private boolean runAsNonRoot;
        private Optional<String> serviceAccountName = Optional.empty();
        private Duration ttl = DEFAULT_TTL;
        private Duration terminationGrace = DEFAULT_TERMINATION_GRACE;
        private Access access = Access.AUTO;
        private Optional<String> ingressDomain = Optional.empty();
        private Optional<String> ingressClassName = Optional.empty();
        private Optional<String> ingressTlsSecret = Optional.empty();
        private Optional<String> pvcSize = Optional.empty();
        private Optional<String> pvcStorageClass = Optional.empty();
        private boolean networkPolicy;
        private String namePrefix = DEFAULT_NAME_PREFIX;

        private Builder() {
        }

        private Builder(KubernetesConfig c) {
            client = c.client;
            kubeconfig = c.kubeconfig;
            context = c.context;
            masterUrl = c.masterUrl;
            token = c.token;
            inCluster = c.inCluster;
            namespace = c.namespace;
            image = c.image;
            serverImage = c.serverImage;
            serverDir = c.serverDir;
            imagePullPolicy = c.imagePullPolicy;
            imagePullSecrets = c.imagePullSecrets;
            cpuRequest = c.cpuRequest;
            cpuLimit = c.cpuLimit;
            memoryRequest = c.memoryRequest;
            memoryLimit = c.memoryLimit;
            nodeSelector = c.nodeSelector;
            tolerations = c.tolerations;
            runtimeClassName = c.runtimeClassName;
            runAsUser = c.runAsUser;
            runAsNonRoot = c.runAsNonRoot;
            serviceAccountName = c.serviceAccountName;
            ttl = c.ttl;
            terminationGrace = c.terminationGrace;
            access = c.access;
            ingressDomain = c.ingressDomain;
            ingressClassName = c.ingressClassName;
            ingressTlsSecret = c.ingressTlsSecret;
            pvcSize = c.pvcSize;
            pvcStorageClass = c.pvcStorageClass;
            networkPolicy = c.networkPolicy;
            namePrefix = c.namePrefix;
        }

        /** A client to use; the backend never closes it. */
        public Builder client(KubernetesClient value) {
            client = Optional.of(value);
            return this;
        }

        public Builder kubeconfig(Path value) {
            kubeconfig = Optional.of(value);
            return this;
        }

        public Builder context(String value) {
            context = Optional.of(value);
            return this;
        }

        public Builder masterUrl(String value) {
            masterUrl = Optional.of(value);
            return this;
        }

        public Builder token(Secret value) {
            token = Optional.of(value);
            return this;
        }

        public Builder inCluster(boolean value) {
            inCluster = value;
            return this;
        }

        public Builder namespace(String value) {
            namespace = Optional.of(value);
            return this;
        }

        public Builder image(String value) {
            image = value;
            return this;
        }

        public Builder serverImage(String value) {
            serverImage = Optional.ofNullable(value);
            return this;
        }

        public Builder serverDir(String value) {
            serverDir = value;
            return this;
        }

        public Builder imagePullPolicy(String value) {
            imagePullPolicy = value;
            return this;
        }

        public Builder imagePullSecrets(List<String> value) {
            imagePullSecrets = value;
            return this;
        }

        public Builder cpuRequest(String value) {
            cpuRequest = Optional.of(value);
            return this;
        }

        public Builder cpuLimit(String value) {
            cpuLimit = Optional.of(value);
            return this;
        }

        public Builder memoryRequest(String value) {
            memoryRequest = Optional.of(value);
            return this;
        }

        public Builder memoryLimit(String value) {
            memoryLimit = Optional.of(value);
            return this;
        }

        public Builder nodeSelector(Map<String, String> value) {
            nodeSelector = value;
            return this;
        }

        public Builder tolerations(List<Toleration> value) {
            tolerations = value;
            return this;
        }

        public Builder runtimeClassName(String value) {
            runtimeClassName = Optional.of(value);
            return this;
        }

        public Builder runAsUser(long value) {
            runAsUser = Optional.of(value);
            return this;
        }

        public Builder runAsNonRoot(boolean value) {
            runAsNonRoot = value;
            return this;
        }

        public Builder serviceAccountName(String value) {
            serviceAccountName = Optional.of(value);
            return this;
        }

        public Builder ttl(Duration value) {
            ttl = value;
            return this;
        }

        public Builder terminationGrace(Duration value) {
            terminationGrace = value;
            return this;
        }

        public Builder access(Access value) {
            access = value;
            return this;
        }

        public Builder ingressDomain(String value) {
            ingressDomain = Optional.of(value);
            return this;
        }

        public Builder ingressClassName(String value) {
            ingressClassName = Optional.of(value);
            return this;
        }

        public Builder ingressTlsSecret(String value) {
            ingressTlsSecret = Optional.of(value);
            return this;
        }

        public Builder pvcSize(String value) {
            pvcSize = Optional.of(value);
            return this;
        }

        public Builder pvcStorageClass(String value) {
            pvcStorageClass = Optional.of(value);
            return this;
        }

        public Builder networkPolicy(boolean value) {
            networkPolicy = value;
            return this;
        }

        public Builder namePrefix(String value) {
            namePrefix = value;
            return this;
        }

        public KubernetesConfig build() {
            return new KubernetesConfig(client, kubeconfig, context, masterUrl, token, inCluster, namespace, image,
                    serverImage, serverDir, imagePullPolicy, imagePullSecrets, cpuRequest, cpuLimit, memoryRequest,
                    memoryLimit, nodeSelector, tolerations, runtimeClassName, runAsUser, runAsNonRoot,
                    serviceAccountName, ttl, terminationGrace, access, ingressDomain, ingressClassName,
                    ingressTlsSecret, pvcSize, pvcStorageClass, networkPolicy, namePrefix);
        }
    }
}
