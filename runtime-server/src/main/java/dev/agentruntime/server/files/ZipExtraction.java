package dev.agentruntime.server.files;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Extracts a zip that {@link ZipSafety} accepted. Entries are first written to a hidden staging directory
 * inside the destination, then moved into place, so a corrupt entry or a name clash leaves the destination as
 * it was. Existing files are replaced (as Python's {@code shutil.unpack_archive} does); a file where a
 * directory exists, or the other way round, is a {@link ConflictException}. Executable bits recorded in the
 * archive are kept.
 */
final class ZipExtraction {

    private ZipExtraction() {
    }

    /** An entry clashes with what is already in the destination; nothing was changed. */
    static final class ConflictException extends IOException {
        private static final long serialVersionUID = 1L;

        ConflictException(String message) {
            super(message);
        }
    }

    static void extract(Path zip, Path destination, Map<String, Integer> unixModes) throws IOException {
        extract(zip, destination, unixModes, ZipSafety.Caps.NONE);
    }

    /** Extracts, counting the bytes really written against {@code caps} (a declared size can lie). */
    static void extract(Path zip, Path destination, Map<String, Integer> unixModes, ZipSafety.Caps caps)
            throws IOException {
        Path staging = Files.createTempDirectory(destination, ".unzip-");
        try {
            unpack(zip, staging, unixModes, caps);
            List<Path[]> moves = new ArrayList<>();
            plan(staging, destination, moves);
            for (Path[] move : moves) {
                Path target = move[1];
                if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                    Files.move(move[0], target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } else {
                    Files.move(move[0], target, StandardCopyOption.ATOMIC_MOVE);
                }
            }
        } finally {
            deleteTree(staging);
        }
    }

    private static void unpack(Path zip, Path staging, Map<String, Integer> unixModes, ZipSafety.Caps caps)
            throws IOException {
        long zipBytes = Files.size(zip);
        long expanded = 0;
        byte[] chunk = new byte[64 * 1024];
        java.util.Set<Path> made = new java.util.HashSet<>();
        try (ZipFile zf = new ZipFile(zip.toFile(), StandardCharsets.UTF_8)) {
            Enumeration<? extends ZipEntry> entries = zf.entries();
            while (entries.hasMoreElements()) {
                ZipEntry entry = entries.nextElement();
                Path target = staging.resolve(entry.getName()).normalize();
                if (!target.startsWith(staging)) {
                    throw new ZipSafety.UnsafeZipException("Unsafe zip entry '" + entry.getName() + "'");
                }
                if (entry.isDirectory()) {
                    if (made.add(target)) {
                        Files.createDirectories(target);
                    }
                    continue;
                }
                if (made.add(target.getParent())) {
                    Files.createDirectories(target.getParent());
                }
                long declared = entry.getSize();
                long written = 0;
                try (InputStream in = zf.getInputStream(entry);
                     java.io.OutputStream out = Files.newOutputStream(target)) {
                    for (int n; (n = in.read(chunk)) > 0; ) {
                        written += n;
                        expanded += n;
                        if (declared >= 0 && written > declared) {
                            throw new ZipSafety.UnsafeZipException("Unsafe zip entry '" + entry.getName() + "': it"
                                    + " expands beyond the " + declared + " bytes its header declares. Nothing was"
                                    + " extracted.");
                        }
                        caps.checkExpanded(expanded, zipBytes, "the archive");
                        out.write(chunk, 0, n);
                    }
                }
                if (entry.getLastModifiedTime() != null) {
                    Files.setLastModifiedTime(target, entry.getLastModifiedTime());
                }
                applyExecutableBits(target, unixModes.getOrDefault(entry.getName(), 0));
            }
        }
    }

    private static void applyExecutableBits(Path file, int mode) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (view == null || (mode & 0111) == 0) {
            return;
        }
        Set<PosixFilePermission> perms = view.readAttributes().permissions();
        if ((mode & 0100) != 0) {
            perms.add(PosixFilePermission.OWNER_EXECUTE);
        }
        if ((mode & 0010) != 0) {
            perms.add(PosixFilePermission.GROUP_EXECUTE);
        }
        if ((mode & 0001) != 0) {
            perms.add(PosixFilePermission.OTHERS_EXECUTE);
        }
        view.setPermissions(perms);
    }

    /**
     * Decides, before anything moves, which staged paths go where: a staged directory whose counterpart is an
     * existing directory is merged into it; everything else moves as a whole.
     */
    private static void plan(Path staged, Path target, List<Path[]> moves) throws IOException {
        try (DirectoryStream<Path> children = Files.newDirectoryStream(staged)) {
            for (Path child : children) {
                Path counterpart = target.resolve(child.getFileName().toString());
                boolean stagedDir = Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS);
                boolean exists = Files.exists(counterpart, LinkOption.NOFOLLOW_LINKS);
                boolean existingDir = Files.isDirectory(counterpart, LinkOption.NOFOLLOW_LINKS);
                if (stagedDir && existingDir) {
                    plan(child, counterpart, moves);
                } else if (stagedDir && exists) {
                    throw new ConflictException("Cannot extract directory " + counterpart
                            + ": a file of that name exists. Nothing was extracted.");
                } else if (!stagedDir && existingDir) {
                    throw new ConflictException("Cannot extract file " + counterpart
                            + ": a directory of that name exists. Nothing was extracted.");
                } else {
                    moves.add(new Path[] {child, counterpart});
                }
            }
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
