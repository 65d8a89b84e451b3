package dev.agentruntime.fake;

/** A process's output stream. A process with a pseudo-terminal has only {@link #STDOUT} (the terminal's output). */
public enum StdStream {
    STDOUT, STDERR
}
