package dev.agentruntime;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Writes a file (wire type {@code write}). A new file gets each line of {@code content} followed by a newline;
 * an existing file has lines {@code start..end} replaced ({@code 0, -1}: the whole file).
 */
public record FileWriteAction(String path, String content, int start, int end, String thought, Duration hardTimeout)
        implements Action {

    public FileWriteAction {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(content, "content");
        thought = thought == null ? "" : thought;
    }

    public static FileWriteAction of(String path, String content) {
        return new FileWriteAction(path, content, 0, -1, "", null);
    }

    @Override
    public String type() {
        return "write";
    }

    @Override
    public Optional<Duration> timeout() {
        return Optional.ofNullable(hardTimeout);
    }

    @Override
    public String message() {
        return "Writing file: " + path;
    }
}
