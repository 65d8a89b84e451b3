package dev.agentruntime;

import java.util.Objects;

/** The output of a shell command (wire type {@code run}). */
public record CmdOutputObservation(String content, String command, CmdOutputMetadata metadata, boolean hidden)
        implements Observation {

    /** Content longer than this is cut in the middle, as OpenHands does. */
    public static final int MAX_CONTENT_LENGTH = 30_000;
    static final String TRUNCATION_NOTE = "\n[... Observation truncated due to length ...]\n";

    public CmdOutputObservation {
        Objects.requireNonNull(content, "content");
        command = command == null ? "" : command;
        metadata = metadata == null ? CmdOutputMetadata.unknown() : metadata;
    }

    /** Builds the observation the way the server does: content over 30,000 characters is middle-truncated unless hidden. */
    public static CmdOutputObservation of(String content, String command, CmdOutputMetadata metadata, boolean hidden) {
        return new CmdOutputObservation(hidden ? content : truncateMiddle(content), command, metadata, hidden);
    }

    /**
     * Keeps the first and last 15,000 characters with a note between them, exactly like OpenHands. Characters are
     * counted as Python does, in code points, so an emoji is one character and a surrogate pair is never split.
     */
    public static String truncateMiddle(String content) {
        if (content.length() <= MAX_CONTENT_LENGTH) {
            return content; // fewer UTF-16 units than the limit means fewer code points too
        }
        int codePoints = content.codePointCount(0, content.length());
        if (codePoints <= MAX_CONTENT_LENGTH) {
            return content;
        }
        int half = MAX_CONTENT_LENGTH / 2;
        int headEnd = content.offsetByCodePoints(0, half);
        int tailStart = content.offsetByCodePoints(content.length(), -half);
        return content.substring(0, headEnd) + TRUNCATION_NOTE + content.substring(tailStart);
    }

    public int exitCode() {
        return metadata.exitCode();
    }

    /** True when the command finished with exit code 0. */
    public boolean success() {
        return metadata.exitCode() == 0;
    }

    /** True while the command is still running (it hit a timeout and may be continued). */
    public boolean stillRunning() {
        return metadata.exitCode() == -1;
    }

    /** What the model sees: prefix, output, suffix and the working-directory / exit-code notes. */
    public String toAgentText() {
        StringBuilder text = new StringBuilder(metadata.prefix()).append(content).append(metadata.suffix());
        if (metadata.workingDir() != null) {
            text.append("\n[Current working directory: ").append(metadata.workingDir()).append(']');
        }
        if (metadata.pyInterpreterPath() != null) {
            text.append("\n[Python interpreter: ").append(metadata.pyInterpreterPath()).append(']');
        }
        if (metadata.exitCode() != -1) {
            text.append("\n[Command finished with exit code ").append(metadata.exitCode()).append(']');
        }
        return text.toString();
    }

    @Override
    public String type() {
        return "run";
    }

    @Override
    public String message() {
        return "Command `" + command + "` executed with exit code " + metadata.exitCode() + ".";
    }
}
