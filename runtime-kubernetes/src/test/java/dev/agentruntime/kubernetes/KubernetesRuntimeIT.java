package dev.agentruntime.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.kubernetes.PodStartupException.Problem;
import dev.agentruntime.kubernetes.internal.SandboxManifests;
import dev.agentruntime.testkit.RequiresDocker;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The backend's own behaviour on the simulated cluster, beyond the contract suite: every way a pod fails to start
 * gives a typed error with Kubernetes' reason, its Events and the failed container's log; the startup deadline; the
 * server baked into the image; port-forward; eight sandboxes at once; attach to nothing; the workspace claim kept on
 * close and removed on delete; Ingress and NetworkPolicy owned by the pod; housekeeping and the reaper, also after a
 * {@code kill -9} of the owning JVM.
 */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KubernetesRuntimeIT {

    @RegisterExtension
    static final SimulatedKubernetes K8S = new SimulatedKubernetes(true);

    @org.junit.jupiter.api.BeforeAll
    static void simulatedOnly() {
        org.junit.jupiter.api.Assumptions.assumeFalse(SimulatedKubernetes.REAL,
                "these tests drive the simulated cluster (its API server, node and images)");
    }

    private static RuntimeConfig.Builder config(KubernetesConfig k8s) {
        return RuntimeConfig.builder().type("kubernetes").backendConfig(k8s).startupTimeout(Duration.ofSeconds(180));
    }

    private KubernetesClient api() {
        return K8S.cluster().client();
    }

    private PodStartupException failedStart(KubernetesConfig k8s) {
        RuntimeConfig config = config(k8s).build();
        Runtime runtime = RuntimeFactory.create(config);
        try {
            Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(runtime::connect);
            assertThat(thrown).isInstanceOf(PodStartupException.class).hasMessageContaining(config.sessionId());
            assertThat(runtime.status()).isEqualTo(RuntimeStatus.ERROR);
            return (PodStartupException) thrown;
        } finally {
            runtime.close();
            assertNothingLeft(config.sessionId());
        }
    }

    private void assertNothingLeft(String sessionId) {
        await("nothing of " + sessionId + " is left", () -> {
            try (SandboxHousekeeping housekeeping = KubernetesSandboxes.connect(K8S.config().build())) {
                return housekeeping.find(sessionId).isEmpty();
            }
        });
        Map<String, String> session = dev.agentruntime.spi.SessionLabels.kubernetesSessionSelector(sessionId);
        await("no Service or Secret of " + sessionId, () -> api().services().inNamespace(SimulatedKubernetes.NAMESPACE)
                .withLabels(session).list().getItems().isEmpty() && api().secrets()
                .inNamespace(SimulatedKubernetes.NAMESPACE).withLabels(session).list().getItems().isEmpty());
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Timed out waiting until " + what);
            }
            try {
                Thread.sleep(50); // polling a condition with a deadline
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    // ------------------------------------------------------------------------------------- error paths ---

    @Test
    void aMissingImageFailsAtOnceWithErrImagePullAndThePullEvents() {
        PodStartupException e = failedStart(K8S.config().image("registry.invalid/agent/nope:1.0").build());
        assertThat(e.problem()).isEqualTo(Problem.IMAGE_PULL);
        assertThat(e.getMessage()).contains("ErrImagePull").contains("registry.invalid/agent/nope:1.0")
                .contains("not found").contains("Failed (Warning").contains("Failed to pull image")
                .contains("Check the image name");
    }

    @Test
    void aSetupContainerThatFailsReportsItsExitCodeAndLog() {
        PodStartupException e = failedStart(K8S.config().serverDir("/no/such/dir").build());
        assertThat(e.problem()).isEqualTo(Problem.CONTAINER_EXITED);
        assertThat(e.getMessage()).contains("init container setup exited with code 1")
                .contains("Last server log lines:").contains("/no/such/dir");
    }

    @Test
    void anUnschedulablePodFailsWithTheSchedulersReason() {
        PodStartupException e = failedStart(K8S.config().cpuRequest("64").build());
        assertThat(e.problem()).isEqualTo(Problem.UNSCHEDULABLE);
        assertThat(e.getMessage()).contains("0/1 nodes are available: 1 Insufficient cpu.")
                .contains("FailedScheduling (Warning").contains("lower its requests");
        PodStartupException selector = failedStart(K8S.config().nodeSelector(Map.of("pool", "gpu")).build());
        assertThat(selector.problem()).isEqualTo(Problem.UNSCHEDULABLE);
        assertThat(selector.getMessage()).contains("node(s) didn't match Pod's node affinity/selector");
    }

    @Test
    void theTtlEndsAStartingPodWithDeadlineExceeded() {
        // the JVM is held at start (PauseAtStartup) so the 1 s activeDeadlineSeconds passes before readiness
        KubernetesConfig k8s = K8S.config().ttl(Duration.ofSeconds(1)).build();
        RuntimeConfig config = config(k8s).env("JAVA_TOOL_OPTIONS",
                "-XX:+UnlockDiagnosticVMOptions -XX:+PauseAtStartup").build();
        Runtime runtime = RuntimeFactory.create(config);
        try {
            assertThatThrownBy(runtime::connect).isInstanceOfSatisfying(PodStartupException.class, e -> {
                assertThat(e.problem()).isEqualTo(Problem.POD_FAILED);
                assertThat(e.getMessage()).contains("DeadlineExceeded")
                        .contains("Pod was active on the node longer than the specified deadline");
            });
        } finally {
            runtime.close();
        }
        assertNothingLeft(config.sessionId());
    }

    @Test
    void theStartupDeadlineIsOneTypedTimeoutNamingThePodsState() {
        RuntimeConfig config = config(K8S.config().build()).startupTimeout(Duration.ofSeconds(4))
                .env("JAVA_TOOL_OPTIONS", "-XX:+UnlockDiagnosticVMOptions -XX:+PauseAtStartup").build();
        Runtime runtime = RuntimeFactory.create(config);
        long start = System.nanoTime();
        try {
            assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeTimeoutException.class)
                    .hasMessageContaining("was not ready within the startup timeout PT4S")
                    .hasMessageContaining(SandboxManifests.podName("agent-sandbox", config.sessionId()));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));
        } finally {
            runtime.close();
        }
        assertNothingLeft(config.sessionId());
    }

    // ------------------------------------------------------------------------------------------ routes ---

    @Test
    void theServerBakedIntoTheImageRunsWithoutAServerImageAndBothStartTimesAreMeasured() {
        KubernetesConfig baked = K8S.config().serverImage(null).image(SimulatedKubernetes.bakedImage()).build();
        KubernetesConfig copied = K8S.config().build();
        List<Long> bakedMs = new ArrayList<>();
        List<Long> copiedMs = new ArrayList<>();
        for (KubernetesConfig k8s : List.of(baked, copied)) {
            RuntimeConfig config = config(k8s).build();
            long start = System.nanoTime();
            try (Runtime runtime = RuntimeFactory.connect(config)) {
                (k8s == baked ? bakedMs : copiedMs).add((System.nanoTime() - start) / 1_000_000);
                String copy = runtime.run("test -d " + SandboxManifests.COPIED_SERVER_DIR + " && echo copied"
                        + " || echo in-image").content();
                assertThat(copy).isEqualTo(k8s == baked ? "in-image" : "copied");
                assertThat(runtime.run("ls " + (k8s == baked ? KubernetesConfig.DEFAULT_SERVER_DIR
                        : SandboxManifests.COPIED_SERVER_DIR)).content()).contains("runtime-server.jar");
            }
            assertNothingLeft(config.sessionId());
        }
        System.out.println("create -> ready (ms), server baked in: " + bakedMs + ", copied by the init container: "
                + copiedMs + " (load average " + java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                .getSystemLoadAverage() + ")");
    }

    @Test
    void aPortForwardThroughTheApiServerReachesTheServerAndTheAppPorts() throws Exception {
        RuntimeConfig config = config(K8S.config().access(KubernetesConfig.Access.PORT_FORWARD).build()).build();
        try (Runtime runtime = RuntimeFactory.connect(config)) {
            KubernetesRuntime k8s = (KubernetesRuntime) runtime;
            assertThat(k8s.access()).contains(KubernetesConfig.Access.PORT_FORWARD);
            assertThat(k8s.serverEndpoint().orElseThrow().baseUrl().getHost()).isEqualTo("127.0.0.1");
            assertThat(runtime.run("echo through the API server").content()).isEqualTo("through the API server");
            Map.Entry<String, Integer> app = runtime.webHosts().entrySet().iterator().next();
            assertThat(app.getKey()).startsWith("http://127.0.0.1:");
            runtime.run("mkdir -p /tmp/www && echo forwarded > /tmp/www/index.html && (cd /tmp/www && python3 -m"
                    + " http.server " + app.getValue() + " >/dev/null 2>&1 &)");
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            String[] body = {null};
            await("the app answers through its forward", () -> {
                try {
                    var response = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(app.getKey()
                            + "/index.html")).timeout(Duration.ofSeconds(5)).build(),
                            java.net.http.HttpResponse.BodyHandlers.ofString());
                    body[0] = response.body();
                    return response.statusCode() == 200;
                } catch (java.io.IOException e) {
                    return false;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            });
            assertThat(body[0]).isEqualTo("forwarded\n");
        }
        assertNothingLeft(config.sessionId());
    }

    @Test
    void anUnreachableIngressIsNamedInTheDiagnosticAndTheIngressIsOwnedByThePod() {
        KubernetesConfig k8s = K8S.config().ingressDomain("sandboxes.invalid").ingressTlsSecret("wildcard-tls")
                .networkPolicy(true).access(KubernetesConfig.Access.INGRESS).build();
        RuntimeConfig config = config(k8s).build();
        Runtime runtime = RuntimeFactory.create(config);
        String pod = SandboxManifests.podName("agent-sandbox", config.sessionId());
        try {
            assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeUnavailableException.class)
                    .hasMessageContaining("is ready, but its server cannot be reached from here. Tried: Ingress https://"
                            + pod + ".sandboxes.invalid");
        } finally {
            runtime.close();
        }
        assertNothingLeft(config.sessionId());
        assertThat(api().network().v1().ingresses().inNamespace(SimulatedKubernetes.NAMESPACE).withName(pod).get())
                .isNull();
        assertThat(api().network().v1().networkPolicies().inNamespace(SimulatedKubernetes.NAMESPACE).withName(pod)
                .get()).isNull();
    }

    @Test
    void autoFallsBackFromAnUnansweredIngressToThePodIpAndTheDependentsCascade() {
        KubernetesConfig k8s = K8S.config().ingressDomain("sandboxes.invalid").networkPolicy(true).build();
        RuntimeConfig config = config(k8s).build();
        String pod = SandboxManifests.podName("agent-sandbox", config.sessionId());
        try (Runtime runtime = RuntimeFactory.connect(config)) {
            assertThat(((KubernetesRuntime) runtime).access()).contains(KubernetesConfig.Access.POD_IP);
            Pod live = api().pods().inNamespace(SimulatedKubernetes.NAMESPACE).withName(pod).get();
            var ingress = api().network().v1().ingresses().inNamespace(SimulatedKubernetes.NAMESPACE).withName(pod).get();
            assertThat(ingress.getMetadata().getOwnerReferences()).singleElement()
                    .satisfies(o -> assertThat(o.getUid()).isEqualTo(live.getMetadata().getUid()));
            assertThat(ingress.getSpec().getRules()).extracting(r -> r.getHost()).containsExactly(
                    pod + ".sandboxes.invalid", pod + "-app1.sandboxes.invalid", pod + "-app2.sandboxes.invalid");
            var policy = api().network().v1().networkPolicies().inNamespace(SimulatedKubernetes.NAMESPACE)
                    .withName(pod).get();
            assertThat(policy.getMetadata().getOwnerReferences()).singleElement()
                    .satisfies(o -> assertThat(o.getUid()).isEqualTo(live.getMetadata().getUid()));
            assertThat(api().secrets().inNamespace(SimulatedKubernetes.NAMESPACE).withName(pod + "-key").get()
                    .getMetadata().getOwnerReferences()).singleElement()
                    .satisfies(o -> assertThat(o.getName()).isEqualTo(pod));
        }
        // delete only the pod, as a user would: the garbage collector removes the rest
        assertNothingLeft(config.sessionId());
    }

    // ------------------------------------------------------------------------------ many, attach, volumes ---

    @Test
    void eightSandboxesStartAtOnceEachInItsOwnPod() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<RuntimeConfig> configs = new ArrayList<>();
        List<Future<Runtime>> started = new ArrayList<>();
        long start = System.nanoTime();
        try {
            for (int i = 0; i < 8; i++) {
                RuntimeConfig config = config(K8S.config().build()).env("SANDBOX_INDEX", Integer.toString(i)).build();
                configs.add(config);
                started.add(pool.submit(() -> RuntimeFactory.connect(config)));
            }
            Set<String> hosts = new HashSet<>();
            List<Runtime> runtimes = new ArrayList<>();
            for (Future<Runtime> f : started) {
                runtimes.add(f.get(300, TimeUnit.SECONDS));
            }
            System.out.println("eight sandboxes ready in " + (System.nanoTime() - start) / 1_000_000 + " ms");
            for (int i = 0; i < 8; i++) {
                Runtime runtime = runtimes.get(i);
                assertThat(runtime.run("echo $SANDBOX_INDEX").content()).isEqualTo(Integer.toString(i));
                hosts.add(((KubernetesRuntime) runtime).serverEndpoint().orElseThrow().baseUrl().getHost());
            }
            assertThat(hosts).as("one pod IP each").hasSize(8);
            try (KubernetesSandboxes housekeeping = KubernetesSandboxes.connect(K8S.config().build())) {
                assertThat(housekeeping.list()).extracting(SandboxInfo::sessionId)
                        .containsAll(configs.stream().map(RuntimeConfig::sessionId).toList());
            }
            runtimes.forEach(Runtime::close);
        } finally {
            pool.shutdownNow();
        }
        configs.forEach(c -> assertNothingLeft(c.sessionId()));
    }

    @Test
    void attachingToASessionWithoutAPodIsNotFound() {
        RuntimeConfig config = config(K8S.config().build()).attachToExisting(true).build();
        Runtime runtime = RuntimeFactory.create(config);
        assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeNotFoundException.class)
                .hasMessageContaining("No sandbox to attach to for session " + config.sessionId());
        runtime.close();
    }

    @Test
    void theWorkspaceClaimIsKeptOnCloseAndRemovedOnDelete() {
        KubernetesConfig k8s = K8S.config().pvcSize("1Gi").build();
        RuntimeConfig config = config(k8s).build();
        String claim = SandboxManifests.podName("agent-sandbox", config.sessionId()) + "-workspace";
        try (Runtime first = RuntimeFactory.connect(config)) {
            first.run("echo kept > " + config.sandboxWorkspace() + "/note.txt");
        }
        try (KubernetesSandboxes housekeeping = KubernetesSandboxes.connect(K8S.config().build())) {
            await("only the claim is left", () -> housekeeping.find(config.sessionId()).map(SandboxInfo::state)
                    .equals(Optional.of(KubernetesSandboxes.STATE_WORKSPACE_KEPT)));
            assertThat(housekeeping.reap()).as("the reaper keeps workspaces").isEmpty();
        }
        RuntimeConfig again = config.toBuilder().build();
        try (Runtime second = RuntimeFactory.connect(again)) {
            assertThat(second.run("cat " + config.sandboxWorkspace() + "/note.txt").content()).isEqualTo("kept");
        }
        try (KubernetesSandboxes housekeeping = KubernetesSandboxes.connect(K8S.config().build())) {
            assertThat(housekeeping.delete(config.sessionId())).isTrue();
        }
        await("the claim is gone", () -> api().persistentVolumeClaims().inNamespace(SimulatedKubernetes.NAMESPACE)
                .withName(claim).get() == null);
        assertNothingLeft(config.sessionId());
    }

    // ------------------------------------------------------------------------------------- housekeeping ---

    @Test
    void housekeepingListsAKeptSandboxTheReaperSparesAndDeleteRemoves() {
        RuntimeConfig kept = config(K8S.config().build()).keepAlive(true).label("tenant", "t1").build();
        try (Runtime runtime = RuntimeFactory.connect(kept)) {
            runtime.run("true");
        }
        try (SandboxHousekeeping housekeeping = RuntimeFactory.housekeeping(kept)) {
            SandboxInfo info = housekeeping.find(kept.sessionId()).orElseThrow();
            assertThat(info.type()).isEqualTo("kubernetes");
            assertThat(info.state()).isEqualTo("Running");
            assertThat(info.keepAlive()).isTrue();
            assertThat(info.ownerGone()).isFalse();
            assertThat(info.ownerPid()).isEqualTo(ProcessHandle.current().pid());
            assertThat(info.labels()).containsEntry("label.agentruntime.dev/tenant", "t1");
            assertThat(housekeeping.reap()).extracting(SandboxInfo::sessionId).doesNotContain(kept.sessionId());
            assertThat(housekeeping.delete(kept.sessionId())).isTrue();
        }
        assertNothingLeft(kept.sessionId());
    }

    @Test
    void afterAKill9OfTheOwningJvmTheReaperRemovesEverything() throws Exception {
        String session = "killed-" + ProcessHandle.current().pid();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                OwnerJvm.class.getName(), K8S.cluster().masterUrl(), SimulatedKubernetes.NAMESPACE,
                SimulatedKubernetes.serverImage(), session).redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            StringBuilder seen = new StringBuilder();
            while ((line = out.readLine()) != null && !line.equals(OwnerJvm.READY)) {
                seen.append(line).append('\n');
            }
            assertThat(line).as("the child JVM's sandbox became ready; it printed:\n" + seen).isEqualTo(OwnerJvm.READY);
            child.destroyForcibly(); // SIGKILL: no close, no shutdown hook
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }
        try (KubernetesSandboxes housekeeping = KubernetesSandboxes.connect(K8S.config().build())) {
            SandboxInfo orphan = housekeeping.find(session).orElseThrow();
            assertThat(orphan.ownerGone()).isTrue();
            assertThat(orphan.ownerPid()).isEqualTo(child.pid());
            assertThat(housekeeping.reap()).extracting(SandboxInfo::sessionId).contains(session);
        }
        assertNothingLeft(session);
    }
}
