package dev.agentruntime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class AgentRuntimeExceptionTest {

    @Test
    void connectionAndTimingFailuresAreTransient() {
        assertThat(List.of(
                new RuntimeUnavailableException("x"),
                new RuntimeDisconnectedException("x"),
                new RuntimeTimeoutException("x"),
                new PortAllocationException("x")))
                .allSatisfy(e -> assertThat(e.isTransient()).as(e.getClass().getSimpleName()).isTrue());
    }

    @Test
    void configurationAndRefusalFailuresAreNotTransient() {
        assertThat(List.<AgentRuntimeException>of(
                new InvalidConfigException("x"),
                new UnknownRuntimeTypeException("x", List.of()),
                new RuntimeStartupException("x"),
                new RuntimeNotFoundException("x"),
                new BackendException("x"),
                new UnsupportedCapabilityException("x"),
                new ActionFailedException("x", 422),
                new ActionFailedException("x", ErrorObservation.of("x"))))
                .allSatisfy(e -> assertThat(e.isTransient()).as(e.getClass().getSimpleName()).isFalse());
    }

    @Test
    void actionFailedCarriesStatusAndObservation() {
        ErrorObservation error = ErrorObservation.of("ERROR: Cannot execute multiple commands at once.");
        ActionFailedException refused = new ActionFailedException("refused", error);
        assertThat(refused.httpStatus()).isEqualTo(200);
        assertThat(refused.observation()).contains(error);
        ActionFailedException http = new ActionFailedException("bad", 422);
        assertThat(http.httpStatus()).isEqualTo(422);
        assertThat(http.observation()).isEmpty();
    }

    @Test
    void causesAreKept() {
        Throwable cause = new java.io.IOException("reset");
        assertThat(new RuntimeDisconnectedException("x", cause)).hasCause(cause);
        assertThat(new AgentRuntimeException("x", cause, true).isTransient()).isTrue();
    }

    @Test
    void pauseIsUnsupportedUnlessTheBackendSaysSo() {
        Runtime runtime = new FakeRuntimeProvider().create(RuntimeConfig.builder().type("fake").sessionId("p").build());
        org.assertj.core.api.Assertions.assertThatThrownBy(runtime::pause)
                .isInstanceOf(UnsupportedCapabilityException.class)
                .hasMessageContaining("Runtime p cannot pause")
                .hasMessageContaining("PAUSE_RESUME");
        assertThat(runtime.supports(Capability.SHELL)).isTrue();
        assertThat(runtime.supports(Capability.PAUSE_RESUME)).isFalse();
    }
}
