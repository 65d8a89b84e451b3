package dev.agentruntime.spi;

import dev.agentruntime.internal.Hashes;
import dev.agentruntime.internal.JreLinker;
import dev.agentruntime.internal.ServerJar;
import dev.agentruntime.internal.TarWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.zip.GZIPOutputStream;

/**
 * Our action server and a Java runtime for it, as one gzipped tar to upload into a sandbox that has neither (a vendor
 * sandbox, a pod without the server baked in): {@code jre/} (a {@code jlink}ed runtime of the modules the server
 * needs) and {@code runtime-server.jar}. Made once per server version and JDK and cached on this host; the sandbox
 * checks its SHA-256 before unpacking it.
 *
 * <pre>{@code
 * ServerBundle bundle = ServerBundle.prepare(progress);                    // ~30 MB, cached after the first time
 * vendor.upload(bundle.archive(), "/tmp/agent-runtime-bundle.tar.gz");
 * vendor.exec(bundle.installScript("/tmp/agent-runtime-bundle.tar.gz", ServerBundle.DEFAULT_INSTALL_DIR));
 * ServerLaunch launch = ServerLaunch.forSession(config).java(bundle.java(dir)).jar(bundle.jar(dir))...;
 * }</pre>
 *
 * The runtime is this JVM's platform's (Linux x86-64 or aarch64 with glibc, for a Linux host): a sandbox of another
 * architecture or a musl libc needs an image with the server baked in ({@link #dockerfileRecipe()}).
 */
public final class ServerBundle {

    /** Where bundles are unpacked in a sandbox unless a backend chooses otherwise. */
    public static final String DEFAULT_INSTALL_DIR = "/opt/agent-runtime";
    /** The exit code of {@link #installScript} when the uploaded archive's digest is wrong. */
    public static final int DIGEST_MISMATCH_EXIT = 97;
    /** Bumped when the bundle's layout changes. */
    private static final String LAYOUT = "1";

    private final Path archive;
    private final String sha256;
    private final long size;
    private final String serverVersion;

    private ServerBundle(Path archive, String sha256, long size, String serverVersion) {
        this.archive = archive;
        this.sha256 = sha256;
        this.size = size;
        this.serverVersion = serverVersion;
    }

    /**
     * The bundle of the server on the class path, made now (jlink, then tar + gzip: a few seconds) unless this host's
     * cache ({@code <java.io.tmpdir>/agent-runtime-<user>/bundles}) has it.
     *
     * @param progress receives a line per step, e.g. for a status event
     */
    public static ServerBundle prepare(Consumer<String> progress) {
        Path root = Path.of(System.getProperty("java.io.tmpdir"), "agent-runtime-" + System.getProperty("user.name"));
        return prepare(root.resolve("bundles"), ServerJar.locate(), JreLinker.defaults(), progress);
    }

    static ServerBundle prepare(Path cache, Path serverJar, JreLinker linker, Consumer<String> progress) {
        Objects.requireNonNull(progress, "progress");
        String serverSha = ServerJar.sha256(serverJar);
        String key = Hashes.sha256Hex(String.join("\n", serverSha, JreLinker.identity(), LAYOUT)).substring(0, 16);
        Path archive = cache.resolve("server-bundle-" + key + ".tar.gz");
        try {
            if (!Files.isRegularFile(archive)) {
                Files.createDirectories(cache);
                progress.accept("Linking a Java runtime for the action server (" + String.join(",", JreLinker.MODULES)
                        + ")");
                Path jre = linker.linkedRuntime();
                progress.accept("Packing the action server bundle " + archive.getFileName());
                Path temp = Files.createTempFile(cache, "bundle-", ".tmp");
                try {
                    try (OutputStream file = Files.newOutputStream(temp);
                         GZIPOutputStream gzip = new GZIPOutputStream(file, 1 << 16);
                         TarWriter tar = new TarWriter(gzip, 0)) {
                        tar.directory("jre").tree("jre", jre).file("runtime-server.jar", serverJar)
                                .bytes("BUNDLE", (key + "\n").getBytes(StandardCharsets.UTF_8), 0644);
                    }
                    try {
                        Files.move(temp, archive, StandardCopyOption.ATOMIC_MOVE);
                    } catch (AtomicMoveNotSupportedException e) {
                        Files.move(temp, archive, StandardCopyOption.REPLACE_EXISTING);
                    }
                } finally {
                    Files.deleteIfExists(temp);
                }
            }
            return new ServerBundle(archive, Hashes.sha256Hex(archive), Files.size(archive), serverSha.substring(0, 16));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot make the action server bundle in " + cache, e);
        }
    }

    /** The gzipped tar on this host. */
    public Path archive() {
        return archive;
    }

    /** Its SHA-256, hex encoded. */
    public String sha256() {
        return sha256;
    }

    /** Its size in bytes. */
    public long size() {
        return size;
    }

    /** The server's version (the first 16 hex digits of its jar's SHA-256), e.g. for {@link SessionLabels}. */
    public String serverVersion() {
        return serverVersion;
    }

    /** The java executable once unpacked into {@code installDir}. */
    public String java(String installDir) {
        return installDir + "/jre/bin/java";
    }

    /** The server jar once unpacked into {@code installDir}. */
    public String jar(String installDir) {
        return installDir + "/runtime-server.jar";
    }

    /** A bash command that succeeds when this very bundle is already unpacked in {@code installDir}. */
    public String installedCheck(String installDir) {
        return "test -x " + ServerLaunch.shellQuote(java(installDir)) + " && test -f "
                + ServerLaunch.shellQuote(jar(installDir)) + " && test \"$(cat "
                + ServerLaunch.shellQuote(marker(installDir)) + " 2>/dev/null)\" = " + sha256;
    }

    /**
     * A bash script that checks the uploaded archive's SHA-256 (exit {@value #DIGEST_MISMATCH_EXIT} with a message on
     * stderr when it differs: a truncated or altered upload is never unpacked), unpacks it into {@code installDir},
     * marks the install with the digest and removes the archive. Running it again is harmless.
     */
    public String installScript(String uploadedPath, String installDir) {
        String archiveArg = ServerLaunch.shellQuote(uploadedPath);
        String dir = ServerLaunch.shellQuote(installDir);
        return "set -e; "
                + "if ! echo " + ServerLaunch.shellQuote(sha256 + "  " + uploadedPath) + " | sha256sum -c --status; then "
                + "echo \"agent-runtime: the uploaded server bundle " + uploadedPath.replace("\"", "")
                + " does not have SHA-256 " + sha256 + " (truncated or altered upload)\" >&2; exit "
                + DIGEST_MISMATCH_EXIT + "; fi; "
                + "mkdir -p " + dir + "; tar -xzf " + archiveArg + " -C " + dir + "; "
                + "echo " + sha256 + " > " + ServerLaunch.shellQuote(marker(installDir)) + "; rm -f " + archiveArg;
    }

    /**
     * How to bake the server into an image instead (no upload at each start): put {@link #archive()} next to the
     * Dockerfile as {@code agent-runtime-server-bundle.tar.gz} and add these lines; the backend then finds the server
     * at {@link #DEFAULT_INSTALL_DIR}.
     */
    public String dockerfileRecipe() {
        return "# agent-runtime action server " + serverVersion + " (bundle sha256 " + sha256 + ")\n"
                + "ADD agent-runtime-server-bundle.tar.gz " + DEFAULT_INSTALL_DIR + "/\n"
                + "RUN echo " + sha256 + " > " + marker(DEFAULT_INSTALL_DIR) + "\n";
    }

    private String marker(String installDir) {
        return installDir + "/.bundle-sha256";
    }

    @Override
    public String toString() {
        return "ServerBundle[" + archive + ", " + size + " bytes, sha256 " + sha256.substring(0, 12) + "...]";
    }
}
