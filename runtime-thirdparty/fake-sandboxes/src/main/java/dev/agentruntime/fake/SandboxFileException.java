package dev.agentruntime.fake;

/**
 * A file operation inside a sandbox failed for a reason a vendor reports with its own error code; {@link #kind()}
 * tells which, so a fake maps it (E2B {@code not_found}, Daytona 404, ...).
 */
public final class SandboxFileException extends FakeSandboxException {

    /** Why a file operation failed. */
    public enum Kind {
        NOT_FOUND, NOT_A_DIRECTORY, IS_A_DIRECTORY, PERMISSION_DENIED, ALREADY_EXISTS, NOT_EMPTY, NO_SPACE, OTHER
    }

    private final Kind kind;
    private final String path;

    public SandboxFileException(Kind kind, String path, String message) {
        super(message);
        this.kind = kind;
        this.path = path;
    }

    public Kind kind() {
        return kind;
    }

    /** The path the operation was about. */
    public String path() {
        return path;
    }

    /** Classifies a tool's error message (GNU coreutils/findutils, {@code LC_ALL=C}). */
    static Kind classify(String message) {
        if (message.contains("No such file or directory")) {
            return Kind.NOT_FOUND;
        }
        if (message.contains("Not a directory")) {
            return Kind.NOT_A_DIRECTORY;
        }
        if (message.contains("Is a directory")) {
            return Kind.IS_A_DIRECTORY;
        }
        if (message.contains("Permission denied") || message.contains("Operation not permitted")
                || message.contains("Read-only file system")) {
            return Kind.PERMISSION_DENIED;
        }
        if (message.contains("File exists")) {
            return Kind.ALREADY_EXISTS;
        }
        if (message.contains("Directory not empty")) {
            return Kind.NOT_EMPTY;
        }
        if (message.contains("No space left on device") || message.contains("Disk quota exceeded")) {
            return Kind.NO_SPACE;
        }
        return Kind.OTHER;
    }
}
