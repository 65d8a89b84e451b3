package dev.agentruntime.kubernetes.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.model.Container;
import dev.agentruntime.testkit.RequiresDocker;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What the simulated node does beyond the recordings, the way the backend will use it: pods Ready in about a
 * second, eight at once, init containers sharing an {@code emptyDir} with the main container, ConfigMaps and Secrets
 * as files and environment, the pod's user and working directory, and nothing left on the host afterwards (also
 * after a JVM died).
 */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SimulatedClusterTest {

    private SimulatedCluster cluster;
    private KubernetesClient client;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    void startCluster() {
        SimulatedClusters.prepareWebImage();
        cluster = SimulatedCluster.builder().namespace("sandboxes").timing(KubeletTiming.fast()).start();
        client = cluster.client();
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
            assertThat(cluster.leftovers()).as("left on the host after close").isEmpty();
        }
    }

    private static Pod web(String name) {
        return Serialization.unmarshal("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" + name
                + "\",\"labels\":{\"app\":\"agent-sandbox\"}},\"spec\":{\"restartPolicy\":\"Never\","
                + "\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"agent\",\"image\":\""
                + SimulatedClusters.WEB_IMAGE + "\",\"imagePullPolicy\":\"IfNotPresent\",\"command\":[\"httpd\",\"-f\","
                + "\"-p\",\"8080\",\"-h\",\"/www\"],\"ports\":[{\"name\":\"http\",\"containerPort\":8080}],"
                + "\"readinessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":\"http\"},\"periodSeconds\":1}}]}}", Pod.class);
    }

    private static boolean ready(Pod pod) {
        return pod != null && pod.getStatus() != null && pod.getStatus().getConditions().stream()
                .anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True"));
    }

    @Test
    void podBecomesReadyInAboutASecond() {
        List<Long> millis = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String name = "timed-" + i;
            long start = System.nanoTime();
            client.pods().inNamespace("sandboxes").resource(web(name)).create();
            client.pods().inNamespace("sandboxes").withName(name).waitUntilCondition(SimulatedClusterTest::ready, 60,
                    TimeUnit.SECONDS);
            millis.add((System.nanoTime() - start) / 1_000_000);
            client.pods().inNamespace("sandboxes").withName(name).withGracePeriod(0).delete();
        }
        System.out.println("simulated pod create -> Ready (ms): " + millis);
        // a loose bound only: the number is reported, benchmarks belong in runtime-bench
        assertThat(millis).allSatisfy(ms -> assertThat(ms).isLessThan(30_000));
    }

    @Test
    void eightPodsRunAtOnceEachOnItsOwnReachableIp() throws Exception {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            names.add("many-" + i);
            client.pods().inNamespace("sandboxes").resource(web("many-" + i)).create();
        }
        Set<String> ips = new HashSet<>();
        for (String name : names) {
            Pod pod = client.pods().inNamespace("sandboxes").withName(name).waitUntilCondition(SimulatedClusterTest::ready,
                    120, TimeUnit.SECONDS);
            ips.add(pod.getStatus().getPodIP());
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                    URI.create("http://" + pod.getStatus().getPodIP() + ":8080/")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.body()).isEqualTo("hello from a simulated pod\n");
        }
        assertThat(ips).hasSize(8);
        client.pods().inNamespace("sandboxes").withLabel("app", "agent-sandbox").delete();
        for (String name : names) {
            client.pods().inNamespace("sandboxes").withName(name).waitUntilCondition(p -> p == null, 60, TimeUnit.SECONDS);
        }
        waitUntilNoPodContainers();
    }

    @Test
    void initContainerPreparesAnEmptyDirThatTheMainContainerServes() throws Exception {
        client.configMaps().inNamespace("sandboxes").resource(new ConfigMapBuilder().withNewMetadata()
                .withName("agent-config").endMetadata().addToData("agent.conf", "mode=test\n").build()).create();
        client.secrets().inNamespace("sandboxes").resource(new SecretBuilder().withNewMetadata()
                .withName("agent-key").endMetadata().addToStringData("key", "s3cr3t").build()).create();
        Pod pod = Serialization.unmarshal("""
                {"apiVersion":"v1","kind":"Pod","metadata":{"name":"with-init"},"spec":{
                  "restartPolicy":"Never","terminationGracePeriodSeconds":1,
                  "securityContext":{"runAsUser":1000,"runAsGroup":1000},
                  "volumes":[{"name":"www","emptyDir":{}},{"name":"cfg","configMap":{"name":"agent-config"}},
                             {"name":"key","secret":{"secretName":"agent-key"}}],
                  "initContainers":[{"name":"prepare","image":"%s","command":["sh","-c",
                     "echo \\"$(id -u) $(cat /cfg/agent.conf)\\" > /www/index.html"],
                     "volumeMounts":[{"name":"www","mountPath":"/www"},{"name":"cfg","mountPath":"/cfg"}]}],
                  "containers":[{"name":"agent","image":"%s","workingDir":"/www",
                     "command":["sh","-c","echo \\"$KEY $(pwd) $(cat /key/key)\\" >> index.html; exec httpd -f -p 8080 -h /www"],
                     "env":[{"name":"KEY","valueFrom":{"secretKeyRef":{"name":"agent-key","key":"key"}}}],
                     "volumeMounts":[{"name":"www","mountPath":"/www"},{"name":"key","mountPath":"/key","readOnly":true}],
                     "readinessProbe":{"tcpSocket":{"port":8080},"periodSeconds":1}}]}}
                """.formatted(SimulatedClusters.BUSYBOX, SimulatedClusters.BUSYBOX), Pod.class);
        client.pods().inNamespace("sandboxes").resource(pod).create();
        Pod ready = client.pods().inNamespace("sandboxes").withName("with-init")
                .waitUntilCondition(SimulatedClusterTest::ready, 60, TimeUnit.SECONDS);
        assertThat(ready.getStatus().getInitContainerStatuses()).singleElement().satisfies(s -> {
            assertThat(s.getState().getTerminated().getReason()).isEqualTo("Completed");
            assertThat(s.getReady()).isTrue();
        });
        assertThat(ready.getStatus().getConditions()).extracting(PodCondition::getType).containsExactly(
                "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled");
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                URI.create("http://" + ready.getStatus().getPodIP() + ":8080/")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.body()).isEqualTo("1000 mode=test\ns3cr3t /www s3cr3t\n");
        client.pods().inNamespace("sandboxes").withName("with-init").withGracePeriod(0).delete();
    }

    @Test
    void missingSecretKeepsTheContainerWaitingWithCreateContainerConfigError() {
        Pod pod = Serialization.unmarshal("""
                {"apiVersion":"v1","kind":"Pod","metadata":{"name":"no-secret"},"spec":{"restartPolicy":"Never",
                  "containers":[{"name":"agent","image":"%s","command":["sleep","60"],
                    "env":[{"name":"KEY","valueFrom":{"secretKeyRef":{"name":"absent","key":"k"}}}]}]}}
                """.formatted(SimulatedClusters.BUSYBOX), Pod.class);
        client.pods().inNamespace("sandboxes").resource(pod).create();
        Pod waiting = client.pods().inNamespace("sandboxes").withName("no-secret").waitUntilCondition(p ->
                p.getStatus().getContainerStatuses().stream().anyMatch(s -> s.getState().getWaiting() != null
                        && "CreateContainerConfigError".equals(s.getState().getWaiting().getReason())), 60, TimeUnit.SECONDS);
        assertThat(waiting.getStatus().getContainerStatuses().get(0).getState().getWaiting().getMessage())
                .isEqualTo("secret \"absent\" not found");
        client.pods().inNamespace("sandboxes").withName("no-secret").withGracePeriod(0).delete();
    }

    @Test
    void containersOfADeadJvmAreReapedByTheNextCluster() throws IOException {
        long deadPid = ProcessHandle.current().pid() + 1_000_000;
        Path root = cluster.settings().workRoot();
        Path orphanDir = root.resolve("orphan-" + deadPid);
        Files.createDirectories(orphanDir);
        Files.writeString(orphanDir.resolve("owner-pid"), String.valueOf(deadPid));
        String orphan;
        try (SimDocker docker = SimDocker.open()) {
            orphan = docker.client().createContainerCmd(SimulatedClusters.BUSYBOX).withCmd("true")
                    .withLabels(Map.of(SimDocker.MANAGED_BY, "true", SimDocker.CLUSTER, "orphan",
                            SimDocker.OWNER_PID, String.valueOf(deadPid), SimDocker.OWNER_HOST, SimulatedCluster.HOST))
                    .exec().getId();
        }
        SimulatedCluster next = SimulatedCluster.builder().start();
        try (SimDocker docker = SimDocker.open()) {
            assertThat(docker.inspect(orphan)).as("container of a dead owner").isEmpty();
            assertThat(orphanDir).doesNotExist();
        } finally {
            next.close();
        }
        assertThat(next.leftovers()).isEmpty();
    }

    private void waitUntilNoPodContainers() throws InterruptedException {
        try (SimDocker docker = SimDocker.open()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            List<Container> left = docker.containers(cluster.id());
            while (!left.isEmpty() && System.nanoTime() < deadline) {
                TimeUnit.MILLISECONDS.sleep(50);
                left = docker.containers(cluster.id());
            }
            assertThat(left).as("containers of deleted pods").isEmpty();
        }
    }
}
