package dev.agentruntime.docker.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.command.PullImageResultCallback;
import com.github.dockerjava.api.command.WaitContainerResultCallback;
import com.github.dockerjava.api.exception.DockerClientException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.BuildResponseItem;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.docker.PullPolicy;
import dev.agentruntime.docker.SandboxImage;
import dev.agentruntime.internal.Hashes;
import dev.agentruntime.internal.JreLinker;
import dev.agentruntime.internal.ServerJar;
import dev.agentruntime.spi.ServerLaunch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a user's base image into a {@link SandboxImage}: the server jar (and a Java runtime when the base has none)
 * copied in by a build from an in-memory context, tagged {@code agent-runtime/sandbox:<base>-<hash>} where the hash
 * covers the base image id, the server jar, the runtime and the server's JVM flags, so each combination is built once
 * per daemon. The build trains a class-data archive for the server ({@link ClassDataTraining}). A
 * throw-away probe container checks the base first (bash, glibc, Java) so unusable images fail before anything is
 * built. Concurrent preparations of the same image (threads or JVMs on this host) take turns on a file lock; the
 * second finds the image built.
 */
public final class ImagePreparer {

    private static final Logger log = LoggerFactory.getLogger(ImagePreparer.class);
    public static final String REPOSITORY = "agent-runtime/sandbox";
    /** Bumped when the image layout changes, so old tags are not reused. */
    private static final String LAYOUT = "2"; // 2: the class-data training step

    private static final String PROBE = String.join("\n",
            "if command -v bash >/dev/null 2>&1; then echo \"bash=$(command -v bash)\"; else echo bash=; fi",
            "libc=unknown",
            "for f in /lib*/ld-linux*.so* /lib/*/ld-linux*.so* /usr/lib*/ld-linux*.so*; do [ -e \"$f\" ] && libc=glibc; done",
            "if [ $libc = unknown ]; then for f in /lib/ld-musl-* /lib/libc.musl-*; do [ -e \"$f\" ] && libc=musl; done; fi",
            "echo libc=$libc",
            "for j in \"${JAVA_HOME:-/nonexistent}/bin/java\" \"$(command -v java 2>/dev/null)\"; do",
            "  if [ -n \"$j\" ] && [ -x \"$j\" ]; then",
            "    echo \"java=$j\"",
            "    \"$j\" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = /javaspec=/p'",
            "    break",
            "  fi",
            "done",
            "if command -v python3 >/dev/null 2>&1; then echo python3=yes; else echo python3=no; fi",
            "echo arch=$(uname -m)");

    private final DockerClient docker;
    private final Consumer<String> progress;
    private final JreLinker jreLinker;
    private final Path lockDirectory;

    /**
     * @param progress told what is happening while an image is built (not called when the image exists)
     */
    public ImagePreparer(DockerClient docker, Consumer<String> progress) {
        this(docker, progress, JreLinker.defaults(), Path.of(System.getProperty("java.io.tmpdir"),
                "agent-runtime-" + System.getProperty("user.name"), "locks"));
    }

    ImagePreparer(DockerClient docker, Consumer<String> progress, JreLinker jreLinker, Path lockDirectory) {
        this.docker = docker;
        this.progress = progress;
        this.jreLinker = jreLinker;
        this.lockDirectory = lockDirectory;
    }

    /**
     * Returns the sandbox image for {@code baseImage}, building it first when the daemon does not have it.
     *
     * @throws RuntimeStartupException when the base image is missing (and cannot be pulled) or cannot serve
     */
    public SandboxImage prepare(String baseImage, PullPolicy pullPolicy, Instant deadline) {
        InspectImageResponse base = inspectOrPull(baseImage, pullPolicy, deadline);
        Path serverJar = ServerJar.locate();
        String serverSha = ServerJar.sha256(serverJar);
        // the JVM flags too: the image's class-data archive fits only the flags it was trained with
        String key = Hashes.sha256Hex(String.join("\n", base.getId(), serverSha, JreLinker.identity(), LAYOUT,
                String.join(" ", ServerLaunch.JVM_FLAGS)));
        String tag = REPOSITORY + ":" + tagPrefix(baseImage) + key.substring(0, 16);

        Optional<SandboxImage> existing = existing(tag, baseImage);
        if (existing.isPresent()) {
            return existing.get();
        }
        try (HeldLock ignored = lock(key, deadline)) {
            existing = existing(tag, baseImage);
            if (existing.isPresent()) {
                return existing.get();
            }
            return build(baseImage, base, serverJar, serverSha, tag, deadline);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot use the image build lock in " + lockDirectory, e);
        }
    }

    private InspectImageResponse inspectOrPull(String image, PullPolicy pullPolicy, Instant deadline) {
        try {
            return docker.inspectImageCmd(image).exec();
        } catch (NotFoundException e) {
            if (pullPolicy == PullPolicy.NEVER) {
                throw new RuntimeStartupException("Image '" + image + "' is not on the Docker daemon and the pull "
                        + "policy is NEVER. Build, load or import it first (docker build / docker load / docker import),"
                        + " check the spelling, or allow pulling with pullPolicy(IF_MISSING).", e);
            }
        } catch (DockerException e) {
            throw new RuntimeStartupException("Image name '" + image + "' was refused by the Docker daemon: "
                    + message(e) + ". Use a reference like debian:bookworm-slim or registry/repo:tag.", e);
        }
        progress.accept("Pulling " + image);
        try {
            String[] repoTag = splitTag(image);
            boolean completed = docker.pullImageCmd(repoTag[0]).withTag(repoTag[1])
                    .exec(new PullImageResultCallback())
                    .awaitCompletion(remainingMillis(deadline), TimeUnit.MILLISECONDS);
            if (!completed) {
                throw new RuntimeTimeoutException("Pulling image '" + image + "' did not finish before the startup "
                        + "deadline; pull it beforehand or raise startupTimeout.");
            }
            return docker.inspectImageCmd(image).exec();
        } catch (AgentRuntimeException e) {
            throw e;
        } catch (DockerException | DockerClientException e) {
            throw new RuntimeStartupException("Image '" + image + "' is not on the Docker daemon and pulling it "
                    + "failed: " + message(e) + ". Check the name, the registry login, or build/load the image "
                    + "locally.", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeStartupException("Interrupted while pulling image '" + image + "'", e);
        }
    }

    private Optional<SandboxImage> existing(String tag, String baseImage) {
        try {
            InspectImageResponse image = docker.inspectImageCmd(tag).exec();
            Map<String, String> labels = image.getConfig() == null || image.getConfig().getLabels() == null
                    ? Map.of() : image.getConfig().getLabels();
            String java = labels.get(Labels.JAVA);
            if (java == null) {
                return Optional.empty();
            }
            return Optional.of(new SandboxImage(tag, baseImage, java, "true".equals(labels.get(Labels.JRE_BUNDLED)),
                    "true".equals(labels.get(Labels.PYTHON3)), ClassDataTraining.ARCHIVE.equals(
                    labels.get(Labels.CLASS_DATA))));
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }

    private SandboxImage build(String baseImage, InspectImageResponse base, Path serverJar, String serverSha,
                               String tag, Instant deadline) {
        long started = System.nanoTime();
        progress.accept("Checking base image " + baseImage + " (bash, libc, Java)");
        Map<String, String> probe = probe(baseImage, base.getId(), deadline);
        String bash = probe.getOrDefault("bash", "");
        String libc = probe.getOrDefault("libc", "unknown");
        if (libc.equals("musl")) {
            throw new RuntimeStartupException("Image '" + baseImage + "' uses musl libc (Alpine?); the action "
                    + "server's Java runtime and terminal library need glibc. Use a Debian/Ubuntu-based image instead "
                    + "(e.g. python:3.12-slim rather than python:3.12-alpine).");
        }
        if (bash.isEmpty()) {
            throw new RuntimeStartupException("Image '" + baseImage + "' has no bash, which the sandbox's shell "
                    + "needs. Use a Debian/Ubuntu-based image (e.g. python:3.12-slim, debian:bookworm-slim) or install "
                    + "bash in it (apt-get install bash).");
        }
        Optional<String> baseJava = Optional.ofNullable(probe.get("java"))
                .filter(j -> javaSpec(probe.get("javaspec")) >= 17);
        boolean bundleJre = baseJava.isEmpty();
        String javaPath = baseJava.orElse(SandboxImage.BUNDLED_JAVA);

        try (BuildContext context = new BuildContext()) {
            context.file("runtime-server.jar", serverJar);
            if (bundleJre) {
                JreLinker.requireCompatible(docker.infoCmd().exec().getArchitecture(), "Image " + baseImage);
                progress.accept("Linking a Java runtime for " + baseImage + " (jlink " + String.join(",",
                        JreLinker.MODULES) + ")");
                Path jre = jreLinker.linkedRuntime();
                context.directory("jre", jre);
            }
            Map<String, String> labels = new LinkedHashMap<>(Labels.owned(Labels.ROLE_IMAGE));
            labels.put(Labels.BASE_IMAGE, baseImage);
            labels.put(Labels.BASE_IMAGE_ID, base.getId());
            labels.put(Labels.SERVER_SHA256, serverSha);
            labels.put(Labels.JAVA, javaPath);
            labels.put(Labels.JRE_BUNDLED, Boolean.toString(bundleJre));
            labels.put(Labels.PYTHON3, Boolean.toString("yes".equals(probe.get("python3"))));
            labels.put(Labels.CLASS_DATA, ClassDataTraining.ARCHIVE);
            String baseUser = base.getConfig() == null || base.getConfig().getUser() == null ? ""
                    : base.getConfig().getUser();
            context.text("Dockerfile", dockerfile(base.getId(), bundleJre, bash, javaPath, baseUser, labels));

            progress.accept("Building " + tag + " from " + baseImage + (bundleJre ? " with a bundled Java runtime"
                    : " using its own Java at " + javaPath));
            try (java.io.InputStream tar = context.toInputStream()) {
                String imageId = docker.buildImageCmd(tar)
                        .withTags(Set.of(tag))
                        .withPull(false)
                        .withRemove(true)
                        .withForcerm(true)
                        .exec(new BuildImageResultCallback() {
                            @Override
                            public void onNext(BuildResponseItem item) {
                                String stream = item.getStream();
                                if (stream != null && stream.startsWith("Step ")) {
                                    progress.accept(tag + ": " + abbreviate(stream.strip(), 160));
                                } else if (stream != null && stream.contains(ClassDataTraining.MARKER)) {
                                    // the training step's outcome: an archive made, or why none was
                                    stream.lines().filter(l -> l.contains(ClassDataTraining.MARKER))
                                            .forEach(l -> log.info("{}: {}", tag, l.strip()));
                                }
                                super.onNext(item);
                            }
                        })
                        .awaitImageId(Math.max(1, remainingMillis(deadline)), TimeUnit.MILLISECONDS);
                log.info("built {} ({}) from {} in {} ms", tag, imageId, baseImage,
                        Duration.ofNanos(System.nanoTime() - started).toMillis());
            } catch (DockerClientException | DockerException e) {
                throw new RuntimeStartupException("Building the sandbox image " + tag + " from '" + baseImage
                        + "' failed: " + message(e), e);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("Cannot read the build context of " + tag, e);
            }
        }
        return new SandboxImage(tag, baseImage, javaPath, bundleJre, "yes".equals(probe.get("python3")), true);
    }

    /**
     * The derived image's Dockerfile: the server jar, our Java runtime when the base has none, the class-data
     * training step ({@link ClassDataTraining}), then one LABEL instruction (the classic builder makes a layer-less
     * step, and a commit, per label otherwise). Files keep their modification times: the archive checks the jar's.
     */
    static String dockerfile(String baseId, boolean bundleJre, String bash, String javaPath, String baseUser,
                             Map<String, String> labels) {
        StringBuilder dockerfile = new StringBuilder("FROM ").append(baseId).append('\n');
        dockerfile.append("COPY runtime-server.jar ").append(SandboxImage.SERVER_JAR).append('\n');
        if (bundleJre) {
            dockerfile.append("COPY jre ").append(SandboxImage.HOME).append("/jre\n");
        }
        dockerfile.append(ClassDataTraining.dockerfileStep(bash, javaPath, bundleJre, baseUser));
        dockerfile.append("LABEL");
        labels.forEach((k, v) -> dockerfile.append(" \\\n  ").append(quote(k)).append('=').append(quote(v)));
        return dockerfile.append('\n').toString();
    }

    /** Runs the probe script in a throw-away container of the base image; returns its key=value lines. */
    private Map<String, String> probe(String baseImage, String baseId, Instant deadline) {
        Map<String, String> labels = new LinkedHashMap<>(Labels.owned(Labels.ROLE_PROBE));
        labels.put(Labels.BASE_IMAGE, baseImage);
        String id = null;
        try {
            id = docker.createContainerCmd(baseId)
                    .withEntrypoint("/bin/sh", "-c", PROBE)
                    .withCmd(List.of())
                    .withLabels(labels)
                    .withHostConfig(HostConfig.newHostConfig().withNetworkMode("none"))
                    .exec().getId();
            try {
                docker.startContainerCmd(id).exec();
            } catch (DockerException e) {
                String message = message(e);
                if (message.contains("/bin/sh") || message.contains("no such file")) {
                    throw new RuntimeStartupException("Image '" + baseImage + "' has no /bin/sh (and so no bash): it "
                            + "looks like a distroless or scratch image. The sandbox needs bash and glibc: use a "
                            + "Debian/Ubuntu-based image such as python:3.12-slim or debian:bookworm-slim.", e);
                }
                throw e;
            }
            Integer status = docker.waitContainerCmd(id).exec(new WaitContainerResultCallback())
                    .awaitStatusCode(Math.max(1, remainingMillis(deadline)), TimeUnit.MILLISECONDS);
            String output = logs(id);
            if (status == null || status != 0) {
                throw new RuntimeStartupException("Checking image '" + baseImage + "' failed: the probe exited with "
                        + status + ". Output:\n" + output);
            }
            Map<String, String> result = new LinkedHashMap<>();
            for (String line : output.split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    result.putIfAbsent(line.substring(0, eq).strip(), line.substring(eq + 1).strip());
                }
            }
            log.debug("probe of {}: {}", baseImage, result);
            return result;
        } catch (DockerClientException e) {
            throw new RuntimeStartupException("Checking image '" + baseImage + "' failed: " + message(e), e);
        } catch (DockerException e) {
            throw new BackendException("Checking image '" + baseImage + "' failed on the Docker daemon: "
                    + message(e), e);
        } finally {
            if (id != null) {
                try {
                    docker.removeContainerCmd(id).withForce(true).exec();
                } catch (DockerException e) {
                    log.debug("removing probe container {}: {}", id, e.toString());
                }
            }
        }
    }

    private String logs(String id) {
        StringBuilder out = new StringBuilder();
        try {
            docker.logContainerCmd(id).withStdOut(true).withStdErr(true).withFollowStream(false)
                    .exec(new ResultCallback.Adapter<Frame>() {
                        @Override
                        public void onNext(Frame frame) {
                            synchronized (out) {
                                out.append(new String(frame.getPayload(), StandardCharsets.UTF_8));
                            }
                        }
                    }).awaitCompletion(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (out) {
            return out.toString();
        }
    }

    private HeldLock lock(String key, Instant deadline) throws IOException {
        Files.createDirectories(lockDirectory);
        Path file = lockDirectory.resolve("image-" + key.substring(0, 16) + ".lock");
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        long pauseMillis = 10;
        boolean told = false;
        try {
            while (true) {
                try {
                    FileLock lock = channel.tryLock();
                    if (lock != null) {
                        return new HeldLock(channel);
                    }
                } catch (OverlappingFileLockException e) {
                    // another thread of this JVM is building the same image
                }
                if (Instant.now().isAfter(deadline)) {
                    throw new RuntimeTimeoutException("Another thread or process was still building the sandbox "
                            + "image when the startup deadline passed (lock " + file + ")");
                }
                if (!told) {
                    progress.accept("Waiting for another build of the same sandbox image to finish");
                    told = true;
                }
                Thread.sleep(pauseMillis); // back-off while another builder holds the lock
                pauseMillis = Math.min(pauseMillis * 2, 500);
            }
        } catch (InterruptedException e) {
            channel.close();
            Thread.currentThread().interrupt();
            throw new RuntimeStartupException("Interrupted while waiting for the image build lock " + file, e);
        } catch (RuntimeException | IOException e) {
            channel.close();
            throw e;
        }
    }

    /** The build lock: closing the channel releases it. */
    private record HeldLock(FileChannel channel) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** {@code agent-runtime-test/debian:bookworm} becomes {@code agent-runtime-test_debian_bookworm-}. */
    static String tagPrefix(String baseImage) {
        String cleaned = baseImage.replaceAll("@sha256:[0-9a-f]+", "").replaceAll("[^A-Za-z0-9_.-]", "_")
                .toLowerCase(Locale.ROOT);
        if (cleaned.length() > 60) {
            cleaned = cleaned.substring(cleaned.length() - 60);
        }
        cleaned = cleaned.replaceAll("^[^a-z0-9_]+", "");
        return cleaned.isEmpty() ? "" : cleaned + "-";
    }

    /** The first {@code max} characters of {@code text}: the training step's line is a whole script. */
    static String abbreviate(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max) + " ...";
    }

    private static String quote(String value) {
        return '"' + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + '"';
    }

    static int javaSpec(String spec) {
        if (spec == null || spec.isBlank()) {
            return 0;
        }
        String s = spec.strip();
        if (s.startsWith("1.")) {
            s = s.substring(2);
        }
        try {
            return Integer.parseInt(s.split("\\.")[0]);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** Splits {@code repo[:tag]} (a registry port is not a tag); digests stay in the repository part. */
    static String[] splitTag(String image) {
        int at = image.indexOf('@');
        if (at >= 0) {
            return new String[] {image, null};
        }
        int colon = image.lastIndexOf(':');
        if (colon > image.lastIndexOf('/')) {
            return new String[] {image.substring(0, colon), image.substring(colon + 1)};
        }
        return new String[] {image, "latest"};
    }

    private static long remainingMillis(Instant deadline) {
        return Math.max(0, Duration.between(Instant.now(), deadline).toMillis());
    }

    static String message(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.toString() : m.strip();
    }
}
