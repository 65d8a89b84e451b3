package dev.agentruntime.kubernetes;

import dev.agentruntime.spi.ServerBundle;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.function.Consumer;

/**
 * How to make the images the backend runs the server from, for a registry the cluster pulls from:
 * <ul>
 *   <li>a <b>server image</b> ({@link KubernetesConfig#serverImage()}): a small image holding only the server bundle
 *       (a {@code jlink}ed Java runtime and the server jar) at {@link KubernetesConfig#DEFAULT_SERVER_DIR}, which the
 *       pod's init container copies into an {@code emptyDir}; then any glibc-based sandbox image with bash works;</li>
 *   <li>or a <b>baked image</b>: the sandbox image with the bundle added, used without a server image.</li>
 * </ul>
 *
 * <pre>{@code
 * Path dir = KubernetesServerImage.writeBuildContext(Path.of("server-image"), "busybox:1.36", System.out::println);
 * // docker build -t registry.example/agent-runtime-server:<version> server-image
 * // docker push registry.example/agent-runtime-server:<version>
 * }</pre>
 *
 * The bundle's Java runtime is this JVM's platform's (Linux x86-64 or aarch64, glibc): build on the nodes'
 * architecture. The init container needs {@code sh} and {@code cp} in the server image (busybox has both).
 */
public final class KubernetesServerImage {

    /** The bundle's file name in a build context. */
    public static final String BUNDLE_FILE = "agent-runtime-server-bundle.tar.gz";

    private KubernetesServerImage() {
    }

    /** The Dockerfile of a server image on {@code base} (any image with {@code sh} and {@code cp}). */
    public static String serverDockerfile(String base, ServerBundle bundle) {
        return "FROM " + base + "\n" + bundle.dockerfileRecipe() + "LABEL agentruntime.dev/server-version="
                + bundle.serverVersion() + "\n";
    }

    /** The Dockerfile of a sandbox image on {@code base} (glibc, bash) with the server baked in. */
    public static String bakedDockerfile(String base, ServerBundle bundle) {
        return serverDockerfile(base, bundle);
    }

    /**
     * Writes {@code Dockerfile} and the bundle into {@code dir} (created when missing), ready for
     * {@code docker build}.
     *
     * @return {@code dir}
     */
    public static Path writeBuildContext(Path dir, String base, Consumer<String> progress) {
        ServerBundle bundle = ServerBundle.prepare(progress);
        try {
            Files.createDirectories(dir);
            Files.copy(bundle.archive(), dir.resolve(BUNDLE_FILE), StandardCopyOption.REPLACE_EXISTING);
            Files.writeString(dir.resolve("Dockerfile"), serverDockerfile(base, bundle));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the server image's build context to " + dir, e);
        }
    }

    /** {@code java -cp ... dev.agentruntime.kubernetes.KubernetesServerImage <dir> [base]}: writes a build context. */
    public static void main(String[] args) {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: KubernetesServerImage <dir> [base image, default busybox:1.36]");
            System.exit(2);
        }
        Path dir = writeBuildContext(Path.of(args[0]), args.length > 1 ? args[1] : "busybox:1.36", System.err::println);
        System.out.println("docker build -t <registry>/agent-runtime-server:<version> " + dir);
    }
}
