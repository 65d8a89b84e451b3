package dev.agentruntime.cli;

import dev.agentruntime.spi.ServerBundle;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code image recipe}: how to bake the action server into an image (an E2B template, a Daytona snapshot, a Runloop
 * blueprint, a Modal or Kubernetes image), so that a sandbox starts without uploading the server bundle.
 */
@Command(name = "image", mixinStandardHelpOptions = true,
        description = "Images with the action server baked in (no bundle upload at each sandbox start).",
        subcommands = ImageCommands.Recipe.class)
final class ImageCommands {

    static final String BUNDLE_FILE = "agent-runtime-server-bundle.tar.gz";

    @Command(name = "recipe", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Print the Dockerfile lines that bake this build's action server into an image, or with"
                    + " --dir write a ready build context (Dockerfile + server bundle).",
                    "The vendor backends find a baked server and skip the upload; see each backend's README for"
                            + " turning the image into a template, snapshot or blueprint."})
    static final class Recipe implements Callable<Integer> {

        @Option(names = {"-d", "--dir"}, description = "Write Dockerfile and " + BUNDLE_FILE + " into this directory"
                + " (created if missing).")
        Path dir;

        @Option(names = "--from", defaultValue = "debian:bookworm-slim",
                description = "Base image of the written Dockerfile (default: ${DEFAULT-VALUE}); any glibc image"
                        + " with bash.")
        String from;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try {
                ServerBundle bundle = ServerBundle.prepare(step -> err.println("agent-runtime: " + step));
                if (dir == null) {
                    out.println("# Put " + bundle.archive() + " next to your Dockerfile as " + BUNDLE_FILE
                            + " (" + bundle.size() + " bytes) and add:");
                    out.print(bundle.dockerfileRecipe());
                    return 0;
                }
                Files.createDirectories(dir);
                Path dockerfile = dir.resolve("Dockerfile");
                if (Files.exists(dockerfile)) {
                    err.println("agent-runtime: " + dockerfile + " exists; not overwriting it (add the lines of"
                            + " `image recipe` without --dir to it instead)");
                    return 2;
                }
                Files.copy(bundle.archive(), dir.resolve(BUNDLE_FILE), StandardCopyOption.REPLACE_EXISTING);
                Files.writeString(dockerfile, "FROM " + from + "\n" + bundle.dockerfileRecipe());
                out.println("Wrote " + dockerfile + " and " + dir.resolve(BUNDLE_FILE) + " (" + bundle.size()
                        + " bytes). Build it with: docker build -t my-sandbox " + dir);
                return 0;
            } catch (IOException | UncheckedIOException e) {
                err.println("agent-runtime: cannot write the recipe: " + e.getMessage());
                return 1;
            } finally {
                out.flush();
                err.flush();
            }
        }
    }
}
