package dev.agentruntime.modal.fake;

import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Faults the fake Modal injects: the next calls of an RPC failing with a status (UNAVAILABLE, RESOURCE_EXHAUSTED
 * ...), output streams broken after some bytes. Thread-safe.
 */
public final class ModalFaults {

    private record Planned(String rpc, Status.Code code, String message, AtomicInteger left) {
    }

    private final List<Planned> planned = new ArrayList<>();
    private final AtomicInteger stdioDrops = new AtomicInteger();
    private volatile int stdioDropAfter;

    /** The next {@code times} calls of {@code rpc} (e.g. {@code "SandboxCreate"}) fail with {@code code}. */
    public synchronized ModalFaults fail(String rpc, Status.Code code, int times, String message) {
        planned.add(new Planned(rpc, code, message, new AtomicInteger(times)));
        return this;
    }

    /** The next {@code times} {@code TaskExecStdioRead} streams break (UNAVAILABLE) after {@code afterBytes}. */
    public ModalFaults dropStdioStreams(int times, int afterBytes) {
        stdioDropAfter = afterBytes;
        stdioDrops.set(times);
        return this;
    }

    synchronized java.util.Optional<Status> next(String rpc) {
        for (Planned p : planned) {
            if (p.rpc.equals(rpc) && p.left.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                return java.util.Optional.of(Status.fromCode(p.code).withDescription(p.message));
            }
        }
        return java.util.Optional.empty();
    }

    /** The byte count after which this stream is to break, or -1. */
    int stdioDropAfter() {
        return stdioDrops.getAndUpdate(n -> Math.max(0, n - 1)) > 0 ? stdioDropAfter : -1;
    }

    public synchronized void clear() {
        planned.clear();
        stdioDrops.set(0);
    }
}
