package dev.agentruntime.runloop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.Secret;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.runloop.fake.RunloopFakeExtension;
import dev.agentruntime.runloop.internal.Devbox;
import dev.agentruntime.runloop.internal.Execution;
import dev.agentruntime.runloop.internal.RunloopApi;
import dev.agentruntime.runloop.internal.Uuid7;
import dev.agentruntime.testkit.RequiresDocker;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Runloop's protocol end to end against the fake with a real devbox: faulted creates retried into one devbox,
 * idempotent executions, stdin and EOF, SSE output, kill, and a devbox that dies.
 */
@RequiresDocker
class RunloopFakeIT {

    @RegisterExtension
    static final RunloopFakeExtension RUNLOOP = new RunloopFakeExtension();

    @Test
    void theProtocolWorksEndToEndAgainstARealDevbox() throws Exception {
        RunloopApi api = RunloopApi.create(RUNLOOP.fake().baseUrl(), Secret.of(RunloopFakeExtension.API_KEY), null);
        List<String> createIds = new CopyOnWriteArrayList<>();
        java.util.function.Predicate<dev.agentruntime.fake.http.FaultRequest> create = r -> {
            if (r.method().equals("POST") && r.path().equals("/v1/devboxes")) {
                createIds.add(r.header("x-request-id").orElse("none"));
                return true;
            }
            return false;
        };
        RUNLOOP.fake().faults().on("429 on create", create).times(1).header("retry-after", "0").header("x-ratelimit-remaining", "0").respond(429,
                Map.of("code", 429, "message", "rate limited"));
        RUNLOOP.fake().faults().on("503 on create", create).times(1).header("retry-after-ms", "50")
                .respond(503, Map.of("code", 503, "message", "busy"));

        Devbox created = api.create(WireCodec.MAPPER.createObjectNode().put("name", "fake-it"));
        assertThat(createIds).as("both faulted attempts were seen").hasSizeGreaterThanOrEqualTo(2)
                .allMatch(id -> id.equals(createIds.get(0)) && id.startsWith("agent-runtime-retry-"));
        assertThat(RUNLOOP.fake().liveDevboxes()).as("the retried create made one devbox").containsExactly(created.id());

        // a long-poll the fake holds to its end answers 408, and the client asks again
        RUNLOOP.fake().faults().on("POST", "/v1/devboxes/.*/wait_for_status").times(1)
                .header("x-should-retry", "true").respond(408, Map.of("code", 408, "message", "hold elapsed"));
        Devbox running = api.waitForStatus(created.id(), List.of("running", "failure", "shutdown"),
                Instant.now().plusSeconds(60));
        assertThat(running.status()).isEqualTo("running");

        UUID commandId = Uuid7.next();
        Execution first = api.execute(created.id(), "echo run >> /tmp/runs; cat /tmp/runs | wc -l", commandId, 25);
        Execution again = api.execute(created.id(), "echo run >> /tmp/runs; cat /tmp/runs | wc -l", commandId, 25);
        assertThat(again.executionId()).as("the same command_id is the same execution").isEqualTo(first.executionId());
        assertThat(again.stdout().strip()).isEqualTo("1");

        Execution cat = api.executeAsync(created.id(), "cat; echo done", true);
        api.sendStdin(created.id(), cat.executionId(), "piped line\n");
        api.sendSignal(created.id(), cat.executionId(), "EOF");
        StringBuilder streamed = new StringBuilder();
        api.streamOutput(created.id(), cat.executionId(), false, 0, (offset, text) -> streamed.append(text));
        assertThat(streamed.toString()).isEqualTo("piped line\ndone\n");
        assertThat(api.awaitCompleted(created.id(), cat.executionId(), Instant.now().plusSeconds(30)).exitStatus())
                .hasValue(0);

        Execution sleeper = api.executeAsync(created.id(), "sleep 300", false);
        Execution killed = api.kill(created.id(), sleeper.executionId(), true);
        assertThat(killed.completed()).isTrue();
        assertThat(killed.exitStatus().getAsInt()).as("killed, not ended on its own").isNotZero();

        assertThatThrownBy(() -> RunloopApi.create(RUNLOOP.fake().baseUrl(), Secret.of("wrong"), null)
                .get(created.id())).isInstanceOf(BackendAuthenticationException.class);

        RUNLOOP.fake().crash(created.id());
        Devbox dead = api.waitForStatus(created.id(), List.of("running", "failure", "shutdown"),
                Instant.now().plus(Duration.ofSeconds(30)));
        assertThat(dead.status()).isEqualTo("failure");
        assertThat(dead.failureReason()).contains("health_check_failed");
        assertThat(RUNLOOP.fake().liveDevboxes()).isEmpty();
    }
}
