package dev.agentruntime.cli;

import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.Observation;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeFactory;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Runs one command in a fresh sandbox, prints its output on stdout and {@code [exit code N]} on stderr, and exits
 * with the command's exit code (124 when it timed out, 125 when the sandbox failed).
 */
@Command(name = "exec", mixinStandardHelpOptions = true,
        description = "Run one command in a fresh sandbox and print its output and exit code.")
final class ExecCommand implements Callable<Integer> {

    @Mixin
    SandboxOptions sandbox;

    @Option(names = "--timeout", defaultValue = "120",
            description = "Hard timeout for the command in seconds (default: ${DEFAULT-VALUE}).")
    double timeoutSeconds;

    @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "The command (words are joined with spaces).")
    List<String> command;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (Runtime runtime = RuntimeFactory.connect(sandbox.config().build())) {
            CmdRunAction action = CmdRunAction.of(String.join(" ", command))
                    .withTimeout(SandboxOptions.seconds(timeoutSeconds));
            Observation observation = runtime.execute(action);
            if (observation instanceof CmdOutputObservation output) {
                if (!output.content().isEmpty()) {
                    out.println(output.content());
                }
                out.flush();
                if (output.stillRunning()) {
                    err.println("[timed out after " + timeoutSeconds + " s; the command was still running]");
                    return 124;
                }
                err.println("[exit code " + output.exitCode() + "]");
                return output.exitCode();
            }
            err.println(observation.content());
            return 125;
        } catch (AgentRuntimeException e) {
            err.println("agent-runtime: " + e.getMessage());
            return 125;
        } finally {
            out.flush();
            err.flush();
        }
    }
}
