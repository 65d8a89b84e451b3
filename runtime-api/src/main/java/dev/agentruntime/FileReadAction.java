package dev.agentruntime;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Reads a file (wire type {@code read}). A relative path resolves against the shell's current directory.
 * {@code start}/{@code end} are 0-based line indexes ({@code end = -1}: to the end) for {@link ImplSource#DEFAULT};
 * {@code viewRange} is the 1-based inclusive range the {@link ImplSource#OH_ACI} editor view takes.
 */
public record FileReadAction(String path, int start, int end, String thought, ImplSource implSource,
                             List<Integer> viewRange, Duration hardTimeout) implements Action {

    public FileReadAction {
        Objects.requireNonNull(path, "path");
        thought = thought == null ? "" : thought;
        implSource = implSource == null ? ImplSource.DEFAULT : implSource;
        viewRange = viewRange == null ? null : List.copyOf(viewRange);
    }

    public static FileReadAction of(String path) {
        return new FileReadAction(path, 0, -1, "", ImplSource.DEFAULT, null, null);
    }

    public FileReadAction lines(int startLine, int endLine) {
        return new FileReadAction(path, startLine, endLine, thought, implSource, viewRange, hardTimeout);
    }

    /** Reads through the OpenHands editor's {@code view} command, numbered like {@code cat -n}. */
    public FileReadAction viaEditor(List<Integer> range) {
        return new FileReadAction(path, start, end, thought, ImplSource.OH_ACI, range, hardTimeout);
    }

    @Override
    public String type() {
        return "read";
    }

    @Override
    public Optional<Duration> timeout() {
        return Optional.ofNullable(hardTimeout);
    }

    @Override
    public String message() {
        return "Reading file: " + path;
    }

    /** Which implementation serves a read or edit on the server. */
    public enum ImplSource {
        DEFAULT("default"), OH_ACI("oh_aci"), LLM_BASED_EDIT("llm_based_edit");

        private final String wire;

        ImplSource(String wire) {
            this.wire = wire;
        }

        public String wire() {
            return wire;
        }

        public static ImplSource fromWire(String value) {
            for (ImplSource s : values()) {
                if (s.wire.equals(value)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown impl_source '" + value + "', expected one of default, oh_aci, llm_based_edit");
        }
    }
}
