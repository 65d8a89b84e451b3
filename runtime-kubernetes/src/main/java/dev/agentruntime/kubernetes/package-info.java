/**
 * The Kubernetes backend: sandboxes as pods (type {@code kubernetes}), built on fabric8's client over OkHttp.
 *
 * <p>Not here yet: the backend itself (a provider, a typed config, the runtime, its manifests) comes after the shared
 * backend kit lands. What is here already is what it will stand on: {@link
 * dev.agentruntime.kubernetes.internal.KubernetesNames}, Kubernetes' naming rules checked before anything is sent,
 * and in the tests a simulated cluster (fabric8's mock API server plus the API server's own rules, a scheduler, a
 * garbage collector and a node that runs every pod as Docker containers) proven against recordings from a real v1.32
 * cluster. See the module README.
 */
package dev.agentruntime.kubernetes;
