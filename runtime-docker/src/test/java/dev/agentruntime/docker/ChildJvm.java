package dev.agentruntime.docker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A second JVM running {@link SandboxChild} on this test's class path; its stderr goes to a file for diagnostics. */
final class ChildJvm implements AutoCloseable {

    private final Process process;
    private final BufferedReader stdout;
    private final Path stderr;

    private ChildJvm(Process process, Path stderr) {
        this.process = process;
        this.stdout = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.stderr = stderr;
    }

    static ChildJvm start(String... args) {
        try {
            Path stderr = Files.createTempFile("agent-runtime-child-", ".log");
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"),
                    "-Dagent.runtime.server.jar=" + System.getProperty("agent.runtime.server.jar", ""),
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
                    SandboxChild.class.getName()));
            if (System.getProperty("agent.runtime.server.jar") == null) {
                command.remove(3);
            }
            command.addAll(List.of(args));
            Process process = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
            return new ChildJvm(process, stderr);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    long pid() {
        return process.pid();
    }

    Process process() {
        return process;
    }

    /** The next line the child prints, waiting at most until the deadline. */
    String readLine(Duration timeout) {
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                return stdout.readLine();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        try {
            String result = line.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (result == null) {
                throw new AssertionError("child JVM ended without printing the expected line; exit "
                        + exitCodeOrRunning() + "; stderr:\n" + stderr());
            }
            return result;
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("child JVM printed nothing within " + timeout + "; stderr:\n" + stderr());
        } catch (Exception e) {
            throw new AssertionError("reading from the child JVM failed: " + e + "; stderr:\n" + stderr(), e);
        }
    }

    /** Lines until the child's stdout closes. */
    List<String> readAll(Instant deadline) {
        List<String> lines = new ArrayList<>();
        while (true) {
            Duration left = Duration.between(Instant.now(), deadline);
            if (left.isNegative()) {
                throw new AssertionError("child JVM still running at the deadline; got " + lines + "; stderr:\n"
                        + stderr());
            }
            CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
                try {
                    return stdout.readLine();
                } catch (IOException e) {
                    return null;
                }
            });
            try {
                String next = line.get(left.toMillis(), TimeUnit.MILLISECONDS);
                if (next == null) {
                    return lines;
                }
                lines.add(next);
            } catch (Exception e) {
                throw new AssertionError("child JVM: " + e + "; got " + lines + "; stderr:\n" + stderr(), e);
            }
        }
    }

    void send(String line) {
        try {
            process.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
            process.getOutputStream().flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int waitFor(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("child JVM did not exit within " + timeout + "; stderr:\n" + stderr());
        }
        return process.exitValue();
    }

    String stderr() {
        try {
            List<String> lines = Files.readAllLines(stderr);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    private String exitCodeOrRunning() {
        return process.isAlive() ? "(running)" : Integer.toString(process.exitValue());
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            Files.deleteIfExists(stderr);
        } catch (IOException ignored) {
            // temp file
        }
    }
}
