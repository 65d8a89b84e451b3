package dev.agentruntime.fake.http;

/**
 * A vendor's error body: E2B {@code {"code":404,"message":"…"}}, Daytona {@code {"statusCode":404,"message":"…",
 * "error":"Not Found"}}, ... Everything this module answers on a fake's behalf (validation, unknown routes, internal
 * errors, proxy failures) goes through the fake's shape.
 */
@FunctionalInterface
public interface ErrorShape {

    /** The body (anything Jackson can write) for {@code status} with {@code message}. */
    Object body(int status, String message);

    /** {@code {"code": status, "message": message}}. */
    static ErrorShape codeAndMessage() {
        return (status, message) -> {
            var node = Json.object();
            node.put("code", status);
            node.put("message", message);
            return node;
        };
    }
}
