package dev.agentruntime.server;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the session key comes from, besides {@code SESSION_API_KEY} (kept for OpenHands): a file the server reads and
 * deletes ({@code --session-api-key-file}), or the first line of stdin ({@code --session-api-key-stdin}). Neither
 * leaves the key in an environment, a command line or the container's configuration.
 */
final class SessionKeys {

    private static final Logger log = LoggerFactory.getLogger(SessionKeys.class);
    private static final int MAX_KEY_BYTES = 4096;
    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    private SessionKeys() {
    }

    /** The options with the key read from its file or stdin (when configured so); exits are the caller's. */
    static ServerOptions resolve(ServerOptions options, InputStream stdin) throws IOException {
        if (options.sessionApiKeyFile() != null) {
            return options.withSessionApiKey(fromFile(options.sessionApiKeyFile()));
        }
        if (options.sessionApiKeyOnStdin()) {
            return options.withSessionApiKey(fromStdin(stdin));
        }
        return options;
    }

    /**
     * Reads the key file and deletes it. Refuses a symbolic link, anything but a regular file, a file owned by another
     * user than the server's (or root), and a file its group or others may access: such a key may already be known.
     */
    static String fromFile(Path file) throws IOException {
        PosixFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the session key file " + file + ": " + e);
        }
        if (!attributes.isRegularFile()) {
            throw new IllegalArgumentException("the session key file " + file + " must be a regular file (not a link,"
                    + " a directory or a device)");
        }
        String owner = attributes.owner().getName();
        String me = System.getProperty("user.name");
        if (!owner.equals(me) && !owner.equals("root")) {
            throw new IllegalArgumentException("the session key file " + file + " belongs to " + owner
                    + ", not to the server's user " + me + " (or root)");
        }
        Set<PosixFilePermission> loose = EnumSet.copyOf(attributes.permissions().isEmpty()
                ? EnumSet.noneOf(PosixFilePermission.class) : attributes.permissions());
        loose.retainAll(GROUP_OR_OTHERS);
        if (!loose.isEmpty()) {
            throw new IllegalArgumentException("the session key file " + file + " is accessible to its group or to"
                    + " others (" + java.nio.file.attribute.PosixFilePermissions.toString(attributes.permissions())
                    + "): create it with mode 0600 (umask 077) so that only the server's user can read it");
        }
        if (attributes.size() > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("the session key file " + file + " is larger than " + MAX_KEY_BYTES
                    + " bytes: not a key");
        }
        String key = stripLineEnd(new String(Files.readAllBytes(file), StandardCharsets.UTF_8));
        try {
            Files.delete(file);
        } catch (IOException e) {
            // A read-only secret mount: the key stays there, readable only to its owner (checked above).
            log.warn("could not delete the session key file {} ({}); it stays, readable only to {}", file, e.toString(),
                    owner);
        }
        return requireKey(key, "the session key file " + file);
    }

    /** The first line of stdin (read without buffering past it: the rest of stdin is the parent's EOF signal). */
    static String fromStdin(InputStream stdin) {
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                byte[] buffer = new byte[MAX_KEY_BYTES + 1];
                int n = 0;
                int b;
                while (n < buffer.length && (b = stdin.read()) >= 0 && b != '\n') {
                    buffer[n++] = (byte) b;
                }
                if (n > MAX_KEY_BYTES) {
                    throw new IllegalArgumentException("the first line of stdin is longer than " + MAX_KEY_BYTES
                            + " bytes: not a session key");
                }
                return stripLineEnd(new String(buffer, 0, n, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read the session key from stdin: " + e);
            }
        }, runnable -> {
            Thread t = new Thread(runnable, "agent-runtime-key-reader");
            t.setDaemon(true);
            t.start();
        });
        try {
            return requireKey(line.get(60, TimeUnit.SECONDS), "stdin's first line");
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalArgumentException("--session-api-key-stdin: no key line on stdin within 60 s");
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof IllegalArgumentException iae ? iae
                    : new IllegalArgumentException("cannot read the session key from stdin: " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalArgumentException("interrupted while reading the session key from stdin");
        }
    }

    private static String requireKey(String key, String where) {
        if (key.isBlank()) {
            throw new IllegalArgumentException(where + " holds an empty session key: that would turn authentication"
                    + " off");
        }
        return key;
    }

    private static String stripLineEnd(String s) {
        int end = s.length();
        while (end > 0 && (s.charAt(end - 1) == '\n' || s.charAt(end - 1) == '\r')) {
            end--;
        }
        return s.substring(0, end);
    }
}
