package dev.agentruntime.fake;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * How a file is written into a sandbox.
 *
 * @param user who writes it (permissions apply; the file and created parent directories belong to them); empty =
 *     the sandbox's default user
 * @param mode permission bits to set afterwards, e.g. {@code 0755}
 * @param owner {@code user[:group]} to give the file to afterwards (done as root)
 */
public record WriteOptions(Optional<String> user, OptionalInt mode, Optional<String> owner) {

    public static WriteOptions defaults() {
        return new WriteOptions(Optional.empty(), OptionalInt.empty(), Optional.empty());
    }

    public WriteOptions user(String user) {
        return new WriteOptions(Optional.of(user), mode, owner);
    }

    public WriteOptions mode(int mode) {
        return new WriteOptions(user, OptionalInt.of(mode), owner);
    }

    public WriteOptions owner(String owner) {
        return new WriteOptions(user, mode, Optional.of(owner));
    }
}
