package dev.agentruntime.server.http;

/**
 * Decides, on the selector thread and from the request head alone, what happens to a request: this is where the
 * session key is checked, so a request without it never costs a worker thread or a read of its body. Must be fast
 * and must not block.
 */
@FunctionalInterface
public interface Router {
    Route route(RequestHead head);
}
