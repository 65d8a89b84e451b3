package dev.agentruntime.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Removing directory trees we made (temporary workspaces, caches being built, scratch directories). */
public final class FileTrees {

    private FileTrees() {
    }

    /**
     * Deletes {@code root} and everything below it, deepest first, without following symbolic links. Best effort: a
     * file that cannot be deleted (still held open by a dying process) is left, and nothing is thrown.
     *
     * @return whether {@code root} is gone afterwards
     */
    public static boolean deleteQuietly(Path root) {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return true;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException | java.io.UncheckedIOException ignored) {
            // best effort
        }
        return !Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }
}
