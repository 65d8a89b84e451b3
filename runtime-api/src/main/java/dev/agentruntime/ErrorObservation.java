package dev.agentruntime;

import java.util.Objects;

/** A domain error the sandbox reports as a value (wire type {@code error}), e.g. a missing file. */
public record ErrorObservation(String content, String errorId) implements Observation {

    public ErrorObservation {
        Objects.requireNonNull(content, "content");
        errorId = errorId == null ? "" : errorId;
    }

    public static ErrorObservation of(String content) {
        return new ErrorObservation(content, "");
    }

    @Override
    public String type() {
        return "error";
    }

    @Override
    public String message() {
        return content;
    }
}
