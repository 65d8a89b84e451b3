package dev.agentruntime.internal;

import dev.agentruntime.InvalidConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Finds the executable action-server jar that backends start (locally) or ship into sandboxes (Docker).
 * Order: system property {@code agent.runtime.server.jar}; environment variable {@code AGENT_RUNTIME_SERVER_JAR};
 * the resource {@value #RESOURCE} (from the {@code runtime-server-bundle} artifact), copied once into
 * {@code <java.io.tmpdir>/agent-runtime-<user>/runtime-server-<sha256>.jar} so every version gets its own file.
 */
public final class ServerJar {

    public static final String RESOURCE = "/META-INF/agent-runtime/runtime-server.jar";
    public static final String PROPERTY = "agent.runtime.server.jar";
    public static final String ENV = "AGENT_RUNTIME_SERVER_JAR";
    private ServerJar() {
    }

    /** The server jar on this host. */
    public static Path locate() {
        String configured = System.getProperty(PROPERTY);
        if (configured == null || configured.isBlank()) {
            configured = System.getenv(ENV);
        }
        if (configured != null && !configured.isBlank()) {
            Path path = Path.of(configured);
            if (!Files.isRegularFile(path)) {
                throw new InvalidConfigException("The action server jar configured by -D" + PROPERTY + " or " + ENV
                        + " does not exist: " + path + ". Build it with 'mvn -pl runtime-server package'.");
            }
            return path;
        }
        return extractBundled();
    }

    /**
     * The bundled jar once extracted, and the last digest computed, with what it was computed from. Both are
     * memos of facts about files (the class path's resource; a file's content at a given size and modification
     * time), not state shared between runtimes: locating and hashing the 10 MB jar took 90-300 ms per sandbox start.
     */
    private static volatile Path extracted;
    private static volatile Digest lastDigest;

    private record Digest(Path file, long size, long modified, String sha256) {
    }

    /** The SHA-256 of the server jar, hex encoded: a stable content tag for caches and image tags. */
    public static String sha256(Path jar) {
        Digest known = lastDigest;
        try {
            if (known != null && known.file().equals(jar) && Files.size(jar) == known.size()
                    && Files.getLastModifiedTime(jar).toMillis() == known.modified()) {
                return known.sha256();
            }
            long size = Files.size(jar);
            long modified = Files.getLastModifiedTime(jar).toMillis();
            String sha = Hashes.sha256Hex(jar);
            if (Files.size(jar) == size && Files.getLastModifiedTime(jar).toMillis() == modified) {
                lastDigest = new Digest(jar, size, modified, sha);
            }
            return sha;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the action server jar " + jar, e);
        }
    }

    private static Path extractBundled() {
        Path known = extracted;
        if (known != null && Files.isRegularFile(known)) {
            return known; // a temp cleaner may have removed it: then it is extracted again
        }
        synchronized (ServerJar.class) {
            known = extracted;
            if (known != null && Files.isRegularFile(known)) {
                return known;
            }
            Path path = copyBundled();
            extracted = path;
            return path;
        }
    }

    private static Path copyBundled() {
        try (InputStream resource = ServerJar.class.getResourceAsStream(RESOURCE)) {
            if (resource == null) {
                throw new InvalidConfigException("The action server jar is not on the class path (" + RESOURCE
                        + "). Add the dependency dev.agentruntime:runtime-server-bundle, or point -D" + PROPERTY
                        + " at runtime-server/target/runtime-server.jar.");
            }
            Path dir = Path.of(System.getProperty("java.io.tmpdir"), "agent-runtime-" + System.getProperty("user.name"));
            Files.createDirectories(dir);
            Path temp = Files.createTempFile(dir, "runtime-server-", ".tmp");
            try {
                Files.copy(resource, temp, StandardCopyOption.REPLACE_EXISTING);
                Path target = dir.resolve("runtime-server-" + sha256(temp).substring(0, 16) + ".jar");
                if (Files.isRegularFile(target) && Files.size(target) == Files.size(temp)) {
                    return target;
                }
                try {
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
                }
                return target;
            } finally {
                Files.deleteIfExists(temp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot extract the bundled action server jar to the temp directory", e);
        }
    }
}
