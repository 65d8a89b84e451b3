package dev.agentruntime.spi;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A running {@link AllocatorChild} JVM, driven through its stdin/stdout. */
final class ChildJvm implements AutoCloseable {

    private final String name;
    private final Process process;
    private final Path stderrFile;
    private final BufferedReader stdout;
    private final Writer stdin;

    private ChildJvm(String name, Process process, Path stderrFile) {
        this.name = name;
        this.process = process;
        this.stderrFile = stderrFile;
        this.stdout = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    }

    static ChildJvm start(Path workDir, String name, Path lockDir, PortRange range, int count) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = List.of(java,
                "-cp", System.getProperty("java.class.path"),
                "-Xmx64m", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=debug",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                AllocatorChild.class.getName(),
                lockDir.toString(), Integer.toString(range.first()), Integer.toString(range.last()),
                Integer.toString(count));
        Path stderrFile = workDir.resolve(name + ".stderr.log");
        try {
            Process process = new ProcessBuilder(command)
                    .redirectError(stderrFile.toFile())
                    .start();
            return new ChildJvm(name, process, stderrFile);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    /** Next stdout line (blocks); fails with the child's stderr if the stream ended. */
    String readLine() {
        try {
            String line = stdout.readLine();
            if (line == null) {
                throw new AssertionError(name + ": stdout ended unexpectedly" + diagnostics());
            }
            return line;
        } catch (IOException e) {
            throw new UncheckedIOException(name + ": cannot read stdout", e);
        }
    }

    void expectLine(String expected) {
        String line = readLine();
        if (!line.equals(expected)) {
            throw new AssertionError(name + ": expected '" + expected + "' but got '" + line + "'" + diagnostics());
        }
    }

    void send(String line) {
        try {
            stdin.write(line + "\n");
            stdin.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(name + ": cannot write stdin", e);
        }
    }

    void closeStdin() {
        try {
            stdin.close();
        } catch (IOException e) {
            throw new UncheckedIOException(name + ": cannot close stdin", e);
        }
    }

    int waitForExit() {
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(name + ": did not exit within 60 s" + diagnostics());
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(name + ": interrupted", e);
        }
    }

    String name() {
        return name;
    }

    String diagnostics() {
        try {
            return "\n--- stderr of " + name + " ---\n" + Files.readString(stderrFile);
        } catch (IOException e) {
            return "\n(no stderr of " + name + ": " + e + ")";
        }
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
