package dev.agentruntime.fake;

/** The type of a file in a sandbox; a symlink is reported as itself, not followed. */
public enum FileType {
    FILE, DIRECTORY, SYMLINK, OTHER
}
