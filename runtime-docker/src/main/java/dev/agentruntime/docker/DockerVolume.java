package dev.agentruntime.docker;

import dev.agentruntime.InvalidConfigException;
import java.util.Objects;

/**
 * One mount of a Docker sandbox: a host directory ({@code /abs/path}) or a named volume ({@code name} or
 * {@code volume:name}) at an absolute path inside the container, read-write unless {@code readOnly}.
 *
 * <pre>{@code
 * DockerVolume.parse("/home/me/data:/data:ro");   // bind mount, read-only
 * DockerVolume.parse("pip-cache:/root/.cache/pip"); // named volume (created with our labels when missing)
 * }</pre>
 *
 * @param source   an absolute host path, or a volume name
 * @param target   the absolute path inside the container
 * @param readOnly mounted read-only
 */
public record DockerVolume(String source, String target, boolean readOnly) {

    public DockerVolume {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(target, "target");
        if (source.isBlank()) {
            throw new InvalidConfigException("volume source must not be blank (target " + target + ")");
        }
        if (!target.startsWith("/")) {
            throw new InvalidConfigException("volume target must be an absolute container path, was '" + target
                    + "' (source " + source + ")");
        }
        if (!isHostPath(source) && !source.matches("[A-Za-z0-9][A-Za-z0-9_.-]*")) {
            throw new InvalidConfigException("volume source '" + source + "' is neither an absolute host path nor a "
                    + "valid volume name ([A-Za-z0-9][A-Za-z0-9_.-]*)");
        }
    }

    /** A read-write bind mount of a host directory. */
    public static DockerVolume bind(String hostPath, String containerPath) {
        return new DockerVolume(hostPath, containerPath, false);
    }

    /** A read-write named volume, created (with our labels) when it does not exist yet. */
    public static DockerVolume named(String volumeName, String containerPath) {
        return new DockerVolume(volumeName, containerPath, false);
    }

    /** The same mount, read-only. */
    public DockerVolume asReadOnly() {
        return new DockerVolume(source, target, true);
    }

    /** True for a named volume, false for a host directory. */
    public boolean isNamedVolume() {
        return !isHostPath(source);
    }

    /**
     * Parses {@code source:target[:ro|rw]}, Docker's and OpenHands' syntax; {@code volume:name:target[:mode]} names
     * a volume explicitly.
     *
     * @throws InvalidConfigException for anything else, quoting the spec
     */
    public static DockerVolume parse(String spec) {
        Objects.requireNonNull(spec, "spec");
        String rest = spec.trim();
        if (rest.startsWith("volume:")) {
            rest = rest.substring("volume:".length());
        }
        String[] parts = rest.split(":", -1);
        if (parts.length < 2 || parts.length > 3 || parts[0].isBlank() || parts[1].isBlank()) {
            throw new InvalidConfigException("volume '" + spec + "' must look like host-path-or-volume:container-path"
                    + "[:ro|rw], e.g. /home/me/data:/data:ro or cache:/root/.cache");
        }
        boolean readOnly = false;
        if (parts.length == 3) {
            switch (parts[2]) {
                case "ro" -> readOnly = true;
                case "rw" -> readOnly = false;
                default -> throw new InvalidConfigException("volume '" + spec + "' has mode '" + parts[2]
                        + "'; valid modes: ro, rw");
            }
        }
        return new DockerVolume(parts[0], parts[1], readOnly);
    }

    @Override
    public String toString() {
        return source + ":" + target + (readOnly ? ":ro" : ":rw");
    }

    private static boolean isHostPath(String source) {
        return source.startsWith("/") || source.matches("[A-Za-z]:[\\\\/].*");
    }
}
