package dev.agentruntime.internal;

import dev.agentruntime.CmdRunAction;
import dev.agentruntime.FileReadAction;
import dev.agentruntime.FileWriteAction;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.Secret;
import dev.agentruntime.spi.ActionServerClient;
import dev.agentruntime.spi.ServerEndpoint;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.StartupLog;
import java.io.IOException;
import java.net.URI;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Class-data sharing (AppCDS) for the action server's JVM: a dynamic archive of the classes a server loads while it
 * starts and serves its first actions, mapped by every server started afterwards with
 * {@code -XX:SharedArchiveFile}. It halves the JVM's start-up CPU (classes arrive parsed, verified and laid out).
 *
 * <p>Java 17 has no {@code -XX:+AutoCreateSharedArchive} (that came in 19), so the archive is made by a training
 * run: the first time {@link #jvmOptions()} finds no archive, a daemon thread starts the server once more with
 * {@code -XX:ArchiveClassesAtExit}, sends it a command, a file write and a read, and closes its stdin; the JVM
 * writes the archive as it exits, and it is moved into place atomically. Sandboxes started meanwhile run without
 * it. The archive sits next to the server jar (the extracted jar is named after its digest), keyed by the jar's
 * path, size and modification time, the java executable and the JVM options, since an archive only fits the JVM and
 * class path it was made with. One training per key at a time across threads and processes (a lock file; a stale
 * one is taken over after {@link #STALE_LOCK}); a failed training is not retried until the lock goes stale. A
 * mismatching or damaged archive costs nothing but the sharing: the JVM ignores it (with {@code -Xshare:auto}, the
 * default) and, with the lean options' log settings, says so on stderr, never on the stdout we read the ready line
 * from.
 */
public final class ServerClassData {

    private static final Logger log = LoggerFactory.getLogger(ServerClassData.class);
    /** Bumped when the training changes, so older archives are not reused. */
    private static final String LAYOUT = "1";
    static final Duration STALE_LOCK = Duration.ofMinutes(5);
    private static final Duration TRAINING_TIMEOUT = Duration.ofMinutes(2);

    private final Path javaExecutable;
    private final Path jar;
    private final List<String> serverJvmOptions;
    private final Path archive;

    private ServerClassData(Path java, Path jar, List<String> serverJvmOptions, Path archive) {
        this.javaExecutable = java;
        this.jar = jar;
        this.serverJvmOptions = List.copyOf(serverJvmOptions);
        this.archive = archive;
    }

    /**
     * The archive for servers started as {@code java <jvmOptions> -jar <jar>}.
     *
     * @param java       the java executable
     * @param jar        the server jar
     * @param jvmOptions the JVM options the servers run with (the archive is made with the same)
     */
    public static ServerClassData of(Path java, Path jar, List<String> jvmOptions) {
        String key = key(java, jar, jvmOptions);
        Path dir = jar.toAbsolutePath().getParent();
        if (dir == null || !Files.isWritable(dir)) {
            dir = Path.of(System.getProperty("java.io.tmpdir"), "agent-runtime-" + System.getProperty("user.name"),
                    "cds");
        }
        String name = jar.getFileName().toString().replaceFirst("\\.jar$", "");
        return new ServerClassData(java, jar, jvmOptions, dir.resolve(name + "-cds-" + key + ".jsa"));
    }

    private static String key(Path java, Path jar, List<String> jvmOptions) {
        StringBuilder text = new StringBuilder(LAYOUT);
        for (Path file : List.of(java, jar)) {
            text.append('\n').append(file.toAbsolutePath().normalize());
            try {
                Path real = file.toRealPath();
                text.append('|').append(real).append('|').append(Files.size(real)).append('|')
                        .append(Files.getLastModifiedTime(real).toMillis());
            } catch (IOException e) {
                text.append("|unreadable");
            }
        }
        text.append('\n').append(String.join(" ", jvmOptions));
        return Hashes.sha256Hex(text.toString()).substring(0, 16);
    }

    /** Where the archive is (or will be). */
    public Path archive() {
        return archive;
    }

    /** Whether the archive has been made. */
    public boolean exists() {
        return Files.isRegularFile(archive);
    }

    /**
     * The options that make a server use the archive: {@code -XX:SharedArchiveFile=<archive>} once it exists. Until
     * then none, and a training run is started in the background (once; see the class comment).
     */
    public List<String> jvmOptions() {
        if (exists()) {
            return List.of("-XX:SharedArchiveFile=" + archive);
        }
        Thread training = new Thread(this::trainQuietly, "agent-runtime-cds-training");
        training.setDaemon(true);
        training.start();
        return List.of();
    }

    /** Waits until the archive exists, at most {@code timeout}; true when it does. For tools and benchmarks. */
    public boolean awaitArchive(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 20;
        while (!exists()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(pause); // the archive is written by another process: nothing to be notified by
            pause = Math.min(pause * 2, 500);
        }
        return true;
    }

    private void trainQuietly() {
        try {
            train();
        } catch (IOException | RuntimeException e) {
            log.info("class-data archive for the action server not made ({}); servers start without it", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Makes the archive unless it exists or another thread or process is making it. Returns true when this call made
     * it.
     */
    boolean train() throws IOException, InterruptedException {
        Files.createDirectories(archive.getParent());
        Path lock = archive.resolveSibling(archive.getFileName() + ".lock");
        if (exists() || !claim(lock)) {
            return false;
        }
        Path work = Files.createTempDirectory(archive.getParent(), "cds-training-");
        boolean made = false;
        try {
            made = runTraining(work);
            return made;
        } finally {
            FileTrees.deleteQuietly(work);
            if (made) {
                Files.deleteIfExists(lock);
            }
            // a failed training keeps its lock until it is stale, so a broken setup does not retrain on every start
        }
    }

    private static boolean claim(Path lock) throws IOException {
        try {
            Files.writeString(lock, ProcessHandle.current().pid() + "\n", StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
            return true;
        } catch (FileAlreadyExistsException e) {
            FileTime modified;
            try {
                modified = Files.getLastModifiedTime(lock);
            } catch (IOException gone) {
                return false; // released meanwhile: the next start looks again
            }
            if (modified.toInstant().isBefore(Instant.now().minus(STALE_LOCK))) {
                Files.deleteIfExists(lock);
                try {
                    Files.writeString(lock, ProcessHandle.current().pid() + "\n",
                            StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                    return true;
                } catch (FileAlreadyExistsException raced) {
                    return false;
                }
            }
            return false;
        }
    }

    private boolean runTraining(Path work) throws IOException, InterruptedException {
        long started = System.nanoTime();
        Path dump = work.resolve("archive.jsa");
        Path home = Files.createDirectories(work.resolve("home"));
        Path workspace = Files.createDirectories(work.resolve("workspace"));
        ServerLaunch launch = ServerLaunch.builder().java(javaExecutable.toString()).jar(jar.toString()).port(0)
                .workingDir(workspace.toString()).bindAddress("127.0.0.1").sessionId("cds-training")
                .sessionApiKey(Secret.of(RuntimeConfig.randomKey())).exitOnStdinEof(true)
                .jvmOptions(serverJvmOptions).classDataOptions(List.of("-XX:ArchiveClassesAtExit=" + dump))
                .keyDelivery(ServerLaunch.KeyDelivery.stdin()).build();
        ProcessBuilder builder = new ProcessBuilder(launch.command()).redirectError(ProcessBuilder.Redirect.DISCARD);
        builder.environment().putAll(launch.environment());
        builder.environment().put("HOME", home.toString());
        Process server = builder.start();
        server.getOutputStream().write(launch.stdinPrefix());
        server.getOutputStream().flush();
        try {
            StartupLog output = new StartupLog(null);
            StartupLog.pump(server.getInputStream(), output, "agent-runtime-cds-training-output");
            int port = output.awaitReady(Instant.now().plus(TRAINING_TIMEOUT), "The class-data training server", null);
            try (ActionServerClient client = new ActionServerClient(ServerEndpoint.of(
                    URI.create("http://127.0.0.1:" + port), launch.sessionApiKey()), "cds-training")) {
                Duration timeout = Duration.ofSeconds(30);
                client.isAlive();
                client.execute(CmdRunAction.of("echo class-data"), timeout);
                client.execute(CmdRunAction.of("ls /"), timeout);
                String file = workspace.resolve("training.txt").toString();
                client.execute(FileWriteAction.of(file, "class-data\n"), timeout);
                client.execute(FileReadAction.of(file), timeout);
                client.listFiles(workspace.toString());
                client.serverInfo();
            }
            server.getOutputStream().close(); // the server exits on end of stdin, and the JVM dumps the archive
            if (!server.waitFor(TRAINING_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                throw new IOException("the training server did not exit within " + TRAINING_TIMEOUT);
            }
            if (server.exitValue() != 0 || !Files.isRegularFile(dump) || Files.size(dump) == 0) {
                throw new IOException("the training server exited with " + server.exitValue() + " and "
                        + (Files.isRegularFile(dump) ? "an empty archive" : "no archive"));
            }
            Path staged = Files.createTempFile(archive.getParent(), "cds-", ".jsa.tmp");
            Files.move(dump, staged, StandardCopyOption.REPLACE_EXISTING);
            try {
                Files.move(staged, archive, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(staged, archive, StandardCopyOption.REPLACE_EXISTING);
            }
            log.info("made the action server's class-data archive {} ({} KB) in {} ms", archive,
                    Files.size(archive) / 1024, Duration.ofNanos(System.nanoTime() - started).toMillis());
            return true;
        } finally {
            if (server.isAlive()) {
                server.descendants().forEach(ProcessHandle::destroyForcibly);
                server.destroyForcibly();
            }
        }
    }
}
