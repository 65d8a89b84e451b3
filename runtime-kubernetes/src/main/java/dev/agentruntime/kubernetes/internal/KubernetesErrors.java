package dev.agentruntime.kubernetes.internal;

import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.BackendConflictException;
import dev.agentruntime.BackendException;
import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeUnavailableException;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Optional;

/** fabric8's exceptions as the library's typed ones, with the API server's own message and what to do. */
public final class KubernetesErrors {

    private KubernetesErrors() {
    }

    /**
     * @param what  the call, e.g. "creating pod agent-sandbox-s1 in namespace sandboxes"
     * @param where the cluster, for connection errors
     */
    public static AgentRuntimeException map(KubernetesClientException e, String what, String where) {
        int code = e.getCode();
        String apiMessage = Optional.ofNullable(e.getStatus()).map(s -> s.getMessage()).orElse(e.getMessage());
        String text = what + " failed: " + apiMessage;
        return switch (code) {
            case 0, -1 -> new RuntimeUnavailableException(what + " failed: the API server at " + where
                    + " cannot be reached (" + rootCause(e) + "). Check the kubeconfig context, the network, or the"
                    + " masterUrl.", e);
            case 401 -> new BackendAuthenticationException(text + " (HTTP 401: the credentials of " + where
                    + " were refused; renew the kubeconfig's token or certificate)", e);
            case 403 -> new BackendAuthenticationException(text + " (HTTP 403: grant this user or service account"
                    + " the RBAC rules listed in the module README)", e);
            case 404 -> apiMessage != null && apiMessage.startsWith("namespaces ")
                    ? new InvalidConfigException(text + ": create the namespace or set another one", e)
                    : new RuntimeNotFoundException(text, e);
            case 409 -> new BackendConflictException(text, e);
            case 400, 422 -> new InvalidConfigException(text + " (HTTP " + code + ")", e);
            default -> new BackendException(text + " (HTTP " + code + ")", code == 429 || code >= 500, null, e);
        };
    }

    private static String rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.toString();
    }
}
