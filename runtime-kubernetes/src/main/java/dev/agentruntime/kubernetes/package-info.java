/**
 * The Kubernetes backend: sandboxes as pods (type {@code kubernetes}), built on fabric8's client over OkHttp.
 *
 * <p>{@link dev.agentruntime.kubernetes.KubernetesRuntime} (a pod per session, readiness by watch, the server reached
 * by Service DNS, Ingress, pod IP or port-forward), {@link dev.agentruntime.kubernetes.KubernetesConfig} (cluster,
 * namespace, image, resources, scheduling, security, TTL, optional Ingress, workspace claim and NetworkPolicy),
 * {@link dev.agentruntime.kubernetes.KubernetesSandboxes} (housekeeping by the kit's labels),
 * {@link dev.agentruntime.kubernetes.KubernetesServerImage} (the recipe of the server image) and
 * {@link dev.agentruntime.kubernetes.PodStartupException} (why a pod did not become ready). See the module README.
 */
package dev.agentruntime.kubernetes;
