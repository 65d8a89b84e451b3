package dev.agentruntime;

/**
 * What the shell reported after a command: exit code ({@code -1} while still running or unknown), the pid of the
 * last background job, user, host, working directory, Python interpreter, and the prefix/suffix notes
 * (e.g. {@code "\n[The command completed with exit code 0.]"}) that OpenHands shows the model around the output.
 */
public record CmdOutputMetadata(int exitCode, int pid, String username, String hostname, String workingDir,
                                String pyInterpreterPath, String prefix, String suffix) {

    public CmdOutputMetadata {
        prefix = prefix == null ? "" : prefix;
        suffix = suffix == null ? "" : suffix;
    }

    /** The metadata of a command whose outcome is not known yet. */
    public static CmdOutputMetadata unknown() {
        return new CmdOutputMetadata(-1, -1, null, null, null, null, "", "");
    }

    public CmdOutputMetadata withPrefix(String value) {
        return new CmdOutputMetadata(exitCode, pid, username, hostname, workingDir, pyInterpreterPath, value, suffix);
    }

    public CmdOutputMetadata withSuffix(String value) {
        return new CmdOutputMetadata(exitCode, pid, username, hostname, workingDir, pyInterpreterPath, prefix, value);
    }
}
