package dev.agentruntime.docker;

import dev.agentruntime.InvalidConfigException;
import java.util.Objects;

/**
 * The user the sandbox's shell runs as. The container itself starts as root; the action server creates the user
 * when the image lacks it (OpenHands' {@code --username}/{@code --user-id}) and runs bash as that user.
 *
 * @param name the user name, e.g. {@code openhands}
 * @param uid  its numeric id, e.g. {@code 1000}
 */
public record SandboxUser(String name, int uid) {

    public SandboxUser {
        Objects.requireNonNull(name, "name");
        if (!name.matches("[a-z_][a-z0-9_-]{0,31}")) {
            throw new InvalidConfigException("user name '" + name + "' is not a valid Linux user name"
                    + " ([a-z_][a-z0-9_-]{0,31})");
        }
        if (uid < 0) {
            throw new InvalidConfigException("uid must not be negative, was " + uid);
        }
    }

    /** Parses {@code name:uid} (the {@code user} option); a bare {@code root} means uid 0. */
    public static SandboxUser parse(String value) {
        String[] parts = value.trim().split(":", -1);
        try {
            if (parts.length == 1 && parts[0].equals("root")) {
                return new SandboxUser("root", 0);
            }
            if (parts.length == 2) {
                return new SandboxUser(parts[0], Integer.parseInt(parts[1]));
            }
        } catch (NumberFormatException e) {
            // falls through to the message below
        }
        throw new InvalidConfigException("user must look like name:uid (e.g. openhands:1000) or root, was '"
                + value + "'");
    }

    @Override
    public String toString() {
        return name + ":" + uid;
    }
}
