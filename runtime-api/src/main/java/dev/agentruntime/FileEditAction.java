package dev.agentruntime;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The OpenHands file editor (wire type {@code edit}): {@code view}, {@code create}, {@code str_replace},
 * {@code insert}, {@code undo_edit}. Paths must be absolute. To view a line range, use
 * {@link FileReadAction#viaEditor(java.util.List)} (the wire carries {@code view_range} on reads only). {@code insertLine} travels as given (the wire also
 * accepts a numeric string).
 */
public record FileEditAction(String path, String command, String fileText, String oldStr, String newStr,
                             Integer insertLine, String content, int start, int end, String thought,
                             FileReadAction.ImplSource implSource, Duration hardTimeout) implements Action {

    public FileEditAction {
        Objects.requireNonNull(path, "path");
        content = content == null ? "" : content;
        thought = thought == null ? "" : thought;
        implSource = implSource == null ? FileReadAction.ImplSource.OH_ACI : implSource;
    }

    public static FileEditAction view(String path) {
        return new FileEditAction(path, "view", null, null, null, null, "", 1, -1, "", null, null);
    }

    public static FileEditAction create(String path, String fileText) {
        return new FileEditAction(path, "create", fileText, null, null, null, "", 1, -1, "", null, null);
    }

    public static FileEditAction strReplace(String path, String oldStr, String newStr) {
        return new FileEditAction(path, "str_replace", null, oldStr, newStr, null, "", 1, -1, "", null, null);
    }

    public static FileEditAction insert(String path, int insertLine, String newStr) {
        return new FileEditAction(path, "insert", null, null, newStr, insertLine, "", 1, -1, "", null, null);
    }

    public static FileEditAction undoEdit(String path) {
        return new FileEditAction(path, "undo_edit", null, null, null, null, "", 1, -1, "", null, null);
    }

    @Override
    public String type() {
        return "edit";
    }

    @Override
    public Optional<Duration> timeout() {
        return Optional.ofNullable(hardTimeout);
    }

    @Override
    public String message() {
        return "";
    }
}
