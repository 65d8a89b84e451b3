package dev.agentruntime.docker;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A locally built image that runs the action server: a user's base image plus the server jar and, when the base has
 * no Java 17+, a {@code jlink}ed Java runtime. Made by {@link DockerSandboxes#prepareImage(DockerRuntimeConfig)},
 * built once per base image and server version and cached under a content-hash tag.
 *
 * <p>Start a container from it with {@link #serverCommand(int, String, Optional)} as its entry point, the
 * environment variable {@code SESSION_API_KEY}, and wait for the line {@value #READY_LINE_PREFIX}{@code <port>} on
 * its standard output.
 *
 * @param name       the image reference, {@code agent-runtime/sandbox:<base>-<hash>}
 * @param baseImage  the base image it was made from
 * @param javaPath   the {@code java} executable inside the image
 * @param jreBundled whether the image carries our Java runtime (false: the base image's Java is used)
 * @param python3    whether the base image has {@code python3} (IPython cells need it)
 */
public record SandboxImage(String name, String baseImage, String javaPath, boolean jreBundled, boolean python3) {

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
    /** The server prints this followed by its port once the shell is ready. */
    public static final String READY_LINE_PREFIX = "agent-runtime-server ready on port ";

    /**
     * Flags for the server's JVM, kept small: one sandbox's server needs ~40 MB, and 32 of them share a CI machine.
     */
    public static final List<String> SERVER_JVM_FLAGS = List.of(
            "-XX:+UseSerialGC", "-Xms16m", "-Xmx64m", "-XX:TieredStopAtLevel=1", "-Xss512k",
            "-XX:MaxMetaspaceSize=64m", "-Xshare:auto", "-Dsun.net.httpserver.nodelay=true");

    public SandboxImage {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(baseImage, "baseImage");
        Objects.requireNonNull(javaPath, "javaPath");
    }

    /**
     * The command that starts the server in a container of this image.
     *
     * @param port       the port the server listens on inside the container
     * @param workingDir the shell's start directory (created when missing)
     * @param user       the user the shell runs as; the container must then run as root
     */
    public List<String> serverCommand(int port, String workingDir, Optional<SandboxUser> user) {
        List<String> command = new ArrayList<>();
        command.add(javaPath);
        command.addAll(SERVER_JVM_FLAGS);
        command.add("-jar");
        command.add(SERVER_JAR);
        command.add(Integer.toString(port));
        command.add("--working-dir");
        command.add(workingDir);
        user.ifPresent(u -> {
            command.add("--username");
            command.add(u.name());
            command.add("--user-id");
            command.add(Integer.toString(u.uid()));
        });
        return List.copyOf(command);
    }
}
