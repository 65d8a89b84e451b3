package dev.agentruntime.server.files;

/** An editor error ({@code ToolError} in openhands-aci); the message is what the agent reads after {@code ERROR:}. */
final class EditorException extends Exception {

    private static final long serialVersionUID = 1L;

    EditorException(String message) {
        super(message, null, false, false);
    }

    static EditorException missing(String command, String parameter) {
        return new EditorException("Parameter `" + parameter + "` is required for command: " + command + ".");
    }

    static EditorException invalid(String parameter, Object value, String hint) {
        return new EditorException("Invalid `" + parameter + "` parameter: " + value + ". " + hint);
    }

    static EditorException validation(String path, String reason) {
        return new EditorException("File validation failed for " + path + ": " + reason);
    }
}
