package dev.agentruntime.kubernetes.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.kubernetes.Recordings;
import dev.agentruntime.testkit.RequiresDocker;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.LocalPortForward;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Scenario 9: pod logs, exec and port-forward through the API server, for the recorded pods (a running httpd, a
 * Succeeded pod, an unschedulable one, one waiting on an image it may never pull), with the recorded answers — and
 * fabric8's own exec and port-forward clients working against them.
 */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PodSubresourceFidelityTest {

    private SimulatedCluster cluster;
    private KubernetesClient client;
    private final OkHttpClient http = new OkHttpClient();

    @BeforeAll
    void startCluster() {
        SimulatedClusters.prepareWebImage();
        cluster = SimulatedCluster.builder().nodeName("vm").namespace("ref")
                .imageAlias("local.test/busybox:1.35", SimulatedClusters.WEB_IMAGE).start();
        client = cluster.client();
        JsonNode manifests = Recordings.scenario("scenario-9-logs-exec-portforward").path("manifest");
        create(manifests.path("running").toString());
        create(manifests.path("terminated").toString());
        create(pod("logs-unschedulable", "\"resources\":{\"requests\":{\"cpu\":\"64\"}}", "IfNotPresent",
                "local.test/busybox:1.35"));
        create(pod("logs-imageneverpull", "\"resources\":{}", "Never", "local.test/nope:1.0"));
        client.pods().inNamespace("ref").withName("logs-running").waitUntilCondition(
                p -> p.getStatus().getContainerStatuses().stream().anyMatch(s -> s.getState().getRunning() != null),
                60, TimeUnit.SECONDS);
        client.pods().inNamespace("ref").withName("logs-terminated").waitUntilCondition(
                p -> "Succeeded".equals(p.getStatus().getPhase()), 60, TimeUnit.SECONDS);
        client.pods().inNamespace("ref").withName("logs-imageneverpull").waitUntilCondition(
                p -> p.getStatus().getContainerStatuses().stream().anyMatch(s -> s.getState().getWaiting() != null
                        && "ErrImageNeverPull".equals(s.getState().getWaiting().getReason())), 60, TimeUnit.SECONDS);
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            client.pods().inNamespace("ref").delete();
            cluster.close();
            assertThat(cluster.leftovers()).isEmpty();
        }
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }

    private void create(String json) {
        client.pods().inNamespace("ref").resource(Serialization.unmarshal(json, Pod.class)).create();
    }

    private static String pod(String name, String resources, String pullPolicy, String image) {
        return "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" + name + "\"},\"spec\":{"
                + "\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"agent\",\"image\":\"" + image + "\","
                + "\"imagePullPolicy\":\"" + pullPolicy + "\",\"command\":[\"sleep\",\"3600\"]," + resources + "}]}}";
    }

    /** First, before the other tests' requests add access-log lines to the running pod's log. */
    @Test
    @Order(1)
    void logRequestsGetTheRecordedAnswers() throws IOException, InterruptedException {
        // "sinceSeconds=1 (nothing new)": the condition is time itself, so wait until the last line is 2 s old
        java.time.Instant started = java.time.Instant.parse(client.pods().inNamespace("ref").withName("logs-running")
                .get().getStatus().getContainerStatuses().get(0).getState().getRunning().getStartedAt());
        while (java.time.Instant.now().isBefore(started.plusSeconds(3))) {
            TimeUnit.MILLISECONDS.sleep(100);
        }
        for (JsonNode c : Recordings.scenario("scenario-9-logs-exec-portforward").path("cases")) {
            String request = c.path("request").asText("");
            if (!request.startsWith("GET ") || !request.contains("/log")) {
                continue;
            }
            String name = c.path("case").asText();
            String path = request.substring(4);
            try (Response response = get(path)) {
                String body = response.body() == null ? "" : response.body().string();
                assertThat(response.code()).as("status of '%s' (%s)", name, body).isEqualTo(c.path("http_status").asInt());
                String expected = c.path("body").asText("");
                if (response.code() >= 400) {
                    assertThat(Recordings.json().readTree(body)).as(name).isEqualTo(Recordings.json().readTree(expected));
                } else if (name.equals("log of running container")) {
                    // the recording also holds the access-log line of the recorder's own GET
                    assertThat(body).as(name).startsWith(expected.substring(0, expected.indexOf('\n') + 1));
                } else if (name.startsWith("log running, timestamps=true")) {
                    assertThat(body).as(name).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+Z .*\\n");
                } else if (name.startsWith("log of terminated")) {
                    // stdout and stderr lines written back to back may be merged in either order (see the README)
                    assertThat(sortedLines(body)).as(name).isEqualTo(sortedLines(expected));
                } else {
                    assertThat(body).as(name).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void execStreamsOutputAndTheExitStatusOverTheChannelProtocol() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (ExecWatch exec = client.pods().inNamespace("ref").withName("logs-running")
                .writingOutput(out).writingError(err).exec("sh", "-c", "echo out; echo err 1>&2; exit 3")) {
            assertThat(exec.exitCode().get(30, TimeUnit.SECONDS)).isEqualTo(3);
        }
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("out\n");
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("err\n");
        ByteArrayOutputStream hello = new ByteArrayOutputStream();
        try (ExecWatch exec = client.pods().inNamespace("ref").withName("logs-running").writingOutput(hello)
                .exec("echo", "hello")) {
            assertThat(exec.exitCode().get(30, TimeUnit.SECONDS)).isZero();
        }
        assertThat(hello.toString(StandardCharsets.UTF_8)).isEqualTo("hello\n");
    }

    @Test
    void execWithoutUpgradeOrIntoAStoppedContainerFailsAsRecorded() throws IOException {
        JsonNode cases = Recordings.scenario("scenario-9-logs-exec-portforward").path("cases");
        String exec = "/api/v1/namespaces/ref/pods/logs-running/exec?command=sh&command=-c&command=true&stdout=true";
        try (Response response = http.newCall(new Request.Builder().url(url(exec))
                .post(RequestBody.create(new byte[0], MediaType.get("application/json"))).build()).execute()) {
            assertThat(response.code()).isEqualTo(400);
            JsonNode expected = Recordings.json().readTree(find(cases, "exec plain POST without upgrade headers")
                    .path("response").path("body").asText());
            assertThat(Recordings.json().readTree(response.body().string())).isEqualTo(expected);
        }
        try (Response response = http.newCall(new Request.Builder()
                .url(url("/api/v1/namespaces/ref/pods/logs-terminated/exec?command=true&stdout=true"))
                .header("Connection", "Upgrade").header("Upgrade", "websocket")
                .header("Sec-WebSocket-Version", "13").header("Sec-WebSocket-Key", "p1iuM4W/AZOairaKBtAuDw==")
                .header("Sec-WebSocket-Protocol", "v4.channel.k8s.io").build()).execute()) {
            JsonNode expected = find(cases, "exec on a terminated (Succeeded) pod, websocket v4").path("response");
            assertThat(response.code()).isEqualTo(500);
            assertThat(response.body().string()).isEqualTo(expected.path("body").asText());
        }
    }

    @Test
    void portForwardReachesThePodsPort() throws IOException {
        try (LocalPortForward forward = client.pods().inNamespace("ref").withName("logs-running").portForward(8080)) {
            try (Response response = http.newCall(new Request.Builder()
                    .url("http://127.0.0.1:" + forward.getLocalPort() + "/").build()).execute()) {
                assertThat(response.code()).isEqualTo(200);
                assertThat(response.body().string()).isEqualTo("hello from a simulated pod\n");
            }
        }
    }

    @Test
    void podIpIsRoutableFromThisHost() throws IOException {
        String ip = client.pods().inNamespace("ref").withName("logs-running").get().getStatus().getPodIP();
        try (Response response = http.newCall(new Request.Builder().url("http://" + ip + ":8080/").build()).execute()) {
            assertThat(response.body().string()).isEqualTo("hello from a simulated pod\n");
        }
    }

    private Response get(String path) throws IOException {
        return http.newCall(new Request.Builder().url(url(path)).build()).execute();
    }

    private String url(String path) {
        return cluster.masterUrl().replaceAll("/$", "") + path;
    }

    private static JsonNode find(JsonNode cases, String name) {
        for (JsonNode c : cases) {
            if (c.path("case").asText().equals(name)) {
                return c;
            }
        }
        throw new IllegalArgumentException("no scenario-9 case " + name);
    }

    private static List<String> sortedLines(String text) {
        String[] lines = text.split("\n");
        Arrays.sort(lines);
        return List.of(lines);
    }
}
