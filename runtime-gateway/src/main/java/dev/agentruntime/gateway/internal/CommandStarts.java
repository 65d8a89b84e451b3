package dev.agentruntime.gateway.internal;

import com.github.dockerjava.api.command.CreateContainerCmd;
import dev.agentruntime.docker.SandboxImage;
import dev.agentruntime.spi.ServerLaunch;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * OpenHands-shaped starts on Docker: the {@code /start}'s own {@code command} (OpenHands' action server in an
 * OpenHands runtime image) runs as given, in its {@code working_dir}, instead of our server. The Docker backend still
 * makes the container (labels, ports, environment with {@code SESSION_API_KEY}, limits) and waits for a ready line;
 * a small bash wrapper prints that line once the command's server accepts connections on the server port
 * ({@value SandboxImage#SERVER_PORT}, OpenHands' remote port too), and ends with the command's exit code if it dies
 * first, so a broken command fails the start with its own output.
 */
final class CommandStarts {

    /** Runs the command ("$@"), waits until its port accepts connections, prints the ready line, waits for it. */
    static final String WRAPPER = "\"$@\" & server=$!\n"
            + "until (exec 3<>/dev/tcp/127.0.0.1/" + SandboxImage.SERVER_PORT + ") 2>/dev/null; do\n"
            + "  if ! kill -0 \"$server\" 2>/dev/null; then wait \"$server\"; exit $?; fi\n"
            + "  sleep 0.1\n"
            + "done\n"
            + "echo '" + ServerLaunch.READY_LINE_PREFIX + SandboxImage.SERVER_PORT + "'\n"
            + "wait \"$server\"\n";

    private CommandStarts() {
    }

    static Consumer<CreateContainerCmd> customizer(List<String> command, Optional<String> workingDir) {
        List<String> entrypoint = new ArrayList<>(List.of("/bin/bash", "-c", WRAPPER, "agent-runtime-command"));
        entrypoint.addAll(command);
        List<String> fixed = List.copyOf(entrypoint);
        return create -> {
            create.withEntrypoint(fixed).withCmd(List.of());
            workingDir.ifPresent(create::withWorkingDir);
        };
    }
}
