package dev.agentruntime.runloop.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.OptionalInt;

/**
 * Runloop's {@code DevboxAsyncExecutionDetailView}: an execution and, once {@code completed}, its exit status.
 *
 * @param stdout the last lines of its output (Runloop's {@code last_n})
 */
public record Execution(String devboxId, String executionId, String status, OptionalInt exitStatus, String stdout,
                        String stderr) {

    public boolean completed() {
        return "completed".equals(status);
    }

    static Execution of(JsonNode node) {
        JsonNode exit = node.get("exit_status");
        return new Execution(node.path("devbox_id").asText(), node.path("execution_id").asText(),
                node.path("status").asText("unknown"),
                exit == null || exit.isNull() ? OptionalInt.empty() : OptionalInt.of(exit.asInt()),
                node.path("stdout").asText(""), node.path("stderr").asText(""));
    }
}
