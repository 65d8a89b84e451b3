package dev.agentruntime;

import java.util.List;
import java.util.Objects;

/** The output of a Python cell (wire type {@code run_ipython}); {@code imageUrls} holds {@code data:} URLs of plots. */
public record IPythonRunCellObservation(String content, String code, List<String> imageUrls) implements Observation {

    public IPythonRunCellObservation {
        Objects.requireNonNull(content, "content");
        code = code == null ? "" : code;
        imageUrls = imageUrls == null ? null : List.copyOf(imageUrls);
    }

    @Override
    public String type() {
        return "run_ipython";
    }

    @Override
    public String message() {
        return "Code executed in IPython cell.";
    }
}
