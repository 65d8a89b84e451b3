package dev.agentruntime;

/**
 * Thrown when {@link dev.agentruntime.spi.PortAllocator} cannot hand out a port: every candidate it tried was locked by another
 * allocator (in this or another process), bound by some other program, or the lock directory is unusable.
 *
 * <p>The message names the range, the number of attempts and the lock directory to inspect. Transient: ports
 * free up as other sandboxes close.
 */
public class PortAllocationException extends AgentRuntimeException {

    private static final long serialVersionUID = 1L;

    public PortAllocationException(String message) {
        super(message, true);
    }

    public PortAllocationException(String message, Throwable cause) {
        super(message, cause, true);
    }
}
