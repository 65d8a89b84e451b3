package dev.agentruntime;

import java.util.Objects;

/**
 * The editor's answer (wire type {@code edit}). As in OpenHands, {@code oldContent}/{@code newContent} carry the
 * action's {@code old_str}/{@code new_str}, and {@code diff} is a zero-context unified diff of the file.
 */
public record FileEditObservation(String content, String path, boolean prevExist, String oldContent,
                                  String newContent, FileReadAction.ImplSource implSource, String diff)
        implements Observation {

    public FileEditObservation {
        Objects.requireNonNull(content, "content");
        path = path == null ? "" : path;
        implSource = implSource == null ? FileReadAction.ImplSource.OH_ACI : implSource;
    }

    /** True when the editor reported an error ({@code ERROR:} content). */
    public boolean isError() {
        return content.startsWith("ERROR:");
    }

    @Override
    public String type() {
        return "edit";
    }

    @Override
    public String message() {
        return "I edited the file " + path + ".";
    }
}
