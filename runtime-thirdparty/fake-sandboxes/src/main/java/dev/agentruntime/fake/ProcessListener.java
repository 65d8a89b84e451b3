package dev.agentruntime.fake;

/**
 * Receives a process's output as it arrives, on the process's reader thread, in order. A listener that blocks slows
 * the process down (the output backs up into it), which is the backpressure a streaming response wants; a listener
 * that throws is removed. Output is also kept in the process's {@link OutputLog}s, so a listener may attach late and
 * replay from an offset instead.
 */
public interface ProcessListener {

    /**
     * @param offset the absolute offset of {@code bytes[0]} in {@code stream}
     * @param bytes a copy the listener may keep
     */
    void onOutput(StdStream stream, long offset, byte[] bytes);

    /** The process ended; called once, after its last output. */
    default void onExit(ExitStatus status) {
    }
}
