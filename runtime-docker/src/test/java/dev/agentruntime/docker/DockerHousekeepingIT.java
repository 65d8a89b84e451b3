package dev.agentruntime.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.dockerjava.api.model.DeviceRequest;
import com.github.dockerjava.api.model.HostConfig;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.Secret;
import dev.agentruntime.docker.internal.ContainerSpec;
import dev.agentruntime.docker.internal.Labels;
import dev.agentruntime.spi.SandboxOwner;
import dev.agentruntime.testkit.RequiresDocker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Reaping, deleting by session, and what the create command carries, checked on containers we never start. */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DockerHousekeepingIT {

    private final DockerTestClient docker = new DockerTestClient();
    private final List<String> created = new ArrayList<>();

    @AfterEach
    void removeCreated() {
        created.forEach(docker::removeQuietly);
        created.clear();
    }

    @AfterAll
    void closeClient() {
        docker.close();
    }

    private static String session() {
        return "it-hk-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** A never-started container of the base image with the given labels. */
    private String container(String name, Map<String, String> labels) {
        String id = docker.client().createContainerCmd(TestImages.DEBIAN).withName(name)
                .withEntrypoint("sleep", "infinity").withLabels(labels).exec().getId();
        created.add(id);
        return id;
    }

    private static Map<String, String> ownedBy(long pid, long startedMillis, String session, boolean keepAlive) {
        Map<String, String> labels = new LinkedHashMap<>(Labels.owned(Labels.ROLE_SANDBOX));
        labels.put(Labels.OWNER_PID, Long.toString(pid));
        labels.put(Labels.OWNER_STARTED, Long.toString(startedMillis));
        labels.put(Labels.SESSION_ID, session);
        labels.put(Labels.KEEP_ALIVE, Boolean.toString(keepAlive));
        return labels;
    }

    @Test
    void reapRemovesSandboxesWhoseOwnerIsGoneAndKeepsTheRest() throws Exception {
        Process finished = new ProcessBuilder("true").start();
        finished.waitFor();
        long deadPid = finished.pid();
        long deadStart = finished.info().startInstant().map(java.time.Instant::toEpochMilli).orElse(1L);

        String orphan = container("agent-runtime-" + session(), ownedBy(deadPid, deadStart, "orphan", false));
        Map<String, String> mine = ownedBy(ProcessHandle.current().pid(),
                SandboxOwner.current().startedMillis(), "mine", false);
        String alive = container("agent-runtime-" + session(), mine);
        String keptAlive = container("agent-runtime-" + session(), ownedBy(deadPid, deadStart, "kept", true));
        Map<String, String> elsewhere = ownedBy(deadPid, deadStart, "elsewhere", false);
        elsewhere.put(Labels.OWNER_HOST, "some-other-host");
        String otherHost = container("agent-runtime-" + session(), elsewhere);
        Map<String, String> reused = ownedBy(ProcessHandle.current().pid(), 12345L, "pid-reused", false);
        String pidReused = container("agent-runtime-" + session(), reused);

        List<SandboxInfo> reaped;
        try (DockerSandboxes sandboxes = DockerSandboxes.connect()) {
            reaped = sandboxes.reap();
        }

        assertThat(docker.inspect(orphan)).as("owner process gone").isEmpty();
        assertThat(docker.inspect(pidReused)).as("owner pid reused by another process").isEmpty();
        assertThat(docker.inspect(alive)).as("owner alive").isPresent();
        assertThat(docker.inspect(keptAlive)).as("keep-alive").isPresent();
        assertThat(docker.inspect(otherHost)).as("owned on another host").isPresent();
        assertThat(reaped).extracting(SandboxInfo::sandboxId).contains(orphan, pidReused)
                .doesNotContain(alive, keptAlive, otherHost);
    }

    @Test
    void deleteFindsTheSessionByLabelAndNeverByNameAlone() {
        String labelled = session();
        String id = container("agent-runtime-" + labelled, ownedBy(ProcessHandle.current().pid(),
                SandboxOwner.current().startedMillis(), labelled, true));
        String impostor = session();
        String impostorId = container("agent-runtime-" + impostor, Map.of("some", "label"));

        DockerSandboxes sandboxes = DockerSandboxes.connect();
        assertThat(sandboxes.delete(impostor)).isFalse();
        assertThat(docker.inspect(impostorId)).as("same name pattern, not ours").isPresent();

        assertThat(sandboxes.list()).anySatisfy(info -> {
            assertThat(info.sessionId()).isEqualTo(labelled);
            assertThat(info.keepAlive()).isTrue();
            assertThat(info.ownerPid()).isEqualTo(ProcessHandle.current().pid());
        });
        assertThat(sandboxes.delete(labelled)).isTrue();
        assertThat(docker.inspect(id)).isEmpty();
        sandboxes.close();
    }

    @Test
    void pruneRemovesSandboxImagesOfOtherServerVersionsOnly() {
        String stale = TestBaseImages.build(docker, "LABEL " + Labels.MANAGED_BY + "=agent-runtime " + Labels.ROLE
                + "=image " + Labels.SERVER_SHA256 + "=an-older-server", null);
        try {
            SandboxImage current = DockerSandboxes.prepareImage(DockerRuntimeConfig.builder().image(TestImages.DEBIAN)
                    .pullPolicy(PullPolicy.NEVER).build());
            try (DockerSandboxes sandboxes = DockerSandboxes.connect()) {
                assertThat(sandboxes.pruneImages()).contains(stale);
            }
            assertThatThrownBy(() -> docker.client().inspectImageCmd(stale).exec())
                    .isInstanceOf(com.github.dockerjava.api.exception.NotFoundException.class);
            assertThat(docker.client().inspectImageCmd(current.name()).exec().getId()).isNotBlank();
        } finally {
            TestBaseImages.remove(docker, stale);
        }
    }

    @Test
    void gpuRequestsLimitsAndRuntimeAppearInTheCreatedContainersHostConfig() {
        DockerRuntimeConfig base = DockerRuntimeConfig.builder().image(TestImages.DEBIAN)
                .pullPolicy(PullPolicy.NEVER).build();
        SandboxImage image = DockerSandboxes.prepareImage(base);

        HostConfig all = createFrom(image, base.toBuilder().gpus(GpuRequest.all()).cpus(0.5).memory("1g")
                .pidsLimit(100).containerRuntime("runc").privileged(false).build());
        DeviceRequest every = all.getDeviceRequests().get(0);
        assertThat(every.getCount()).isEqualTo(-1);
        assertThat(every.getCapabilities()).containsExactly(List.of("gpu"));
        assertThat(all.getNanoCPUs()).isEqualTo(500_000_000L);
        assertThat(all.getMemory()).isEqualTo(1L << 30);
        assertThat(all.getPidsLimit()).isEqualTo(100L);
        assertThat(all.getRuntime()).isEqualTo("runc");
        assertThat(all.getPrivileged()).isFalse();
        assertThat(all.getInit()).isTrue();

        HostConfig listed = createFrom(image, base.toBuilder().gpus(GpuRequest.devices("0", "2")).build());
        DeviceRequest some = listed.getDeviceRequests().get(0);
        assertThat(some.getDeviceIds()).containsExactly("0", "2");
        assertThat(some.getCapabilities()).containsExactly(List.of("gpu"));
    }

    /** Creates (never starts: there is no GPU here) a container the way DockerRuntime does; returns its inspected host config. */
    private HostConfig createFrom(SandboxImage image, DockerRuntimeConfig config) {
        String session = session();
        RuntimeConfig runtime = RuntimeConfig.builder().type("docker").sessionId(session).backendConfig(config)
                .startupTimeout(Duration.ofMinutes(1)).build();
        ContainerSpec spec = new ContainerSpec(runtime, config, image, "agent-runtime-" + session, Secret.of("key"),
                List.of(60000, 60001, 60002, 60003), Map.of());
        String id = spec.apply(docker.client().createContainerCmd(image.name())).exec().getId();
        created.add(id);
        return docker.inspect(id).orElseThrow().getHostConfig();
    }
}
