package dev.agentruntime.kubernetes.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.RuntimeUnavailableException;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

class KubernetesErrorsTest {

    @Test
    void anApiServerThatCannotBeReachedIsNamedWithTheCauseNotAnHttpCode() {
        KubernetesClientException e = new KubernetesClientException("Operation: [list] for kind: [Pod] failed.",
                new ConnectException("Connection refused"));
        AgentRuntimeException mapped = KubernetesErrors.map(e, "listing pods in namespace default",
                "https://127.0.0.1:1");
        assertThat(mapped).isInstanceOf(RuntimeUnavailableException.class)
                .hasMessageContaining("the API server at https://127.0.0.1:1 cannot be reached")
                .hasMessageContaining("Connection refused").hasMessageNotContaining("HTTP -1");
    }
}
