package dev.agentruntime.cli;

import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.Observation;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeFactory;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * An interactive session: each line is one action. While a command is still running (it timed out waiting for
 * output), the next line is sent to it as input ({@code is_input}); an empty line waits for more output;
 * {@code C-c}, {@code C-d}, {@code C-z} send those keys; {@code :exit} (or end of input) closes the sandbox.
 */
@Command(name = "shell", mixinStandardHelpOptions = true,
        description = "Open an interactive sandbox shell: each line is an action. While a command runs, lines are"
                + " its input; C-c / C-d / C-z send keys; an empty line waits for more output; :exit quits.")
final class ShellCommand implements Callable<Integer> {

    @Mixin
    SandboxOptions sandbox;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (Runtime runtime = RuntimeFactory.connect(sandbox.config().build())) {
            err.println("[sandbox " + runtime.id() + " ready; :exit to quit]");
            String cwd = "";
            boolean running = false;
            while (true) {
                out.print(running ? "> " : cwd + "$ ");
                out.flush();
                String line = in.readLine();
                if (line == null || line.strip().equals(":exit")) {
                    break;
                }
                boolean key = line.strip().matches("C-[a-zA-Z]");
                CmdRunAction action = running && !key && !line.isEmpty()
                        ? CmdRunAction.input(line) : CmdRunAction.of(line);
                if (!running && line.isBlank()) {
                    continue;
                }
                Observation observation = runtime.execute(action);
                if (observation instanceof CmdOutputObservation output) {
                    if (!output.metadata().prefix().isEmpty()) {
                        err.print(output.metadata().prefix());
                    }
                    if (!output.content().isEmpty()) {
                        out.println(output.content());
                    }
                    running = output.stillRunning();
                    if (output.metadata().workingDir() != null) {
                        cwd = output.metadata().workingDir();
                    }
                    String suffix = output.metadata().suffix().strip();
                    if (running && !suffix.isEmpty()) {
                        err.println(suffix);
                    } else if (output.exitCode() != 0) {
                        err.println("[exit code " + output.exitCode() + "]");
                    }
                } else {
                    err.println(observation.content());
                }
                out.flush();
                err.flush();
            }
            return 0;
        } catch (AgentRuntimeException e) {
            err.println("agent-runtime: " + e.getMessage());
            return 125;
        }
    }
}
