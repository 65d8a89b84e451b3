package dev.agentruntime;

import java.util.Objects;

/** The content of a file read (wire type {@code read}); editor errors arrive here as content starting with {@code ERROR:}. */
public record FileReadObservation(String content, String path, FileReadAction.ImplSource implSource)
        implements Observation {

    public FileReadObservation {
        Objects.requireNonNull(content, "content");
        path = path == null ? "" : path;
        implSource = implSource == null ? FileReadAction.ImplSource.DEFAULT : implSource;
    }

    @Override
    public String type() {
        return "read";
    }

    @Override
    public String message() {
        return "I read the file " + path + ".";
    }
}
