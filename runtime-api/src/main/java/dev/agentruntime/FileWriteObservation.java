package dev.agentruntime;

import java.util.Objects;

/** Confirms a write (wire type {@code write}); {@code path} is the resolved absolute path. */
public record FileWriteObservation(String content, String path) implements Observation {

    public FileWriteObservation {
        Objects.requireNonNull(content, "content");
        path = path == null ? "" : path;
    }

    @Override
    public String type() {
        return "write";
    }

    @Override
    public String message() {
        return "I wrote to the file " + path + ".";
    }
}
