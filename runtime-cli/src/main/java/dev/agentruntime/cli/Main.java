package dev.agentruntime.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine;

/** {@code java -jar agent-runtime.jar exec 'echo hello'} or {@code ... shell}. */
@Command(name = "agent-runtime", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Sandboxes for AI agents: run commands in a persistent sandbox shell.",
        subcommands = {ExecCommand.class, ShellCommand.class, HousekeepingCommands.List_.class,
                HousekeepingCommands.Remove.class, HousekeepingCommands.Reap.class, ImageCommands.class})
public final class Main {

    public static void main(String[] args) {
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        System.exit(run(args));
    }

    /** Runs the CLI and returns the process exit code (for tests). */
    static int run(String... args) {
        return new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"agent-runtime " + (version == null ? "(development build)" : version)};
        }
    }
}
