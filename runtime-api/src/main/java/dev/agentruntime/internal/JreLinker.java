package dev.agentruntime.internal;

import dev.agentruntime.RuntimeStartupException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.spi.ToolProvider;

/**
 * Makes the small Java runtime shipped into sandboxes without Java (Docker base images, the server bundle): {@code jlink} (run in-process through
 * {@link ToolProvider}) over the modules the action server needs, with a class-data-sharing archive for fast start.
 * The result is cached per JDK under {@code <java.io.tmpdir>/agent-runtime-<user>/jre/<key>}; concurrent makers
 * (threads or JVMs) each link into a private directory and the first atomic rename wins.
 */
public final class JreLinker {

    /** Modules the server uses (checked with jdeps and by running it): HTTP server, logging, JNA's Unsafe, zip. */
    public static final List<String> MODULES = List.of("java.base", "java.logging", "jdk.unsupported",
            "jdk.httpserver", "java.management", "jdk.crypto.ec", "jdk.zipfs");
    private static final List<String> OPTIONS = List.of("--strip-debug", "--no-header-files", "--no-man-pages",
            "--generate-cds-archive");
    /** Bumped when the layout of the linked runtime changes. */
    private static final String LAYOUT = "1";

    private final Path cacheRoot;

    public JreLinker(Path cacheRoot) {
        this.cacheRoot = cacheRoot;
    }

    /** The default cache: {@code <java.io.tmpdir>/agent-runtime-<user>/jre}. */
    public static JreLinker defaults() {
        return new JreLinker(Path.of(System.getProperty("java.io.tmpdir"),
                "agent-runtime-" + System.getProperty("user.name"), "jre"));
    }

    /** What identifies the runtime this JDK links: vendor, version, architecture, modules and options. */
    public static String identity() {
        return String.join("|", System.getProperty("java.vendor"), System.getProperty("java.runtime.version"),
                System.getProperty("os.arch"), String.join(",", MODULES), String.join(",", OPTIONS), LAYOUT);
    }

    /**
     * Checks that this JVM can make a runtime for a Linux container on a daemon of the given architecture.
     *
     * @param daemonArchitecture what {@code docker info} reports, e.g. {@code x86_64} or {@code aarch64}
     * @throws RuntimeStartupException explaining why not and what to do instead
     */
    public static void requireCompatible(String daemonArchitecture, String image) {
        String os = System.getProperty("os.name", "");
        String arch = normalizeArch(System.getProperty("os.arch", ""));
        String daemonArch = normalizeArch(daemonArchitecture == null ? "" : daemonArchitecture);
        if (!os.toLowerCase(Locale.ROOT).startsWith("linux") || (!daemonArch.isEmpty() && !arch.equals(daemonArch))) {
            throw new RuntimeStartupException(image + " has no Java 17+, and the Java runtime of this JVM ("
                    + os + "/" + arch + ") cannot run in a linux/" + daemonArch + " container. Use a base image that "
                    + "has Java 17 or newer (e.g. eclipse-temurin:21-jre on Ubuntu), or run this JVM on Linux with "
                    + "the daemon's architecture.");
        }
    }

    public static String normalizeArch(String arch) {
        return switch (arch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64", "x86-64" -> "x86_64";
            case "arm64", "aarch64" -> "aarch64";
            default -> arch.toLowerCase(Locale.ROOT);
        };
    }

    /** The linked runtime, made now unless the cache has it. */
    public Path linkedRuntime() {
        Path target = cacheRoot.resolve(Hashes.sha256Hex(identity()).substring(0, 16));
        if (Files.isRegularFile(target.resolve("bin/java"))) {
            return target;
        }
        ToolProvider jlink = ToolProvider.findFirst("jlink").orElseThrow(() -> new RuntimeStartupException(
                "The base image has no Java 17+ and this JVM (" + System.getProperty("java.home") + ") has no jlink "
                        + "to make a runtime for it. Run on a JDK (not a JRE), or use a base image that has Java 17 "
                        + "or newer."));
        Path work;
        try {
            Files.createDirectories(cacheRoot);
            work = Files.createTempDirectory(cacheRoot, "linking-");
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the Java runtime cache under " + cacheRoot, e);
        }
        Path output = work.resolve("jre");
        try {
            List<String> args = new ArrayList<>(List.of("--add-modules", String.join(",", MODULES)));
            args.addAll(OPTIONS);
            args.addAll(List.of("--output", output.toString()));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
            int exit = jlink.run(print, print, args.toArray(String[]::new));
            if (exit != 0) {
                throw new RuntimeStartupException("jlink " + String.join(" ", args) + " failed with exit code " + exit
                        + ": " + out.toString(StandardCharsets.UTF_8).strip());
            }
            // Compressed class pointers are always on with a 64 MB heap: the second archive is dead weight.
            Files.deleteIfExists(output.resolve("lib/server/classes_nocoops.jsa"));
            try {
                Files.move(output, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                // another thread or JVM linked the same runtime first: use theirs
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(output, target);
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot store the linked Java runtime at " + target, e);
        } finally {
            FileTrees.deleteQuietly(work);
        }
    }
}
