/** Internals of the Kubernetes backend; not an API. */
package dev.agentruntime.kubernetes.internal;
