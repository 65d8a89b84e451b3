package dev.agentruntime.docker;

import java.util.Objects;

/**
 * A locally built image that runs the action server: a user's base image plus the server jar and, when the base has
 * no Java 17+, a {@code jlink}ed Java runtime. Made by {@link DockerSandboxes#prepareImage(DockerRuntimeConfig)},
 * built once per base image and server version and cached under a content-hash tag.
 *
 * <p>Start a container from it with a {@link dev.agentruntime.spi.ServerLaunch} of {@link #javaPath()} and
 * {@link #SERVER_JAR} as its entry point and environment, and wait for the launch's ready line on its standard
 * output.
 *
 * @param name       the image reference, {@code agent-runtime/sandbox:<base>-<hash>}
 * @param baseImage  the base image it was made from
 * @param javaPath   the {@code java} executable inside the image
 * @param jreBundled whether the image carries our Java runtime (false: the base image's Java is used)
 * @param python3    whether the base image has {@code python3} (IPython cells need it)
 * @param classData  whether the image was built with the class-data training step: the server then starts with
 *                   {@code -XX:SharedArchiveFile=}{@value #CLASS_DATA_ARCHIVE} (the JVM's default archive, linked
 *                   there, when the training made none)
 */
public record SandboxImage(String name, String baseImage, String javaPath, boolean jreBundled, boolean python3,
                           boolean classData) {

    /** The action server's port inside the container. */
    public static final int SERVER_PORT = 60000;
    /** The port reserved for VS Code inside the container. */
    public static final int VSCODE_PORT = 60001;
    /** The two application ports inside the container, published like the server's and listed by webHosts(). */
    public static final int APP_PORT_1 = 60002;
    public static final int APP_PORT_2 = 60003;
    /** Where the image keeps what we add. */
    public static final String HOME = "/opt/agent-runtime";
    public static final String SERVER_JAR = HOME + "/runtime-server.jar";
    public static final String BUNDLED_JAVA = HOME + "/jre/bin/java";
    /** The action server's class-data archive in images with {@link #classData()}. */
    public static final String CLASS_DATA_ARCHIVE = HOME + "/runtime-server.jsa";

    public SandboxImage {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(baseImage, "baseImage");
        Objects.requireNonNull(javaPath, "javaPath");
    }

    /** An image without a class-data archive (built before the training step existed). */
    public SandboxImage(String name, String baseImage, String javaPath, boolean jreBundled, boolean python3) {
        this(name, baseImage, javaPath, jreBundled, python3, false);
    }
}
