package dev.agentruntime.server;

/**
 * The exact strings OpenHands' bash session shows the model, copied from the protocol reference (§2.5, §3) rather
 * than from the server's own constants, so a typo on either side fails a test.
 */
final class OpenHandsText {

    static final String TIMEOUT_MESSAGE_TEMPLATE = "You may wait longer to see additional output by sending empty"
            + " command '', send other commands to interact with the current process, send keys (\"C-c\", \"C-z\","
            + " \"C-d\") to interrupt/kill the previous command before sending your new command, or use the timeout"
            + " parameter in execute_bash for future commands.";
    static final String CONTINUE_PREFIX = "[Below is the output of the previous command.]\n";
    static final String NO_PREVIOUS_COMMAND = "ERROR: No previous running command to retrieve logs from.";
    static final String NO_PREVIOUS_TO_INTERACT = "ERROR: No previous running command to interact with.";
    static final String TRUNCATION_NOTE = "\n[... Observation truncated due to length ...]\n";

    private OpenHandsText() {
    }

    static String completed(int exitCode) {
        return "\n[The command completed with exit code " + exitCode + ".]";
    }

    static String completedWithKey(int exitCode, char key) {
        return "\n[The command completed with exit code " + exitCode + ". CTRL+" + key + " was sent.]";
    }

    static String noChange(String seconds) {
        return "\n[The command has no new output after " + seconds + " seconds. " + TIMEOUT_MESSAGE_TEMPLATE + "]";
    }

    static String hardTimeout(String seconds) {
        return "\n[The command timed out after " + seconds + " seconds. " + TIMEOUT_MESSAGE_TEMPLATE + "]";
    }

    static String notExecuted(String command) {
        return "\n[Your command \"" + command + "\" is NOT executed. The previous command is still running - You"
                + " CANNOT send new commands until the previous command is completed. By setting `is_input` to"
                + " `true`, you can interact with the current process: " + TIMEOUT_MESSAGE_TEMPLATE + "]";
    }
}
