package dev.agentruntime.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.Observation;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Runs one command in a fresh sandbox, prints its output on stdout as it arrives and {@code [exit code N]} on stderr,
 * and exits with the command's exit code (124 when it timed out, 125 when the sandbox failed, 130 on Ctrl-C). With
 * {@code --json} it prints one JSON object instead, for scripts.
 */
@Command(name = "exec", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run one command in a fresh sandbox, print its output as it arrives, and exit with its exit code.",
                "Exit codes: the command's own; 124 when it did not finish in time; 125 when the sandbox could not run"
                        + " it; 130 when interrupted with Ctrl-C."})
final class ExecCommand implements Callable<Integer> {

    static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    SandboxOptions sandbox;

    @Option(names = "--timeout", defaultValue = "120", paramLabel = "SECONDS",
            description = "Stop waiting for the command after this many seconds (default: ${DEFAULT-VALUE}).")
    double timeoutSeconds;

    @Option(names = "--json", description = "Print one JSON object (session, command, exit_code, timed_out,"
            + " working_dir, output) instead of the output, and no progress.")
    boolean json;

    @Option(names = "--full", description = "With --json: the whole output as the terminal showed it. Without it,"
            + " \"output\" is what an agent sees: cleaned, and cut in the middle beyond 30,000 characters."
            + " (Without --json the whole output is always printed as it arrives.)")
    boolean full;

    private volatile boolean interrupted;

    @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "The command (words are joined with spaces).")
    List<String> command;

    @Override
    public Integer call() {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false,
                StandardCharsets.UTF_8);
        PrintStream err = System.err;
        String text = String.join(" ", command);
        Progress progress = new Progress(err, !json && System.console() != null);
        RuntimeConfig config = sandbox.config().statusListener(progress).build();
        Runtime[] opened = new Runtime[1];
        Thread cleanup = new Thread(() -> {
            // Ctrl-C or a kill: the fresh sandbox must not outlive the command
            Runtime runtime = opened[0];
            if (runtime != null) {
                interrupted = true;
                progress.close();
                err.println();
                err.println("agent-runtime: interrupted; removing the sandbox");
                runtime.close();
            }
        }, "agent-runtime-cli-cleanup");
        java.lang.Runtime.getRuntime().addShutdownHook(cleanup);
        try (Runtime runtime = RuntimeFactory.create(config)) {
            opened[0] = runtime;
            runtime.connect();
            progress.close();
            CmdRunAction action = CmdRunAction.of(text).withTimeout(SandboxOptions.seconds(timeoutSeconds));
            StringBuilder streamed = new StringBuilder();
            boolean[] printed = {false};
            Observation observation = runtime.execute(action, chunk -> {
                if (json) {
                    if (full) {
                        streamed.append(chunk);
                    }
                } else {
                    printed[0] = true;
                    out.print(chunk);
                    out.flush();
                }
            });
            opened[0] = null;
            if (interrupted) {
                return 130; // the shutdown hook closed the sandbox under the command: nothing more to say
            }
            if (!(observation instanceof CmdOutputObservation output)) {
                return failed(out, err, text, "the sandbox did not run the command: " + observation.content());
            }
            boolean timedOut = output.stillRunning();
            if (json) {
                ObjectNode result = JSON.createObjectNode();
                result.put("session", runtime.id());
                result.put("type", config.type());
                result.put("command", text);
                if (timedOut) {
                    result.putNull("exit_code");
                } else {
                    result.put("exit_code", output.exitCode());
                }
                result.put("timed_out", timedOut);
                result.put("working_dir", output.metadata().workingDir());
                result.put("output", full && streamed.length() > 0 ? streamed.toString() : output.content());
                out.println(JSON.writeValueAsString(result));
            } else if (!printed[0] && !output.content().isEmpty()) {
                out.println(output.content()); // a server that does not stream: the output comes at the end
            }
            out.flush();
            if (timedOut) {
                err.println("[did not finish within " + SandboxOptions.format(timeoutSeconds)
                        + " s; stopped with the sandbox]");
                return 124;
            }
            if (!json) {
                err.println("[exit code " + output.exitCode() + "]");
            }
            return output.exitCode();
        } catch (AgentRuntimeException e) {
            progress.close();
            if (interrupted) {
                return 130;
            }
            return failed(out, err, text, e.getMessage());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        } finally {
            opened[0] = null;
            try {
                java.lang.Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running
            }
            out.flush();
            err.flush();
        }
    }

    private int failed(PrintStream out, PrintStream err, String text, String message) {
        if (json) {
            ObjectNode result = JSON.createObjectNode();
            result.put("command", text);
            result.put("error", message);
            out.println(result);
            out.flush();
        }
        err.println("agent-runtime: " + message);
        return 125;
    }
}
