package dev.agentruntime.cli;

import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.Observation;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Attributes;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.utils.NonBlockingReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * An interactive sandbox shell in the terminal: line editing and history at the prompt (JLine), the command's output
 * shown as it arrives, keys typed while a command runs sent to it (Ctrl-C, Ctrl-D, Ctrl-Z, Ctrl-\ as keys, lines as
 * input), and {@code exit} or Ctrl-D at the prompt to leave with the last command's exit code.
 *
 * <p>A running command is watched in short slices ({@link #SLICE}): actions run one at a time on the server, so a
 * key waits at most one slice to be sent. The output stream is gapless across slices.
 */
@Command(name = "shell", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Open an interactive shell in a fresh sandbox (or the one of --session-id).",
                "Line editing and history (arrow keys) at the prompt; output appears as it arrives. While a command"
                        + " runs, Ctrl-C interrupts it and typed lines are its input. exit [N] or Ctrl-D at the prompt"
                        + " leaves, with the last command's exit code (or N)."})
final class ShellCommand implements Callable<Integer> {

    /** How long one watching action lasts while a command runs: the longest a key waits to be sent. */
    static final Duration SLICE = Duration.ofMillis(300);
    private static final Pattern EXIT = Pattern.compile("\\s*(?:exit|logout|:exit)(?:\\s+(\\d{1,3}))?\\s*");

    @Mixin
    SandboxOptions sandbox;

    @Option(names = "--history", paramLabel = "FILE",
            description = "Where to keep the command history (default: ~/.agent-runtime/history).")
    Path history;

    @Override
    public Integer call() throws IOException {
        try (Terminal terminal = TerminalBuilder.builder().name("agent-runtime").system(true).dumb(true).nativeSignals(true)
                .signalHandler(Terminal.SignalHandler.SIG_IGN).build()) {
            boolean interactive = !Terminal.TYPE_DUMB.equals(terminal.getType())
                    && !Terminal.TYPE_DUMB_COLOR.equals(terminal.getType());
            PrintWriter out = terminal.writer();
            Path historyFile = history != null ? history
                    : Path.of(System.getProperty("user.home"), ".agent-runtime", "history");
            Files.createDirectories(historyFile.toAbsolutePath().getParent());
            LineReader reader = LineReaderBuilder.builder().terminal(terminal).appName("agent-runtime")
                    .variable(LineReader.HISTORY_FILE, historyFile)
                    .option(LineReader.Option.DISABLE_EVENT_EXPANSION, true) // `!` reaches bash as typed
                    .variable(LineReader.BLINK_MATCHING_PAREN, 0) // as in bash: no pause after `)`
                    .build();
            bindCursorKeys(reader);
            Progress progress = new Progress(System.err, interactive);
            RuntimeConfig config = sandbox.config().statusListener(progress).build();
            try (Runtime runtime = RuntimeFactory.connect(config)) {
                progress.close();
                out.println("Sandbox " + runtime.id() + " (" + config.type() + ") is ready. Ctrl-C interrupts the"
                        + " running command; exit or Ctrl-D leaves.");
                out.flush();
                return new Session(runtime, terminal, reader, out, interactive).loop();
            } catch (AgentRuntimeException e) {
                progress.close();
                System.err.println("agent-runtime: " + e.getMessage());
                return 125;
            } finally {
                reader.getHistory().save();
            }
        }
    }

    /**
     * The arrow, Home and End keys in both forms terminals send them (keypad mode {@code ESC O A}, normal mode
     * {@code ESC [ A}): JLine binds the terminfo form only, and a terminal that ignores keypad mode would type text.
     */
    private static void bindCursorKeys(LineReader reader) {
        org.jline.keymap.KeyMap<org.jline.reader.Binding> main = reader.getKeyMaps().get(LineReader.MAIN);
        String[][] keys = {{"A", LineReader.UP_LINE_OR_HISTORY}, {"B", LineReader.DOWN_LINE_OR_HISTORY},
                {"C", LineReader.FORWARD_CHAR}, {"D", LineReader.BACKWARD_CHAR}, {"H", LineReader.BEGINNING_OF_LINE},
                {"F", LineReader.END_OF_LINE}};
        for (String[] key : keys) {
            main.bind(new org.jline.reader.Reference(key[1]), "\033[" + key[0]);
            main.bind(new org.jline.reader.Reference(key[1]), "\033O" + key[0]);
        }
    }

    /** One interactive session: the prompt loop and the running command's watch loop. */
    private static final class Session {
        private final Runtime runtime;
        private final Terminal terminal;
        private final LineReader reader;
        private final PrintWriter out;
        private String cwd = "";
        private int lastExit;
        private boolean inputClosed;
        private boolean lineOpen; // the output so far did not end with a newline

        private final boolean interactive;

        Session(Runtime runtime, Terminal terminal, LineReader reader, PrintWriter out, boolean interactive) {
            this.interactive = interactive;
            this.runtime = runtime;
            this.terminal = terminal;
            this.reader = reader;
            this.out = out;
        }

        int loop() {
            CmdOutputObservation where = runtime.run(CmdRunAction.of("pwd"));
            cwd = where.metadata().workingDir() != null ? where.metadata().workingDir() : where.content();
            while (true) {
                String line;
                try {
                    line = reader.readLine(prompt());
                } catch (UserInterruptException e) {
                    continue; // Ctrl-C at the prompt: a fresh prompt, as in bash
                } catch (EndOfFileException e) {
                    out.println();
                    out.flush();
                    return lastExit;
                }
                Matcher exit = EXIT.matcher(line);
                if (exit.matches()) {
                    return exit.group(1) != null ? Integer.parseInt(exit.group(1)) & 0xFF : lastExit;
                }
                if (line.isBlank()) {
                    continue;
                }
                run(line);
            }
        }

        private String prompt() {
            String where = cwd.isEmpty() ? "sandbox" : cwd;
            return where + (lastExit == 0 ? "" : " [" + lastExit + "]") + "$ ";
        }

        /** Runs one command, showing its output and sending keys and input to it until it ends. */
        private void run(String command) {
            Attributes saved = terminal.getAttributes();
            Attributes raw = new Attributes(saved);
            raw.setLocalFlags(java.util.EnumSet.of(Attributes.LocalFlag.ICANON, Attributes.LocalFlag.ECHO,
                    Attributes.LocalFlag.IEXTEN, Attributes.LocalFlag.ISIG), false); // Ctrl-C arrives as a key
            raw.setInputFlags(java.util.EnumSet.of(Attributes.InputFlag.IXON, Attributes.InputFlag.ICRNL,
                    Attributes.InputFlag.INLCR), false);
            terminal.setAttributes(raw);
            Terminal.SignalHandler previous = terminal.handle(Terminal.Signal.INT, signal -> interrupts++);
            lineOpen = false;
            try {
                CmdRunAction action = CmdRunAction.of(command).withTimeout(SLICE);
                boolean started = false; // typed text is the command's input only once it is known to be running
                Deque<CmdRunAction> queued = new ArrayDeque<>();
                StringBuilder typed = new StringBuilder();
                while (true) {
                    CompletableFuture<Observation> answer = runtime.executeAsync(action, this::show);
                    Observation observation = watch(answer, started, queued, typed);
                    if (!(observation instanceof CmdOutputObservation output)) {
                        endLine();
                        out.println("agent-runtime: " + observation.content());
                        lastExit = 1;
                        return;
                    }
                    if (output.metadata().workingDir() != null && !output.metadata().workingDir().isEmpty()) {
                        cwd = output.metadata().workingDir();
                    }
                    if (!output.stillRunning()) {
                        endLine();
                        lastExit = output.exitCode();
                        return;
                    }
                    started = true;
                    action = queued.isEmpty() ? CmdRunAction.of("").withTimeout(SLICE) : queued.poll();
                }
            } catch (AgentRuntimeException e) {
                endLine();
                out.println("agent-runtime: " + e.getMessage());
                lastExit = 125;
            } finally {
                out.flush();
                terminal.handle(Terminal.Signal.INT, previous);
                terminal.setAttributes(saved);
            }
        }

        private volatile int interrupts;

        /** Waits for one action, meanwhile reading keys; returns its observation. */
        private Observation watch(CompletableFuture<Observation> answer, boolean started, Deque<CmdRunAction> queued,
                                  StringBuilder typed) {
            NonBlockingReader keys = terminal.reader();
            while (true) {
                try {
                    return answer.get(20, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    // not yet: look at the keyboard
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof AgentRuntimeException failure) {
                        throw failure;
                    }
                    throw new IllegalStateException(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
                while (interrupts > 0) {
                    interrupts--;
                    queued.add(key('c'));
                }
                if (inputClosed) {
                    continue;
                }
                try {
                    int next = keys.peek(1);
                    if (next == NonBlockingReader.EOF) {
                        inputClosed = true;
                        continue;
                    }
                    if (next < 0) {
                        continue;
                    }
                    boolean control = next == 3 || next == 4 || next == 26 || next == 28;
                    if (!control && !started) {
                        continue; // typed ahead of a command that may finish at once: it is the next prompt's
                    }
                    if (!interactive && !control) {
                        if (queued.isEmpty()) { // piped: one line per watch, so lines after the command's end stay
                            queued.add(CmdRunAction.input(readLine(keys)).withTimeout(SLICE));
                        }
                        continue;
                    }
                    keys.read();
                    typedKey(next, queued, typed);
                } catch (IOException e) {
                    inputClosed = true;
                }
            }
        }

        /** The next line of piped input, without its line end. */
        private String readLine(NonBlockingReader keys) throws IOException {
            StringBuilder line = new StringBuilder();
            int c;
            while ((c = keys.read()) >= 0 && c != '\n') {
                if (c != '\r') {
                    line.append((char) c);
                }
            }
            if (c < 0) {
                inputClosed = true;
            }
            return line.toString();
        }

        private void typedKey(int c, Deque<CmdRunAction> queued, StringBuilder typed) {
            switch (c) {
                case 3 -> {
                    out.print("^C"); // as a terminal shows it; bash's own line follows
                    out.flush();
                    queued.add(key('c'));
                }
                case 4 -> queued.add(typed.length() > 0 ? input(typed) : key('d'));
                case 26 -> queued.add(key('z'));
                case 28 -> queued.add(key('\\'));
                case '\r', '\n' -> queued.add(input(typed));
                case 127, 8 -> {
                    if (typed.length() > 0) {
                        typed.setLength(typed.length() - 1);
                        out.print("\b \b");
                        out.flush();
                    }
                }
                default -> {
                    if (c >= 32 || c == '\t') {
                        typed.append((char) c);
                        out.print((char) c); // shown while typing; the sandbox's terminal echoes it once sent
                        out.flush();
                    }
                }
            }
        }

        /** The typed line as input; its local echo is erased, the sandbox's terminal shows it instead. */
        private CmdRunAction input(StringBuilder typed) {
            String text = typed.toString();
            out.print("\b \b".repeat(text.length()));
            out.flush();
            typed.setLength(0);
            return CmdRunAction.input(text).withTimeout(SLICE);
        }

        private static CmdRunAction key(char letter) {
            return CmdRunAction.input("C-" + letter).withTimeout(SLICE);
        }

        /** Prints a chunk of the command's output as it arrives (on the runtime's thread). */
        private void show(String chunk) {
            out.print(chunk);
            out.flush();
            lineOpen = !chunk.endsWith("\n");
        }

        private void endLine() {
            if (lineOpen) {
                out.println();
                lineOpen = false;
            }
        }
    }
}
