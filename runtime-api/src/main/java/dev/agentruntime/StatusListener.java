package dev.agentruntime;

/**
 * Receives status events so a caller can show progress (starting, runtime started, ready, error). Called on the
 * thread that changed the status; keep it quick and do not throw (exceptions are logged and ignored).
 */
@FunctionalInterface
public interface StatusListener {

    StatusListener NONE = event -> { };

    void onStatus(StatusEvent event);
}
