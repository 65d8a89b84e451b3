package dev.agentruntime.modal.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.Secret;
import dev.agentruntime.modal.ModalConfig;
import dev.agentruntime.modal.ModalSandboxEndedException;
import dev.agentruntime.modal.fake.FakeModal;
import dev.agentruntime.testkit.RequiresDocker;
import dev.agentruntime.thirdparty.SandboxCommands;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exec and upload through the command router of one sandbox of the local Modal: output, exit codes, stdin at
 * offsets, a dropped output stream resumed at its offset, the router JWT replaced when refused; and sandboxes ending
 * at their timeout and idle timeout with those reasons.
 */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CommandRouterIT {

    private FakeModal modal;
    private ModalApi api;
    private String appId;
    private String imageId;
    private String sandboxId;
    private CommandRouter router;

    @BeforeAll
    void start() {
        modal = FakeModal.builder().start();
        api = new ModalApi(ModalConfig.builder().serverUrl(modal.url()).appName("router-test")
                .token(Secret.of(modal.tokenId()), Secret.of(modal.tokenSecret()))
                .image("agent-runtime-test/debian:bookworm").build());
        appId = api.appGetOrCreate(deadline());
        imageId = api.image(appId, line -> { }, deadline());
        sandboxId = create(api.config());
        router = new CommandRouter(api, sandboxId, api.taskId(sandboxId, deadline()), deadline());
    }

    @AfterAll
    void stop() {
        if (router != null) {
            router.close();
        }
        api.close();
        modal.close();
    }

    @BeforeEach
    void clearFaults() {
        modal.faults().clear();
    }

    private String create(ModalConfig config) {
        String secret = api.ephemeralSecret(Map.of("FROM_SECRET", "secret value"), deadline());
        return api.createSandbox(appId, SandboxSpecs.definition(config, imageId, List.of(secret)),
                Map.of("test", "router"), deadline());
    }

    private static Instant deadline() {
        return Instant.now().plusSeconds(60);
    }

    @Test
    void runsACommandWithItsOutputExitCodeAndTheSecretsEnvironment() {
        SandboxCommands.Result result = router.run("echo out; echo err >&2; echo $FROM_SECRET; exit 3",
                Duration.ofSeconds(30));
        assertThat(result.exitCode()).isEqualTo(3);
        assertThat(result.stdout()).isEqualTo("out\nsecret value\n");
        assertThat(result.stderr()).isEqualTo("err\n");
    }

    @Test
    void uploadsAFileOverStdinInChunksAtOffsets(@TempDir Path tmp) throws Exception {
        byte[] data = new byte[CommandRouter.STDIN_CHUNK * 3 + 12345];
        new Random(7).nextBytes(data);
        Path file = Files.write(tmp.resolve("blob.bin"), data);
        router.upload(file, "/tmp/uploaded/blob.bin");
        String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        assertThat(router.run("sha256sum /tmp/uploaded/blob.bin | cut -d' ' -f1", Duration.ofSeconds(30)).stdout()
                .strip()).isEqualTo(digest);
    }

    @Test
    void aDroppedOutputStreamIsResumedAtTheOffsetAlreadyReceived() {
        long resumes = router.streamResumes();
        int before = modal.stdioReadOffsets().size();
        modal.faults().dropStdioStreams(2, 40_000);
        SandboxCommands.Result result = router.run("seq 1 30000", Duration.ofSeconds(30));
        StringBuilder expected = new StringBuilder();
        for (int i = 1; i <= 30000; i++) {
            expected.append(i).append('\n');
        }
        assertThat(result.stdout()).as("every byte once, in order").isEqualTo(expected.toString());
        assertThat(router.streamResumes() - resumes).isEqualTo(2);
        List<Long> offsets = modal.stdioReadOffsets().subList(before, modal.stdioReadOffsets().size());
        assertThat(offsets).as("stdout at 0, resumed at 40000 and 80000, then stderr at 0")
                .containsExactly(0L, 40_000L, 80_000L, 0L);
    }

    @Test
    void aRefusedRouterTokenIsReplacedAndTheExecGoesThrough() {
        int accesses = modal.calls("TaskGetCommandRouterAccess").size();
        modal.revokeAuthTokens();
        assertThat(router.run("echo still", Duration.ofSeconds(30)).stdout()).isEqualTo("still\n");
        // the revocation also expired the control plane's auth token: that call is refused once, then sent again
        // with a new auth token, and answers a new router JWT
        assertThat(modal.calls("TaskGetCommandRouterAccess")).as("a new JWT was fetched")
                .hasSize(accesses + 2);
    }

    @Test
    void aCommandPastItsTimeoutIsATimeout() {
        assertThatThrownBy(() -> router.run("sleep 30", Duration.ofSeconds(2)))
                .isInstanceOf(dev.agentruntime.RuntimeTimeoutException.class);
    }

    @Test
    void sandboxesEndAtTheirTimeoutAndIdleTimeoutWithThoseReasons() {
        String timed = create(api.config().toBuilder().timeout(Duration.ofSeconds(2)).build());
        String idle = create(api.config().toBuilder().idleTimeout(Duration.ofSeconds(2)).build());
        assertThat(api.taskId(timed, deadline())).startsWith("ta-");
        assertThat(api.poll(timed, Duration.ofSeconds(30))).hasValueSatisfying(end -> {
            assertThat(end.reason()).isEqualTo(ModalSandboxEndedException.Reason.TIMEOUT);
            assertThat(end.describe()).contains("reached its timeout");
        });
        assertThat(api.poll(idle, Duration.ofSeconds(30))).hasValueSatisfying(end ->
                assertThat(end.reason()).isEqualTo(ModalSandboxEndedException.Reason.IDLE_TIMEOUT));
        assertThatThrownBy(() -> api.taskId(idle, deadline())).isInstanceOf(ModalSandboxEndedException.class)
                .hasMessageContaining(idle).hasMessageContaining("idle timeout")
                .matches(e -> ((ModalSandboxEndedException) e).reason()
                        == ModalSandboxEndedException.Reason.IDLE_TIMEOUT, "reason IDLE_TIMEOUT");
    }
}
