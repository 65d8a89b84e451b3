package dev.agentruntime.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.Observation;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.Secret;
import dev.agentruntime.internal.WireCodec;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The client side of the streamed {@code /execute_action} answer: request shape, events, fallback, failures. */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ActionServerClientStreamingTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final String OBSERVATION = "{\"message\":\"Command `seq 3` executed with exit code 0.\","
            + "\"observation\":\"run\",\"content\":\"1\\n2\\n3\",\"extras\":{\"command\":\"seq 3\",\"metadata\":"
            + "{\"exit_code\":0,\"pid\":7,\"username\":\"u\",\"hostname\":\"h\",\"working_dir\":\"/w\","
            + "\"py_interpreter_path\":null,\"prefix\":\"\",\"suffix\":\"\\n[The command completed with exit code 0.]\"},"
            + "\"hidden\":false},\"success\":true}";

    private MockWebServer server;
    private ActionServerClient client;

    @BeforeEach
    void start() throws IOException {
        server = new MockWebServer();
        server.start();
        client = new ActionServerClient(ServerEndpoint.of(server.url("/").uri(), Secret.of("k")), "sess-s");
    }

    @AfterEach
    void stop() throws IOException {
        client.close();
        server.close();
    }

    private static MockResponse ndjson(String body) {
        return new MockResponse.Builder().setHeader("Content-Type", "application/x-ndjson").chunkedBody(body, 7)
                .build();
    }

    private RecordedRequest take() throws InterruptedException {
        RecordedRequest request = server.takeRequest(5, TimeUnit.SECONDS);
        assertThat(request).isNotNull();
        return request;
    }

    @Test
    void aListenerAsksForTheStreamAndGetsTheEventsInOrder() throws Exception {
        server.enqueue(ndjson("{\"event\":\"output\",\"text\":\"1\\n\"}\n{\"event\":\"output\",\"text\":\"2\\n3\"}\n"
                + "{\"event\":\"output\",\"text\":\"\\n\"}\n" + OBSERVATION + "\n"));
        List<String> chunks = new ArrayList<>();

        Observation observation = client.execute(CmdRunAction.of("seq 3"), TIMEOUT, chunks::add);

        assertThat(chunks).containsExactly("1\n", "2\n3", "\n");
        assertThat(observation).isEqualTo(WireCodec.decodeObservation(WireCodec.parse(OBSERVATION)));
        assertThat(((CmdOutputObservation) observation).exitCode()).isZero();
        RecordedRequest request = take();
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getUrl().encodedPath()).isEqualTo("/execute_action");
        assertThat(request.getHeaders().get("Accept")).isEqualTo("application/x-ndjson, application/json");
        assertThat(request.getHeaders().get("X-Session-API-Key")).isEqualTo("k");
        assertThat(request.getBody().utf8()).contains("\"command\":\"seq 3\"");
    }

    @Test
    void withoutAListenerTheRequestIsPlain() throws Exception {
        server.enqueue(new MockResponse.Builder().setHeader("Content-Type", "application/json").body(OBSERVATION)
                .build());

        client.execute(CmdRunAction.of("seq 3"), TIMEOUT);

        assertThat(take().getHeaders().get("Accept")).isNull();
    }

    @Test
    void aServerThatDoesNotStreamIsAnsweredPlainly() throws Exception {
        server.enqueue(new MockResponse.Builder().setHeader("Content-Type", "application/json").body(OBSERVATION)
                .build());
        List<String> chunks = new ArrayList<>();

        Observation observation = client.execute(CmdRunAction.of("seq 3"), TIMEOUT, chunks::add);

        assertThat(chunks).isEmpty();
        assertThat(observation.content()).isEqualTo("1\n2\n3");
    }

    @Test
    void anErrorEventIsTheFailureItStandsFor() {
        server.enqueue(ndjson("{\"event\":\"output\",\"text\":\"x\"}\n"
                + "{\"event\":\"error\",\"status\":500,\"detail\":\"Internal server error: boom\"}\n"));
        server.enqueue(ndjson("{\"event\":\"error\",\"status\":503,\"detail\":\"busy\"}\n"));
        List<String> chunks = new ArrayList<>();

        assertThatThrownBy(() -> client.execute(CmdRunAction.of("seq 3"), TIMEOUT, chunks::add))
                .isInstanceOf(AgentRuntimeException.class)
                .hasMessageContaining("sess-s").hasMessageContaining("HTTP 500").hasMessageContaining("boom");
        assertThat(chunks).containsExactly("x");
        assertThatThrownBy(() -> client.execute(CmdRunAction.of("seq 3"), TIMEOUT, chunks::add))
                .isInstanceOf(RuntimeUnavailableException.class).hasMessageContaining("busy");
    }

    @Test
    void aStreamThatEndsBeforeItsObservationIsADisconnect() {
        server.enqueue(ndjson("{\"event\":\"output\",\"text\":\"partial\"}\n"));

        assertThatThrownBy(() -> client.execute(CmdRunAction.of("seq 3"), TIMEOUT, chunk -> { }))
                .isInstanceOf(RuntimeDisconnectedException.class)
                .hasMessageContaining("sess-s").hasMessageContaining("may or may not have run");
    }

    @Test
    void anHttpErrorBeforeTheStreamKeepsItsMapping() {
        server.enqueue(new MockResponse.Builder().code(422).setHeader("Content-Type", "application/json")
                .body("{\"detail\":\"Invalid request parameters\"}").build());

        assertThatThrownBy(() -> client.execute(CmdRunAction.of("seq 3"), TIMEOUT, chunk -> { }))
                .isInstanceOf(dev.agentruntime.ActionFailedException.class).hasMessageContaining("HTTP 422");
    }
}
