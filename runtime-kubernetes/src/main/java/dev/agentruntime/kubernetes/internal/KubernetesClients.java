package dev.agentruntime.kubernetes.internal;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.kubernetes.KubernetesConfig;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Makes (or takes) the fabric8 client a {@link KubernetesConfig} names, and knows whether we may close it. */
public final class KubernetesClients {

    /** Where a pod's service account is mounted. */
    public static final Path SERVICE_ACCOUNT = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");

    private KubernetesClients() {
    }

    /**
     * A client and the namespace to use.
     *
     * @param owned whether this handle made the client (and so closes it)
     * @param where a short description of the cluster for error messages
     */
    public record Handle(KubernetesClient client, String namespace, boolean owned, String where)
            implements AutoCloseable {
        @Override
        public void close() {
            if (owned) {
                client.close();
            }
        }
    }

    /** Whether this process runs in a pod of a cluster (its service account and the API server's address exist). */
    public static boolean runningInCluster() {
        return System.getenv("KUBERNETES_SERVICE_HOST") != null && Files.isRegularFile(SERVICE_ACCOUNT.resolve("token"));
    }

    public static Handle open(KubernetesConfig config) {
        if (config.client().isPresent()) {
            KubernetesClient client = config.client().get();
            String ns = config.namespace().orElseGet(() -> Optional.ofNullable(client.getNamespace()).orElse("default"));
            return new Handle(client, ns, false, client.getMasterUrl() + " (supplied client)");
        }
        Config fabric8 = fabric8Config(config);
        String ns = config.namespace().orElseGet(() -> Optional.ofNullable(fabric8.getNamespace()).orElse("default"));
        KubernetesClient client = new KubernetesClientBuilder().withConfig(fabric8).build();
        return new Handle(client, ns, true, fabric8.getMasterUrl() + config.context().map(c -> " (context " + c + ")")
                .orElse(""));
    }

    static Config fabric8Config(KubernetesConfig config) {
        if (config.masterUrl().isPresent()) {
            ConfigBuilder b = new ConfigBuilder(Config.empty()).withMasterUrl(config.masterUrl().get());
            config.token().ifPresent(t -> b.withOauthToken(t.reveal()));
            config.namespace().ifPresent(b::withNamespace);
            return b.build();
        }
        if (config.inCluster()) {
            if (!runningInCluster()) {
                throw new InvalidConfigException("inCluster is set but this process runs in no pod: "
                        + "KUBERNETES_SERVICE_HOST is unset or " + SERVICE_ACCOUNT.resolve("token") + " is missing");
            }
            try {
                ConfigBuilder b = new ConfigBuilder(Config.empty())
                        .withMasterUrl("https://" + System.getenv("KUBERNETES_SERVICE_HOST") + ":"
                                + Optional.ofNullable(System.getenv("KUBERNETES_SERVICE_PORT")).orElse("443"))
                        .withCaCertFile(SERVICE_ACCOUNT.resolve("ca.crt").toString())
                        .withOauthToken(Files.readString(SERVICE_ACCOUNT.resolve("token"), StandardCharsets.UTF_8).strip());
                Path ns = SERVICE_ACCOUNT.resolve("namespace");
                if (Files.isRegularFile(ns)) {
                    b.withNamespace(Files.readString(ns, StandardCharsets.UTF_8).strip());
                }
                return b.build();
            } catch (IOException e) {
                throw new RuntimeUnavailableException("Cannot read the pod's service account at " + SERVICE_ACCOUNT
                        + ": " + e.getMessage(), e);
            }
        }
        if (config.kubeconfig().isPresent()) {
            Path file = config.kubeconfig().get();
            try {
                return Config.fromKubeconfig(config.context().orElse(null), Files.readString(file), file.toString());
            } catch (IOException e) {
                throw new InvalidConfigException("Cannot read the kubeconfig " + file + ": " + e.getMessage());
            } catch (RuntimeException e) {
                throw new InvalidConfigException("The kubeconfig " + file + " cannot be used"
                        + config.context().map(c -> " with context '" + c + "'").orElse("") + ": " + e.getMessage());
            }
        }
        Config auto = Config.autoConfigure(config.context().orElse(null));
        if (config.context().isPresent() && (auto.getCurrentContext() == null
                || !config.context().get().equals(auto.getCurrentContext().getName()))) {
            throw new InvalidConfigException("The kubeconfig (KUBECONFIG or ~/.kube/config) has no context '"
                    + config.context().get() + "'");
        }
        return auto;
    }
}
