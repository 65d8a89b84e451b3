package dev.agentruntime;

/** What a backend can do; ask {@link Runtime#capabilities()} instead of discovering it by exception. */
public enum Capability {
    /** A persistent bash session ({@link CmdRunAction}). */
    SHELL,
    /** read / write / edit actions. */
    FILES,
    /** copyTo / copyFrom / listFiles. */
    FILE_TRANSFER,
    /** A persistent Python interpreter, when the sandbox has python3. */
    IPYTHON,
    /** A browser for {@link BrowseUrlAction}. */
    BROWSE,
    /** Application ports reachable from the host, see {@link Runtime#webHosts()}. */
    WEB_HOSTS,
    /** {@link Runtime#pause()} and {@link Runtime#resume()}. */
    PAUSE_RESUME,
    /** Re-attaching to an existing sandbox by session id. */
    ATTACH,
    /** The sandbox is isolated from the host (container, VM, remote); false for the local backend. */
    ISOLATION
}
