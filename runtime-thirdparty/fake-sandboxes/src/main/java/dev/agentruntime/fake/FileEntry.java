package dev.agentruntime.fake;

import java.time.Instant;
import java.util.Optional;

/**
 * What {@code stat} tells about one file in a sandbox.
 *
 * @param path the path as listed (absolute when asked with an absolute path)
 * @param name the last path element
 * @param mode permission bits only, e.g. {@code 0644} (the type is {@link #type()})
 * @param owner user name (or numeric id when the sandbox has no name for it)
 * @param symlinkTarget what a symlink points to, as stored in it
 */
public record FileEntry(String path, String name, FileType type, long size, int mode, String owner, String group,
        Instant modified, Optional<String> symlinkTarget) {
}
