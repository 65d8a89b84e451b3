package dev.agentruntime.server.shell;

import dev.agentruntime.CmdOutputMetadata;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.ErrorObservation;
import dev.agentruntime.Observation;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code is_static} commands: a throw-away {@code bash -c} in the given directory, outside the persistent session
 * (OpenHands uses it for git helpers). Output is stdout and stderr merged.
 */
final class StaticShell {

    private StaticShell() {
    }

    static Observation run(CmdRunAction action, String directory, Map<String, String> environment, List<String> shell) {
        Path dir = Path.of(directory);
        if (!Files.isDirectory(dir)) {
            return ErrorObservation.of("Cannot run static command: directory " + directory + " does not exist.");
        }
        List<String> command = new ArrayList<>(shell);
        command.addAll(List.of("-c", action.command()));
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        builder.environment().clear();
        builder.environment().putAll(environment);
        builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        try {
            Process process = builder.start();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Thread pump = new Thread(() -> copy(process.getInputStream(), out), "agent-runtime-static-shell");
            pump.setDaemon(true);
            pump.start();
            long timeoutMs = action.timeout().map(java.time.Duration::toMillis).orElse(Long.MAX_VALUE);
            boolean finished = process.waitFor(timeoutMs, TimeUnit.MILLISECONDS);
            if (!finished) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
            pump.join(5000);
            String text;
            synchronized (out) {
                text = out.toString(StandardCharsets.UTF_8);
            }
            int exit = finished ? process.exitValue() : -1;
            String suffix = finished ? ShellMessages.completed(exit)
                    : ShellMessages.hardTimeout(ShellMessages.pythonFloat(timeoutMs / 1000.0));
            CmdOutputMetadata md = new CmdOutputMetadata(exit, -1, null, null, directory, null, "", suffix);
            return CmdOutputObservation.of(text.strip(), action.command(), md, action.hidden());
        } catch (IOException e) {
            return ErrorObservation.of("Cannot run static command: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ErrorObservation.of("Interrupted while running static command");
        }
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        byte[] buffer = new byte[8192];
        try {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                synchronized (out) {
                    out.write(buffer, 0, n);
                }
            }
        } catch (IOException ignored) {
            // process ended
        }
    }
}
