package dev.agentruntime.modal.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.BackendException;
import dev.agentruntime.Secret;
import dev.agentruntime.modal.ModalConfig;
import dev.agentruntime.modal.fake.FakeModal;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The client over TLS, as against {@code api.modal.com:443}: trusted certificate works, an unknown one is refused. */
class ModalTlsTest {

    @Test
    void speaksTlsToATrustedServerAndRefusesAnUntrustedOne() {
        try (FakeModal modal = FakeModal.builder().tls(true).docker(false).start()) {
            assertThat(modal.url().getScheme()).isEqualTo("https");
            ModalConfig config = ModalConfig.builder().serverUrl(modal.url())
                    .token(Secret.of(modal.tokenId()), Secret.of(modal.tokenSecret()))
                    .trustedCertificates(modal.certificate().orElseThrow()).build();
            try (ModalApi api = new ModalApi(config)) {
                assertThat(api.appGetOrCreate(Instant.now().plusSeconds(30))).startsWith("ap-");
            }
            ModalConfig untrusted = config.toBuilder().trustedCertificates(null).build();
            try (ModalApi api = new ModalApi(untrusted)) {
                assertThatThrownBy(() -> api.appGetOrCreate(Instant.now().plusSeconds(10)))
                        .isInstanceOf(BackendException.class).hasMessageContaining("UNAVAILABLE");
            }
        }
    }
}
