package dev.agentruntime.server.files;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.Set;

/**
 * Replaces file contents atomically: the new bytes go to a temporary file in the same directory, are fsynced,
 * get the mode (and, where we may, the owner) of the file they replace, and are renamed over it. A concurrent
 * reader sees either the old or the new file, never half of one.
 */
final class AtomicFiles {

    static final Set<PosixFilePermission> MODE_0664 = PosixFilePermissions.fromString("rw-rw-r--");

    /** The content is in place, but the new file's mode could not be set. */
    static final class AttributesNotApplied extends IOException {
        private static final long serialVersionUID = 1L;

        AttributesNotApplied(IOException cause) {
            super(cause.getMessage(), cause);
        }

        IOException failure() {
            return (IOException) getCause();
        }
    }

    private AtomicFiles() {
    }

    /**
     * Writes {@code data} to {@code target}, creating it with {@code newFileMode} when it does not exist,
     * keeping its mode and owner when it does. A symbolic link is followed: the file it points to is replaced,
     * the link stays a link. When the replacement cannot be given the original owner (we are not root and the
     * file is someone else's) or no file may be created next to it, the file is rewritten in place instead,
     * which keeps owner and mode but is not atomic.
     */
    static void write(Path target, byte[] data, Set<PosixFilePermission> newFileMode) throws IOException {
        Objects.requireNonNull(newFileMode, "newFileMode");
        Path real = realTarget(target);
        boolean exists = Files.exists(real, LinkOption.NOFOLLOW_LINKS);
        Path dir = real.toAbsolutePath().getParent();
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, "." + real.getFileName() + ".", ".tmp");
        } catch (AccessDeniedException e) {
            // A writable file in a directory we may not create files in: fall back to rewriting it in place.
            writeInPlace(real, data);
            if (!exists) {
                try {
                    chmod(real, newFileMode);
                } catch (IOException chmodFailure) {
                    throw new AttributesNotApplied(chmodFailure);
                }
            }
            return;
        }
        boolean moved = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buffer = ByteBuffer.wrap(data);
                while (buffer.hasRemaining()) {
                    ch.write(buffer);
                }
                ch.force(true);
            }
            if (exists && !copyModeAndOwner(real, tmp)) {
                writeInPlace(real, data);
                return;
            }
            IOException chmodFailure = null;
            if (!exists) {
                try {
                    chmod(tmp, newFileMode);
                } catch (IOException e) {
                    chmodFailure = e;
                }
            }
            move(tmp, real);
            moved = true;
            syncDirectory(dir);
            if (chmodFailure != null) {
                throw new AttributesNotApplied(chmodFailure);
            }
        } finally {
            if (!moved) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    private static Path realTarget(Path target) throws IOException {
        Path p = target;
        for (int hops = 0; hops < 40 && Files.isSymbolicLink(p); hops++) {
            Path link = Files.readSymbolicLink(p);
            p = p.toAbsolutePath().getParent().resolve(link);
        }
        return p;
    }

    private static void writeInPlace(Path file, byte[] data) throws IOException {
        Files.write(file, data, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.SYNC);
    }

    private static void chmod(Path file, Set<PosixFilePermission> mode) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (view != null) {
            view.setPermissions(mode);
        }
    }

    /** Gives tmp the mode and owner of original; false when the owner cannot be given (not permitted). */
    private static boolean copyModeAndOwner(Path original, Path tmp) throws IOException {
        PosixFileAttributeView from = Files.getFileAttributeView(original, PosixFileAttributeView.class);
        PosixFileAttributeView to = Files.getFileAttributeView(tmp, PosixFileAttributeView.class);
        if (from == null || to == null) {
            return true;
        }
        Set<PosixFilePermission> mode = from.readAttributes().permissions();
        try {
            for (String id : new String[] {"unix:uid", "unix:gid"}) {
                Object wanted = Files.getAttribute(original, id);
                if (!wanted.equals(Files.getAttribute(tmp, id))) {
                    Files.setAttribute(tmp, id, wanted);
                }
            }
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            // No "unix" attribute view on this platform: owners cannot be read, so there is nothing to keep.
        } catch (IOException e) {
            return false;
        }
        // chmod after chown: changing the owner may clear the set-uid/set-gid bits.
        to.setPermissions(mode);
        return true;
    }

    private static void move(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Best effort: not every platform lets a directory be opened and synced.
        }
    }
}
