package dev.agentruntime.kubernetes.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.kubernetes.Recordings;
import dev.agentruntime.testkit.RequiresDocker;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Scenario 8: every recorded API request the simulated API server takes on is sent again, byte for byte, in the
 * recorded order, and must get the recorded status code and Status body (message, reason, details, causes). The
 * cases it does not simulate are listed in {@link #NOT_SIMULATED} (and the README), so none is skipped silently.
 */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiErrorFidelityTest {

    /** Recorded cases outside the simulation: authentication, resourceVersion semantics, watch-stream details. */
    static final Set<String> NOT_SIMULATED = Set.of(
            "LIST pods resourceVersion=1&resourceVersionMatch=Exact (compacted)",
            "LIST pods resourceVersion=1&resourceVersionMatch=NotOlderThan",
            "LIST pods resourceVersion=abc (not a number)",
            "LIST with continue token garbage",
            "no credentials: GET pods (anonymous)",
            "no credentials: GET /healthz",
            "invalid bearer token",
            "default ServiceAccount token: LIST pods (no RBAC)",
            "default ServiceAccount token: CREATE pod (no RBAC)");

    private SimulatedCluster cluster;
    private final OkHttpClient http = new OkHttpClient();

    @BeforeAll
    void startCluster() {
        SimulatedClusters.prepareWebImage();
        cluster = SimulatedCluster.builder().nodeName("vm").namespace("ref")
                .imageAlias("local.test/busybox:1.35", SimulatedClusters.WEB_IMAGE).start();
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            for (var pod : cluster.client().pods().inNamespace("ref").list().getItems()) {
                cluster.client().pods().inNamespace("ref").resource(pod).withGracePeriod(0).delete();
            }
            cluster.close();
            assertThat(cluster.leftovers()).isEmpty();
        }
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }

    @Test
    void everySimulatedCaseGetsTheRecordedStatusAndBody() throws IOException {
        List<String> replayed = new ArrayList<>();
        for (JsonNode c : Recordings.scenario("scenario-8-api-errors").path("cases")) {
            String name = c.path("case").asText();
            String path = c.path("request").path("path").asText();
            if (NOT_SIMULATED.contains(name) || path.contains("watch=")) {
                continue;
            }
            replay(c);
            replayed.add(name);
        }
        System.out.println("scenario 8: " + replayed.size() + " recorded API cases replayed");
        assertThat(replayed).hasSizeGreaterThanOrEqualTo(35);
    }

    private void replay(JsonNode c) throws IOException {
        String name = c.path("case").asText();
        JsonNode request = c.path("request");
        String method = request.path("method").asText();
        String path = request.path("path").asText();
        String contentType = request.path("content_type").asText(null);
        String body = body(name, request);
        RequestBody requestBody = body == null ? (method.equals("DELETE") || method.equals("GET") ? null
                : RequestBody.create(new byte[0])) : RequestBody.create(body, MediaType.get(contentType == null
                ? "application/json" : contentType));
        String url = cluster.masterUrl().replaceAll("/$", "") + path;
        try (Response response = http.newCall(new Request.Builder().url(url).method(method, requestBody).build())
                .execute()) {
            String text = response.body() == null ? "" : response.body().string();
            assertThat(response.code()).as("status of '%s' (body %s)", name, text)
                    .isEqualTo(c.path("http_status").asInt());
            JsonNode expected = c.path("response_body");
            if (expected.path("kind").asText().equals("Status")) {
                JsonNode actual = Recordings.json().readTree(text);
                compareStatus(name, expected, actual);
            } else if (expected.isObject() && expected.has("kind")) {
                JsonNode actual = Recordings.json().readTree(text);
                assertThat(actual.path("kind").asText()).as("kind of '%s'", name).isEqualTo(expected.path("kind").asText());
                assertThat(actual.path("metadata").path("name").asText()).as("name in '%s'", name)
                        .isEqualTo(expected.path("metadata").path("name").asText());
            }
        }
    }

    /** The recorded Status; for the immutable-pod message only up to the Go struct diff (see the README). */
    private static void compareStatus(String name, JsonNode expected, JsonNode actual) {
        assertThat(firstLine(actual.path("message").asText())).as("message of '%s'", name)
                .isEqualTo(firstLine(expected.path("message").asText()));
        for (String field : List.of("kind", "apiVersion", "status", "reason", "code")) {
            assertThat(actual.path(field)).as("%s of '%s'", field, name).isEqualTo(expected.path(field));
        }
        JsonNode ed = expected.path("details");
        JsonNode ad = actual.path("details");
        assertThat(ad.path("name")).as("details.name of '%s'", name).isEqualTo(ed.path("name"));
        assertThat(ad.path("kind")).as("details.kind of '%s'", name).isEqualTo(ed.path("kind"));
        assertThat(ad.path("causes").size()).as("causes of '%s'", name).isEqualTo(ed.path("causes").size());
        for (int i = 0; i < ed.path("causes").size(); i++) {
            JsonNode e = ed.path("causes").get(i);
            JsonNode a = ad.path("causes").get(i);
            assertThat(a.path("reason")).as("cause %d reason of '%s'", i, name).isEqualTo(e.path("reason"));
            assertThat(a.path("field")).as("cause %d field of '%s'", i, name).isEqualTo(e.path("field"));
            assertThat(firstLine(a.path("message").asText())).as("cause %d message of '%s'", i, name)
                    .isEqualTo(firstLine(e.path("message").asText()));
        }
    }

    /** The first line (the Go diff of immutable-field errors is not reproduced), uids masked. */
    private static String firstLine(String text) {
        int nl = text.indexOf('\n');
        return Shapes.mask(nl < 0 ? text : text.substring(0, nl));
    }

    /** The recorded body; the recorded PUTs kept none, so they are rebuilt from the live pod as described. */
    private String body(String name, JsonNode request) {
        if (request.has("body")) {
            JsonNode body = request.path("body");
            return body.isTextual() ? body.asText() : body.toString();
        }
        if (!request.path("method").asText().equals("PUT")) {
            return null;
        }
        ObjectNode pod = Recordings.json().valueToTree(cluster.client().pods().inNamespace("ref").withName("immut").get());
        ObjectNode spec = (ObjectNode) pod.path("spec");
        if (name.startsWith("PUT with spec.restartPolicy")) {
            spec.put("restartPolicy", "OnFailure");
            unconditional(pod);
        } else if (name.startsWith("PUT with container resources")) {
            ((ObjectNode) spec.path("containers").get(0).path("resources").path("limits")).put("cpu", "300m");
            unconditional(pod);
        } else if (name.startsWith("PUT with stale")) {
            long rv = Long.parseLong(pod.path("metadata").path("resourceVersion").asText());
            ((ObjectNode) pod.path("metadata")).put("resourceVersion", String.valueOf(rv - 1));
        }
        return pod.toString();
    }

    /**
     * Without a resourceVersion the PUT is unconditional: the kubelet's status writes between the GET above and the
     * PUT would otherwise make it a 409 Conflict (as on a real server) instead of the immutable-field 422.
     */
    private static void unconditional(ObjectNode pod) {
        ((ObjectNode) pod.path("metadata")).remove("resourceVersion");
    }

    @Test
    void fabric8SeesTheApiServersValidationErrorsAsTypedExceptions() {
        var pod = io.fabric8.kubernetes.client.utils.Serialization.unmarshal(
                Recordings.apiErrorCase("pod name with uppercase letters").path("request").path("body").toString(),
                io.fabric8.kubernetes.api.model.Pod.class);
        try {
            cluster.client().pods().inNamespace("ref").resource(pod).create();
            throw new AssertionError("created a pod named " + pod.getMetadata().getName());
        } catch (KubernetesClientException e) {
            assertThat(e.getCode()).isEqualTo(422);
            assertThat(e.getStatus().getReason()).isEqualTo("Invalid");
            assertThat(e.getStatus().getDetails().getCauses()).singleElement()
                    .satisfies(cause -> assertThat(cause.getField()).isEqualTo("metadata.name"));
        }
    }
}
