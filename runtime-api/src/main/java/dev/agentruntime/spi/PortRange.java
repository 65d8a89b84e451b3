package dev.agentruntime.spi;

/**
 * An inclusive range of TCP ports, {@code first..last}, both within {@code 1..65535}.
 *
 * <p>The constants mirror the ranges OpenHands uses for its sandbox runtimes.
 */
public record PortRange(int first, int last) {

    /** Lowest valid TCP port. */
    public static final int MIN_PORT = 1;
    /** Highest valid TCP port. */
    public static final int MAX_PORT = 65535;

    /** Ports for the in-sandbox action execution server: 30000–39999. */
    public static final PortRange EXECUTION_SERVER = new PortRange(30000, 39999);
    /** Ports for the VS Code server: 40000–49999. */
    public static final PortRange VSCODE = new PortRange(40000, 49999);
    /** First block of ports exposed for applications: 50000–54999. */
    public static final PortRange APP_1 = new PortRange(50000, 54999);
    /** Second block of ports exposed for applications: 55000–59999. */
    public static final PortRange APP_2 = new PortRange(55000, 59999);

    public PortRange {
        if (first < MIN_PORT || first > MAX_PORT || last < MIN_PORT || last > MAX_PORT) {
            throw new IllegalArgumentException("port range bounds must be within " + MIN_PORT + ".." + MAX_PORT
                    + " but got first=" + first + ", last=" + last);
        }
        if (first > last) {
            throw new IllegalArgumentException(
                    "port range first must be <= last but got first=" + first + ", last=" + last);
        }
    }

    /** Number of ports in the range (at least 1). */
    public int size() {
        return last - first + 1;
    }

    /** Whether {@code port} lies within this range (inclusive). */
    public boolean contains(int port) {
        return port >= first && port <= last;
    }

    @Override
    public String toString() {
        return "PortRange[" + first + "-" + last + "]";
    }
}
