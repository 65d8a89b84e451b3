package dev.agentruntime;

import java.util.Objects;

/** An empty answer (wire type {@code null}). */
public record NullObservation(String content) implements Observation {

    public NullObservation {
        Objects.requireNonNull(content, "content");
    }

    @Override
    public String type() {
        return "null";
    }

    @Override
    public String message() {
        return "No observation";
    }
}
