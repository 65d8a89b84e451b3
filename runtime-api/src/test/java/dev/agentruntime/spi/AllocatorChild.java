package dev.agentruntime.spi;

import dev.agentruntime.PortAllocationException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Test helper run as a separate JVM. Line protocol on stdout:
 * <pre>
 *   READY                    after start-up; then waits for a "go" line on stdin
 *   PORT &lt;n&gt;                once per port allocated (one allocate(range) call each)
 *   ALLOCATED                all ports taken; the leases are now held until stdin reaches EOF
 *   RELEASED                 after stdin EOF, all leases closed; exit code 0
 *   FAILED &lt;message&gt;       PortAllocationException (ports taken so far are released); exit code 3
 * </pre>
 * Arguments: {@code lockDir first last count}.
 */
public final class AllocatorChild {

    static final int EXIT_ALLOCATION_FAILED = 3;

    private AllocatorChild() {
    }

    public static void main(String[] args) throws Exception {
        Path lockDir = Path.of(args[0]);
        PortRange range = new PortRange(Integer.parseInt(args[1]), Integer.parseInt(args[2]));
        int count = Integer.parseInt(args[3]);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

        PortAllocator allocator = PortAllocator.builder().lockDirectory(lockDir).build();
        out.println("READY");
        String command = in.readLine();
        if (!"go".equals(command)) {
            out.println("ABORTED " + command);
            System.exit(2);
        }

        List<PortLease> leases = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                PortLease lease = allocator.allocate(range);
                leases.add(lease);
                out.println("PORT " + lease.port());
            }
        } catch (PortAllocationException e) {
            leases.forEach(PortLease::close);
            out.println("FAILED " + e.getMessage().replace('\n', ' '));
            System.exit(EXIT_ALLOCATION_FAILED);
        }
        out.println("ALLOCATED");

        while (in.readLine() != null) {
            // hold the leases until the parent closes our stdin
        }
        leases.forEach(PortLease::close);
        out.println("RELEASED");
        System.exit(0);
    }
}
