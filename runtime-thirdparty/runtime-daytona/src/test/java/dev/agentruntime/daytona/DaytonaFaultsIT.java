package dev.agentruntime.daytona;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.Capability;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.UnsupportedCapabilityException;
import dev.agentruntime.daytona.fake.DaytonaFake;
import dev.agentruntime.spi.ActionServerClient;
import dev.agentruntime.fake.http.Fault;
import dev.agentruntime.testkit.RequiresDocker;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
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
 * The backend against the fake's injected faults — a 429 with Daytona's rate-limit headers on create, 503s while it
 * polls, a sandbox that dies under an open runtime, an image that cannot be built — and the fake's own validation
 * and error shapes, which the backend's messages pass on.
 */
@RequiresDocker
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DaytonaFaultsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "faults-key";
    private DaytonaFake fake;

    @BeforeAll
    void startFake() {
        fake = DaytonaFake.builder().apiKey(KEY).build(); // class "container": no pause
    }

    @AfterAll
    void stopFake() {
        if (fake != null) {
            fake.close();
        }
    }

    private RuntimeConfig.Builder config() {
        return RuntimeConfig.builder().type("daytona").startupTimeout(Duration.ofSeconds(120))
                .option("api.url", fake.apiUrl().toString()).option("api.key", KEY);
    }

    @Test
    void rateLimitsAndServerErrorsAreRiddenOutAndADeadSandboxIsReported() {
        Fault limited = fake.faults().on("POST", "/api/sandbox").times(1)
                .header("X-RateLimit-Limit-sandbox-create", "300")
                .header("X-RateLimit-Remaining-sandbox-create", "0")
                .header("X-RateLimit-Reset-sandbox-create", "1")
                .respond(429, Map.of("statusCode", 429, "message", "Rate limit exceeded", "error",
                        "Too Many Requests"));
        Fault unavailable = fake.faults().on("GET", "/api/sandbox/[0-9a-f-]+").times(2)
                .respond(503, Map.of("statusCode", 503, "message", "Service Unavailable", "error",
                        "Service Unavailable"));
        RuntimeConfig config = config().build();
        try (Runtime runtime = RuntimeFactory.create(config)) {
            runtime.connect();
            assertThat(limited.fired()).isEqualTo(1);
            assertThat(unavailable.fired()).isEqualTo(2);
            assertThat(fake.creates()).as("the rate-limited create was sent again, once").isGreaterThanOrEqualTo(1);
            assertThat(runtime.run("echo through-the-preview").content()).isEqualTo("through-the-preview");
            assertThat(runtime.capabilities()).doesNotContain(Capability.PAUSE_RESUME).contains(Capability.ATTACH);
            assertThatThrownBy(runtime::pause).isInstanceOf(UnsupportedCapabilityException.class);

            String sandboxId = ((DaytonaRuntime) runtime).sandboxId().orElseThrow();
            assertThat(fake.sandbox(sandboxId).orElseThrow().labels())
                    .containsEntry("dev.agentruntime.session-id", config.sessionId());
            DaytonaRuntime daytona = (DaytonaRuntime) runtime;
            assertThat(daytona.heartbeatInterval()).as("a third of the 15-minute auto-stop")
                    .isEqualTo(Duration.ofMinutes(5));
            try (ActionServerClient client = new ActionServerClient(daytona.serverEndpoint().orElseThrow(),
                    runtime.id())) {
                daytona.heartbeat(client);
            }
            assertThat(fake.sandbox(sandboxId).orElseThrow().activityRefreshes()).as("the heartbeat refreshed "
                    + "Daytona's last-activity").isEqualTo(1);

            fake.die(sandboxId, "runner crashed");
            assertThatThrownBy(() -> runtime.run("echo after-death")).isInstanceOf(AgentRuntimeException.class)
                    .hasMessageContaining(config.sessionId());
        }
        try (SandboxHousekeeping housekeeping = RuntimeFactory.housekeeping(config)) {
            assertThat(housekeeping.find(config.sessionId())).as("the dead sandbox was deleted on close").isEmpty();
        }
    }

    @Test
    void aSandboxThatDiesWhileTheServerStartsEndsTheWaitWithDaytonasReason() {
        RuntimeConfig config = config().build();
        java.util.concurrent.atomic.AtomicBoolean killed = new java.util.concurrent.atomic.AtomicBoolean();
        // the first request to the server's preview kills the sandbox (and is held a moment, as a slow proxy would)
        fake.faults().on("the first preview request of " + config.sessionId(), request -> {
            if (!request.path().startsWith("/preview/") || killed.get()) {
                return false;
            }
            fake.sandboxes().stream().filter(b -> config.sessionId().equals(b.labels()
                    .get("dev.agentruntime.session-id"))).findFirst().ifPresent(b -> {
                        if (killed.compareAndSet(false, true)) {
                            fake.die(b.id(), "runner crashed");
                        }
                    });
            return killed.get();
        }).times(1).hold(Duration.ofMillis(500));
        long started = System.nanoTime();
        try (Runtime runtime = RuntimeFactory.create(config)) {
            assertThatThrownBy(runtime::connect).isInstanceOf(AgentRuntimeException.class)
                    .hasMessageContaining(config.sessionId()).hasMessageContaining("'error' (runner crashed)");
        }
        assertThat(killed).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("ended at once, not at the startup deadline")
                .isLessThan(Duration.ofSeconds(60));
    }

    @Test
    void aDeclarativeImageThatCannotBeBuiltFailsFastWithDaytonasReason() {
        RuntimeConfig config = config().option("image", "agent-runtime-test/no-such-image:1").build();
        long started = System.nanoTime();
        try (Runtime runtime = RuntimeFactory.create(config)) {
            assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeStartupException.class)
                    .hasMessageContaining("build_failed").hasMessageContaining("no-such-image")
                    .hasMessageContaining("Dockerfile");
        }
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("failed fast, not at the startup deadline")
                .isLessThan(Duration.ofSeconds(60));
        assertThat(fake.sandboxes()).filteredOn(b -> b.labels().get("dev.agentruntime.session-id")
                .equals(config.sessionId())).allSatisfy(b -> assertThat(b.state()).startsWith("destroy"));
    }

    @Test
    void attachingToASessionWithoutASandboxSaysSo() {
        try (Runtime runtime = RuntimeFactory.create(config().sessionId("never-started").attachToExisting(true)
                .build())) {
            assertThatThrownBy(runtime::connect).isInstanceOf(RuntimeNotFoundException.class)
                    .hasMessageContaining("never-started").hasMessageContaining("No Daytona sandbox");
        }
    }

    @Test
    void aWrongApiKeyIsRefusedWithWhatToCheck() {
        try (Runtime runtime = RuntimeFactory.create(config().option("api.key", "wrong").build())) {
            assertThatThrownBy(runtime::connect).isInstanceOf(BackendAuthenticationException.class)
                    .hasMessageContaining("DAYTONA_API_KEY").hasMessageContaining("Unauthorized");
        }
    }

    @Test
    void theFakeValidatesLikeDaytonaAndAnswersItsErrorShapes() throws IOException {
        OkHttpClient http = new OkHttpClient();
        JsonNode unauthorized = call(http, new Request.Builder().url(fake.apiUrl() + "/sandbox").get().build(), 401);
        assertThat(unauthorized.path("statusCode").asInt()).isEqualTo(401);
        assertThat(unauthorized.path("error").asText()).isEqualTo("Unauthorized");

        JsonNode resources = call(http, authorized(fake.apiUrl() + "/sandbox").post(RequestBody.create(
                "{\"snapshot\":\"" + DaytonaFake.DEFAULT_SNAPSHOT + "\",\"cpu\":4}",
                MediaType.get("application/json"))).build(), 400);
        assertThat(resources.path("message").asText()).contains("Cannot specify Sandbox resources");
        assertThat(resources.path("error").asText()).isEqualTo("Bad Request");
        assertThat(resources.path("path").asText()).isEqualTo("/api/sandbox");

        JsonNode badType = call(http, authorized(fake.apiUrl() + "/sandbox").post(RequestBody.create(
                "{\"labels\":{\"a\":1}}", MediaType.get("application/json"))).build(), 400);
        assertThat(badType.path("message").asText()).contains("labels");

        JsonNode limit = call(http, authorized(fake.apiUrl() + "/sandbox?limit=201").get().build(), 400);
        assertThat(limit.path("message").asText()).contains("limit");

        JsonNode unknown = call(http, authorized(fake.apiUrl() + "/sandbox/nope").get().build(), 404);
        assertThat(unknown.path("message").asText()).isEqualTo("Sandbox with ID or name nope not found");

        JsonNode toolbox = call(http, authorized(fake.apiUrl().resolve("/toolbox/nope/process/execute").toString())
                .post(RequestBody.create("{\"command\":\"true\"}", MediaType.get("application/json"))).build(), 404);
        assertThat(toolbox.path("code").asText()).isEqualTo("NOT_FOUND");
        assertThat(toolbox.path("method").asText()).isEqualTo("POST");
    }

    private static Request.Builder authorized(String url) {
        return new Request.Builder().url(url).header("Authorization", "Bearer " + KEY);
    }

    private static JsonNode call(OkHttpClient http, Request request, int expected) throws IOException {
        try (Response response = http.newCall(request).execute()) {
            String body = response.body().string();
            assertThat(response.code()).as(request.method() + " " + request.url() + ": " + body).isEqualTo(expected);
            return JSON.readTree(body);
        }
    }
}
