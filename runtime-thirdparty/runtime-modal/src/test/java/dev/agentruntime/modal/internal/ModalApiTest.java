package dev.agentruntime.modal.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.BackendConflictException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.Secret;
import dev.agentruntime.modal.ModalConfig;
import dev.agentruntime.modal.fake.FakeModal;
import io.grpc.Status;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The control-plane client against the local Modal over a real socket (plain text here; TLS in
 * {@link ModalTlsTest}): headers, auth token life, retries, error mapping. No Docker needed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ModalApiTest {

    private FakeModal modal;

    @BeforeAll
    void start() {
        modal = FakeModal.builder().docker(false).start();
    }

    @AfterAll
    void stop() {
        modal.close();
    }

    @BeforeEach
    void clearFaults() {
        modal.faults().clear();
    }

    private ModalConfig config() {
        return ModalConfig.builder().serverUrl(modal.url())
                .token(Secret.of(modal.tokenId()), Secret.of(modal.tokenSecret())).appName("api-test").build();
    }

    private static Instant soon() {
        return Instant.now().plusSeconds(30);
    }

    @Test
    void everyCallCarriesModalsMetadataAndUnaryCallsTheAuthToken() {
        int before = modal.calls().size();
        try (ModalApi api = new ModalApi(config())) {
            String appId = api.appGetOrCreate(soon());
            assertThat(appId).startsWith("ap-");
            assertThat(api.appGetOrCreate(soon())).as("get-or-create finds the same app").isEqualTo(appId);
        }
        List<FakeModal.Call> calls = modal.calls().subList(before, modal.calls().size());
        assertThat(calls).extracting(FakeModal.Call::rpc)
                .containsExactly("AuthTokenGet", "AppGetOrCreate", "AppGetOrCreate");
        for (FakeModal.Call call : calls) {
            assertThat(call.headers()).containsEntry("x-modal-client-type", "9")
                    .containsEntry("x-modal-client-version", "1.0.0")
                    .containsEntry("x-modal-token-id", modal.tokenId())
                    .containsEntry("x-modal-token-secret", modal.tokenSecret())
                    .hasEntrySatisfying("x-modal-libmodal-version", v -> assertThat(v).startsWith("agent-runtime-java/"));
        }
        assertThat(calls.get(0).headers()).doesNotContainKey("x-modal-auth-token");
        String token = calls.get(1).headers().get("x-modal-auth-token");
        assertThat(token).as("the JWT from AuthTokenGet").contains(".");
        assertThat(calls.get(2).headers()).as("one token serves both calls").containsEntry("x-modal-auth-token", token);
    }

    @Test
    void theAuthTokenIsFetchedAgainFiveMinutesBeforeItExpires() {
        modal.authTokenLifetime(Duration.ofMinutes(20));
        AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
        Clock clock = new Clock() {
            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now.get();
            }
        };
        try (ModalApi api = new ModalApi(config(), clock)) {
            api.appGetOrCreate(soon());
            assertThat(api.tokenFetches()).isEqualTo(1);
            now.set(now.get().plus(Duration.ofMinutes(14)));
            api.appGetOrCreate(soon());
            assertThat(api.tokenFetches()).as("6 minutes before expiry: the token is still used").isEqualTo(1);
            now.set(now.get().plus(Duration.ofMinutes(1).plusSeconds(5)));
            api.appGetOrCreate(soon());
            assertThat(api.tokenFetches()).as("less than 5 minutes before expiry: a new token").isEqualTo(2);
        } finally {
            modal.authTokenLifetime(Duration.ofMinutes(30));
        }
        List<FakeModal.Call> apps = modal.calls("AppGetOrCreate");
        int n = apps.size();
        assertThat(apps.get(n - 1).headers().get("x-modal-auth-token"))
                .isNotEqualTo(apps.get(n - 2).headers().get("x-modal-auth-token"));
    }

    @Test
    void aTokenRevokedBeforeItsExpiryIsReplacedOnceAndTheCallSucceeds() {
        try (ModalApi api = new ModalApi(config())) {
            api.appGetOrCreate(soon());
            int calls = modal.calls("AppGetOrCreate").size();
            modal.revokeAuthTokens();
            assertThat(api.appGetOrCreate(soon())).startsWith("ap-");
            assertThat(api.tokenFetches()).isEqualTo(2);
            assertThat(modal.calls("AppGetOrCreate")).as("refused once, then sent with the new token")
                    .hasSize(calls + 2);
        }
    }

    @Test
    void unavailableIsRetriedWithBackOffUntilItSucceeds() {
        modal.faults().fail("AppGetOrCreate", Status.Code.UNAVAILABLE, 2, "upstream connect error");
        try (ModalApi api = new ModalApi(config())) {
            api.appGetOrCreate(soon()); // token fetched first
            int before = modal.calls("AppGetOrCreate").size();
            modal.faults().fail("AppGetOrCreate", Status.Code.UNAVAILABLE, 2, "upstream connect error");
            long started = System.nanoTime();
            assertThat(api.appGetOrCreate(soon())).startsWith("ap-");
            assertThat(modal.calls("AppGetOrCreate")).hasSize(before + 3);
            assertThat(Duration.ofNanos(System.nanoTime() - started)).as("two back-offs of >= 50 ms")
                    .isGreaterThanOrEqualTo(Duration.ofMillis(100));
        }
    }

    @Test
    void resourceExhaustedIsRetriedThenReportedAsATransientQuotaErrorWithModalsMessage() {
        try (ModalApi api = new ModalApi(config())) {
            modal.faults().fail("SecretGetOrCreate", Status.Code.RESOURCE_EXHAUSTED, 10,
                    "Workspace has reached its limit of 100 concurrent sandboxes");
            int before = modal.calls("SecretGetOrCreate").size();
            assertThatThrownBy(() -> api.ephemeralSecret(Map.of("A", "1"), soon()))
                    .isInstanceOf(BackendException.class)
                    .hasMessageContaining("Modal SecretGetOrCreate is over a quota or rate limit")
                    .hasMessageContaining("RESOURCE_EXHAUSTED")
                    .hasMessageContaining("limit of 100 concurrent sandboxes")
                    .matches(e -> ((AgentRuntimeException) e).isTransient(), "transient");
            assertThat(modal.calls("SecretGetOrCreate")).as("4 attempts").hasSize(before + 4);
        }
    }

    @Test
    void statusCodesMapOntoTheKitsErrors() {
        try (ModalApi api = new ModalApi(config())) {
            modal.faults().fail("AppGetOrCreate", Status.Code.ALREADY_EXISTS, 1, "App is being deployed");
            assertThatThrownBy(() -> api.appGetOrCreate(soon())).isInstanceOf(BackendConflictException.class)
                    .hasMessageContaining("App is being deployed");
            modal.faults().fail("AppGetOrCreate", Status.Code.PERMISSION_DENIED, 1, "No access to workspace");
            assertThatThrownBy(() -> api.appGetOrCreate(soon())).isInstanceOf(BackendAuthenticationException.class)
                    .hasMessageContaining("MODAL_TOKEN_ID");
            modal.faults().fail("AppGetOrCreate", Status.Code.INVALID_ARGUMENT, 1, "bad name");
            assertThatThrownBy(() -> api.appGetOrCreate(soon())).isInstanceOf(BackendException.class)
                    .hasMessageContaining("refused the request").hasMessageContaining("bad name")
                    .matches(e -> !((AgentRuntimeException) e).isTransient(), "not transient");
        }
    }

    @Test
    void aWrongTokenSecretIsAnAuthenticationErrorNamingTheVariables() {
        ModalConfig wrong = config().toBuilder().token(Secret.of(modal.tokenId()), Secret.of("as-wrong")).build();
        try (ModalApi api = new ModalApi(wrong)) {
            assertThatThrownBy(() -> api.appGetOrCreate(soon())).isInstanceOf(BackendAuthenticationException.class)
                    .hasMessageContaining("AuthTokenGet").hasMessageContaining("Token ID or secret is invalid")
                    .hasMessageContaining("MODAL_TOKEN_SECRET").hasMessageNotContaining("as-wrong");
        }
    }

    @Test
    void anUnknownAppIsEmptyForALookupAndAnUnknownEnvironmentNotFound() {
        try (ModalApi api = new ModalApi(config().toBuilder().appName("never-created").build())) {
            assertThat(api.appLookup(soon())).isEmpty();
        }
        try (ModalApi api = new ModalApi(config().toBuilder().environment("staging").build())) {
            assertThatThrownBy(() -> api.appGetOrCreate(soon()))
                    .isInstanceOf(dev.agentruntime.RuntimeNotFoundException.class)
                    .hasMessageContaining("Environment 'staging' not found");
        }
    }

    @Test
    void theImageBuildLogIsReportedAndABuiltImageReused() {
        ModalConfig recipe = config().toBuilder().dockerfileCommands(List.of("FROM agent-runtime-test/debian:bookworm",
                "RUN echo baked > /etc/baked", "ENV BAKED=1")).build();
        try (ModalApi api = new ModalApi(recipe)) {
            String appId = api.appGetOrCreate(soon());
            List<String> progress = new ArrayList<>();
            String imageId = api.image(appId, progress::add, soon());
            assertThat(progress).contains("=> Step 1: RUN echo baked > /etc/baked");
            int joins = modal.calls("ImageJoinStreaming").size();
            assertThat(api.image(appId, progress::add, soon())).isEqualTo(imageId);
            assertThat(modal.calls("ImageJoinStreaming")).as("built once, reused by id").hasSize(joins);
        }
        try (ModalApi api = new ModalApi(config().toBuilder().image("python:3.13-slim").build())) {
            String appId = api.appGetOrCreate(soon());
            assertThatThrownBy(() -> api.image(appId, line -> { }, soon()))
                    .isInstanceOf(RuntimeStartupException.class).hasMessageContaining("could not build the image")
                    .hasMessageContaining("python:3.13-slim").hasMessageContaining("it failed");
        }
    }
}
