package dev.agentruntime.server.python;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.agentruntime.ErrorObservation;
import dev.agentruntime.IPythonRunCellAction;
import dev.agentruntime.IPythonRunCellObservation;
import dev.agentruntime.Observation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * The {@code run_ipython} engine: one persistent Python interpreter per kernel, so variables and imports survive from
 * cell to cell, with IPython's everyday behaviour (the last expression is displayed, exceptions show a traceback,
 * {@code !cmd} lines run in a shell) on a plain {@code python3} — no Jupyter or IPython needed in the image.
 *
 * <pre>{@code
 * try (PythonKernel kernel = new PythonKernel(workspace, Map.of())) {
 *     kernel.run(IPythonRunCellAction.of("x = 6 * 7"), shellCwd);
 *     kernel.run(IPythonRunCellAction.of("x"), shellCwd).content();   // "42\n[Jupyter current working directory: ...]..."
 * }
 * }</pre>
 *
 * <p>The interpreter starts on the first cell ({@code python3}, else {@code python}, from the {@code PATH} the kernel
 * runs with); a sandbox without Python gets an {@link ErrorObservation} saying so, never an exception. Before each cell
 * Python changes to the bash session's directory, as OpenHands re-syncs Jupyter to bash. A cell that runs past its
 * {@linkplain IPythonRunCellAction#timeout() hard timeout} is interrupted with {@code KeyboardInterrupt} and the kernel
 * keeps its state; only if it ignores the interrupt is the interpreter replaced. If the interpreter dies, the cell
 * reports it and the next cell starts a fresh one.
 *
 * <p>The Python half is {@code kernel_driver.py} next to this class; its header documents the frame protocol. Cells
 * run one at a time; {@link #close()} may be called from any thread and stops a running cell.
 */
public final class PythonKernel implements AutoCloseable {

    static final String NO_OUTPUT = "[Code executed successfully with no output]";
    private static final String DRIVER_RESOURCE = "kernel_driver.py";
    private static final Duration DEFAULT_INTERRUPT_GRACE = Duration.ofSeconds(5);
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(30);
    private static final int MAX_CRASH_OUTPUT_CHARS = 2_000;
    private static final Logger log = LoggerFactory.getLogger(PythonKernel.class);

    private final Path workingDir;
    private final Map<String, String> env;
    private final Duration interruptGrace;
    private final ObjectMapper json = new ObjectMapper();
    private final ReentrantLock cellLock = new ReentrantLock();
    private final Object stateLock = new Object();
    private Interpreter interpreter; // guarded by stateLock
    private Path scratchDir;         // guarded by stateLock
    private boolean closed;          // guarded by stateLock

    /**
     * @param workingDir where the interpreter starts (each cell then moves to the shell's directory)
     * @param env        variables added to, or overriding, this server's environment for the interpreter;
     *                   its {@code PATH} (else the server's) is where Python is looked for
     */
    public PythonKernel(Path workingDir, Map<String, String> env) {
        this(workingDir, env, DEFAULT_INTERRUPT_GRACE);
    }

    /** @param interruptGrace how long an interrupted cell may take to stop before the interpreter is replaced */
    PythonKernel(Path workingDir, Map<String, String> env, Duration interruptGrace) {
        this.workingDir = Objects.requireNonNull(workingDir, "workingDir");
        this.env = Map.copyOf(env);
        this.interruptGrace = Objects.requireNonNull(interruptGrace, "interruptGrace");
    }

    /**
     * Runs one cell and answers an {@link IPythonRunCellObservation}, or an {@link ErrorObservation} when Python is
     * missing, cannot start, or died during the cell.
     *
     * @param shellCwd the bash session's current directory, entered before the cell runs; {@code null} to stay put
     * @throws java.util.concurrent.CancellationException if the calling thread is interrupted meanwhile; the
     *                                                    interpreter is then stopped
     */
    public Observation run(IPythonRunCellAction action, Path shellCwd) {
        Objects.requireNonNull(action, "action");
        String cwd = shellCwd == null ? null : shellCwd.toString();
        cellLock.lock();
        try {
            Interpreter python = interpreter();
            String prefix = python.startNotice;
            python.startNotice = "";
            if (!python.initCodeRan && !action.kernelInitCode().isBlank()) {
                python.initCodeRan = true;
                Outcome init = execute(python, action.kernelInitCode(), cwd, action.hardTimeout());
                if (!(init instanceof Finished finished)) {
                    return observe(init, action, cwd);
                }
                if (finished.reply().path("error").asBoolean()) {
                    String output = finished.reply().path("output").asText().strip();
                    log.warn("kernel_init_code failed in Python kernel {}: {}", python.process.pid(), output);
                    prefix += "[kernel_init_code failed]\n" + output + "\n";
                }
            }
            return prefixed(prefix, observe(execute(python, action.code(), cwd, action.hardTimeout()), action, cwd));
        } catch (StartFailure failure) {
            return ErrorObservation.of(failure.getMessage());
        } finally {
            cellLock.unlock();
        }
    }

    /** Stops the interpreter and everything it started, and deletes the kernel's scratch files. Idempotent. */
    @Override
    public void close() {
        Interpreter python;
        Path scratch;
        synchronized (stateLock) {
            if (closed) {
                return;
            }
            closed = true;
            python = interpreter;
            scratch = scratchDir;
            interpreter = null;
        }
        if (python != null) {
            python.kill();
        }
        if (scratch != null) {
            deleteQuietly(scratch);
        }
    }

    private Outcome execute(Interpreter python, String code, String cwd, Duration timeout) {
        log.debug("Running a Python cell in kernel {}", python.process.pid());
        Outcome outcome = python.execute(code, cwd, timeout, interruptGrace);
        if (outcome instanceof Died || outcome instanceof TimedOut timedOut && timedOut.reply() == null) {
            synchronized (stateLock) {
                if (interpreter == python) {
                    interpreter = null; // the next cell starts a fresh one; this cell's answer says state was lost
                }
            }
        }
        return outcome;
    }

    // ---------------------------------------------------------------------------------------------- turning replies

    private Observation observe(Outcome outcome, IPythonRunCellAction action, String requestedCwd) {
        if (outcome instanceof Finished finished) {
            JsonNode reply = finished.reply();
            String output = reply.path("output").asText().stripTrailing();
            List<String> images = new ArrayList<>();
            reply.path("images").forEach(url -> images.add(url.asText()));
            String content = output.isEmpty() ? NO_OUTPUT : output;
            return cell(action, content, reply.path("cwd").asText(requestedCwd), reply.path("python").asText(),
                    images.isEmpty() ? null : images);
        }
        if (outcome instanceof TimedOut timedOut) {
            String content = "[Execution timed out (" + pythonFloat(action.hardTimeout()) + " seconds).]";
            if (timedOut.reply() == null) {
                content += "\n[The interpreter ignored the interrupt and was restarted: variables and imports from "
                        + "earlier cells are lost.]";
                return cell(action, content, requestedCwd, timedOut.executable(), null);
            }
            JsonNode reply = timedOut.reply();
            return cell(action, content, reply.path("cwd").asText(requestedCwd), reply.path("python").asText(), null);
        }
        Died died = (Died) outcome;
        synchronized (stateLock) {
            if (closed) {
                return ErrorObservation.of("The Python kernel was closed while the cell was running.");
            }
        }
        String message = "The Python interpreter exited with code " + died.exitCode() + " while running this cell. "
                + "A new interpreter will start with the next cell; variables and imports from earlier cells are lost.";
        if (!died.lastOutput().isBlank()) {
            message += "\nOutput before it exited:\n" + died.lastOutput().stripTrailing();
        }
        return ErrorObservation.of(message);
    }

    private static Observation cell(IPythonRunCellAction action, String content, String cwd, String python,
                                    List<String> images) {
        if (action.includeExtra()) {
            content += "\n[Jupyter current working directory: " + cwd + "]\n[Jupyter Python interpreter: " + python + "]";
        }
        return new IPythonRunCellObservation(content, action.code(), images);
    }

    private static Observation prefixed(String prefix, Observation observation) {
        if (prefix.isEmpty() || !(observation instanceof IPythonRunCellObservation cell)) {
            return observation;
        }
        return new IPythonRunCellObservation(prefix + cell.content(), cell.code(), cell.imageUrls());
    }

    /** A number of seconds the way Python prints a float: {@code 1.0}, {@code 2.5}, {@code 120.0}. */
    static String pythonFloat(Duration duration) {
        String plain = BigDecimal.valueOf(duration.toNanos(), 9).stripTrailingZeros().toPlainString();
        return plain.contains(".") ? plain : plain + ".0";
    }

    // ---------------------------------------------------------------------------------------------- the interpreter

    private Interpreter interpreter() throws StartFailure {
        String notice = "";
        Path scratch;
        synchronized (stateLock) {
            if (closed) {
                throw new StartFailure("The Python kernel is closed.");
            }
            if (interpreter != null) {
                if (interpreter.process.isAlive()) {
                    return interpreter;
                }
                notice = "[The previous Python interpreter exited between cells (code " + interpreter.process.exitValue()
                        + "); this cell runs in a new one: variables and imports from earlier cells are lost.]\n";
                interpreter.kill();
                interpreter = null;
            }
            if (scratchDir == null) {
                scratchDir = createScratchDir();
            }
            scratch = scratchDir;
        }
        Path python = findPython();
        Interpreter started = Interpreter.start(python, scratch, workingDir, env, json);
        started.startNotice = notice;
        synchronized (stateLock) {
            if (!closed) {
                interpreter = started;
                return started;
            }
        }
        started.kill();
        throw new StartFailure("The Python kernel is closed.");
    }

    private static Path createScratchDir() throws StartFailure {
        try {
            Path scratch = Files.createTempDirectory("agent-runtime-python-");
            try (InputStream driver = PythonKernel.class.getResourceAsStream(DRIVER_RESOURCE)) {
                Files.copy(Objects.requireNonNull(driver, DRIVER_RESOURCE), scratch.resolve(DRIVER_RESOURCE));
            }
            return scratch;
        } catch (IOException e) {
            throw new StartFailure("Could not prepare the Python kernel's scratch directory: " + e.getMessage());
        }
    }

    private Path findPython() throws StartFailure {
        String path = env.getOrDefault("PATH", Objects.requireNonNullElse(System.getenv("PATH"), ""));
        for (String name : List.of("python3", "python")) {
            for (String dir : path.split(File.pathSeparator)) {
                if (dir.isEmpty()) {
                    continue;
                }
                Path candidate = Path.of(dir, name);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
        }
        throw new StartFailure("Python is not available in this sandbox: no python3 on PATH (" + path
                + "). Install python3 in the image to use run_ipython.");
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(file -> file.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            log.debug("Could not delete {}", dir, e);
        }
    }

    /** Why the interpreter could not be had; its message is the error observation's text. */
    private static final class StartFailure extends Exception {
        StartFailure(String message) {
            super(message, null, false, false);
        }
    }

    private sealed interface Outcome permits Finished, TimedOut, Died {
    }

    private record Finished(JsonNode reply) implements Outcome {
    }

    /** {@code reply} is null when the interpreter ignored the interrupt and was killed. */
    private record TimedOut(JsonNode reply, String executable) implements Outcome {
    }

    private record Died(int exitCode, String lastOutput) implements Outcome {
    }

    /** One live {@code python3 -u kernel_driver.py} process and the two ends of its frame channel. */
    private static final class Interpreter {
        final Process process;
        final String executable;
        private final Path capture;
        private final ObjectMapper json;
        private final Writer requests;
        private final BlockingQueue<JsonNode> replies;
        // guarded by the kernel's cellLock:
        boolean initCodeRan;
        String startNotice = "";

        private Interpreter(Process process, String executable, Path capture, ObjectMapper json,
                            BlockingQueue<JsonNode> replies) {
            this.process = process;
            this.executable = executable;
            this.capture = capture;
            this.json = json;
            this.replies = replies;
            this.requests = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
        }

        static Interpreter start(Path python, Path scratch, Path workingDir, Map<String, String> env, ObjectMapper json)
                throws StartFailure {
            Path capture = scratch.resolve("output.log");
            ProcessBuilder builder = new ProcessBuilder(python.toString(), "-u",
                    scratch.resolve(DRIVER_RESOURCE).toString(), capture.toString())
                    .directory(workingDir.toFile())
                    .redirectError(ProcessBuilder.Redirect.appendTo(capture.toFile())); // until the driver takes fd 2
            builder.environment().putAll(env);
            Process process;
            try {
                Files.write(capture, new byte[0]);
                process = builder.start();
            } catch (IOException e) {
                throw new StartFailure("Could not start the Python kernel with " + python + " in " + workingDir + ": "
                        + e.getMessage());
            }
            BlockingQueue<JsonNode> replies = new LinkedBlockingQueue<>();
            Thread reader = new Thread(() -> readFrames(process, json, replies),
                    "agent-runtime-python-kernel-" + process.pid());
            reader.setDaemon(true);
            reader.start();

            JsonNode ready;
            try {
                ready = replies.poll(STARTUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                killTree(process);
                throw new CancellationException("Interrupted while the Python kernel was starting");
            }
            if (ready == null || !"ready".equals(ready.path("op").asText())) {
                String what = ready == null ? "did not become ready within " + STARTUP_TIMEOUT.toSeconds() + " s"
                        : "exited with code " + exitCode(process) + " before it was ready";
                killTree(process);
                throw new StartFailure("Could not start the Python kernel with " + python + ": it " + what + "."
                        + outputSuffix(tail(capture)));
            }
            String executable = ready.path("python").asText(python.toString());
            log.info("Started Python kernel {} (pid {})", executable, process.pid());
            return new Interpreter(process, executable, capture, json, replies);
        }

        /** Runs one cell; past {@code timeout} (none if null) interrupts it, and kills us if it will not stop. */
        Outcome execute(String code, String cwd, Duration timeout, Duration interruptGrace) {
            try {
                if (!send(json.createObjectNode().put("op", "run").put("code", code).put("cwd", cwd))) {
                    return died();
                }
                JsonNode reply = timeout == null ? replies.take()
                        : replies.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
                if (reply == null) {
                    send(json.createObjectNode().put("op", "interrupt"));
                    reply = replies.poll(interruptGrace.toNanos(), TimeUnit.NANOSECONDS);
                    if (reply == null) {
                        log.warn("Python kernel {} ignored the interrupt for {}; killing it", process.pid(), interruptGrace);
                        kill();
                        return new TimedOut(null, executable);
                    }
                    return reply.isMissingNode() ? died() : new TimedOut(reply, executable);
                }
                return reply.isMissingNode() ? died() : new Finished(reply);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                kill();
                throw new CancellationException("Interrupted while a Python cell was running; the interpreter "
                        + process.pid() + " was stopped");
            }
        }

        private boolean send(JsonNode frame) {
            try {
                requests.write(json.writeValueAsString(frame));
                requests.write('\n');
                requests.flush();
                return true;
            } catch (IOException e) {
                return false; // the interpreter is gone; the reader has queued the end of the stream
            }
        }

        private Died died() {
            int code = exitCode(process);
            log.info("Python kernel {} exited with code {}", process.pid(), code);
            kill();
            return new Died(code, tail(capture));
        }

        void kill() {
            killTree(process);
            try {
                requests.close();
            } catch (IOException ignored) {
                // the pipe is already broken: nothing to flush
            }
        }

        private static void killTree(Process process) {
            List<ProcessHandle> descendants = process.descendants().toList(); // before the parent dies and they move
            process.destroyForcibly();
            descendants.forEach(ProcessHandle::destroyForcibly);
        }

        private static int exitCode(Process process) {
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
                return process.isAlive() ? -1 : process.exitValue();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }

        private static void readFrames(Process process, ObjectMapper json, BlockingQueue<JsonNode> replies) {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    if (line.isBlank()) {
                        continue;
                    }
                    try {
                        replies.add(json.readTree(line));
                    } catch (IOException e) {
                        log.warn("Ignoring a malformed frame from Python kernel {}: {}", process.pid(), e.getMessage());
                    }
                }
            } catch (IOException e) {
                log.debug("Lost the frame channel of Python kernel {}", process.pid(), e);
            } finally {
                replies.add(MissingNode.getInstance()); // end of stream: the interpreter has gone
            }
        }

        /** The last output the interpreter wrote, for the message that reports its death. */
        private static String tail(Path capture) {
            try (RandomAccessFile file = new RandomAccessFile(capture.toFile(), "r")) {
                long start = Math.max(0, file.length() - 4 * MAX_CRASH_OUTPUT_CHARS);
                byte[] bytes = new byte[(int) (file.length() - start)];
                file.seek(start);
                file.readFully(bytes);
                String text = new String(bytes, StandardCharsets.UTF_8);
                return text.substring(Math.max(0, text.length() - MAX_CRASH_OUTPUT_CHARS));
            } catch (IOException e) {
                return "";
            }
        }

        private static String outputSuffix(String output) {
            return output.isBlank() ? "" : " Its output:\n" + output.stripTrailing();
        }
    }
}
