package dev.agentruntime.server.shell;

/** The exact strings OpenHands' bash session shows the model (reference §3); kept byte for byte. */
final class ShellMessages {

    static final String TIMEOUT_MESSAGE_TEMPLATE = "You may wait longer to see additional output by sending empty"
            + " command '', send other commands to interact with the current process, send keys (\"C-c\", \"C-z\","
            + " \"C-d\") to interrupt/kill the previous command before sending your new command, or use the timeout"
            + " parameter in execute_bash for future commands.";

    static final String NO_PREVIOUS_COMMAND = "ERROR: No previous running command to retrieve logs from.";
    static final String NO_PREVIOUS_TO_INTERACT = "ERROR: No previous running command to interact with.";
    static final String CONTINUE_PREFIX = "[Below is the output of the previous command.]\n";

    private ShellMessages() {
    }

    static String completed(int exitCode) {
        return "\n[The command completed with exit code " + exitCode + ".]";
    }

    static String completedWithKey(int exitCode, char key) {
        return "\n[The command completed with exit code " + exitCode + ". CTRL+" + Character.toUpperCase(key) + " was sent.]";
    }

    static String noChangeTimeout(String seconds) {
        return "\n[The command has no new output after " + seconds + " seconds. " + TIMEOUT_MESSAGE_TEMPLATE + "]";
    }

    static String hardTimeout(String seconds) {
        return "\n[The command timed out after " + seconds + " seconds. " + TIMEOUT_MESSAGE_TEMPLATE + "]";
    }

    static String notExecuted(String command) {
        return "\n[Your command \"" + command + "\" is NOT executed. The previous command is still running - You"
                + " CANNOT send new commands until the previous command is completed. By setting `is_input` to `true`,"
                + " you can interact with the current process: " + TIMEOUT_MESSAGE_TEMPLATE + "]";
    }

    static String multipleCommands(java.util.List<String> commands) {
        StringBuilder text = new StringBuilder("ERROR: Cannot execute multiple commands at once.\n"
                + "Please run each command separately OR chain them into a single command via && or ;\n"
                + "Provided commands:");
        for (int i = 0; i < commands.size(); i++) {
            text.append("\n(").append(i + 1).append(") ").append(commands.get(i));
        }
        return text.toString();
    }

    /** Seconds the way Python prints a float ({@code 1.0}, {@code 2.5}). */
    static String pythonFloat(double seconds) {
        return Double.toString(seconds);
    }

    /** Seconds the way OpenHands prints its integer no-change timeout; fractions kept when configured. */
    static String wholeOrFraction(double seconds) {
        return seconds == Math.rint(seconds) ? Long.toString((long) seconds) : Double.toString(seconds);
    }
}
