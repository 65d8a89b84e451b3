package dev.agentruntime.server.shell;

import com.pty4j.PtyProcess;
import com.pty4j.PtyProcessBuilder;
import com.pty4j.WinSize;
import dev.agentruntime.CmdOutputMetadata;
import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.OutputListener;
import dev.agentruntime.ErrorObservation;
import dev.agentruntime.Observation;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One persistent interactive bash in a real pseudo-terminal, driven with OpenHands' semantics (reference §3).
 *
 * <p>How a command runs: its text is written to a private file and the shell is sent one short line that reads the
 * file into a variable and {@code eval}s it. So the command's bytes reach bash unchanged (no terminal line-length
 * limit, no escaping, heredocs and multi-line commands intact) while it still runs in the interactive shell, where
 * {@code cd}, {@code export} and functions persist and programs read from the terminal. bash runs with
 * {@code --noediting}: the kernel's line discipline echoes input like a terminal, {@code Ctrl-C} is a real SIGINT to
 * the foreground job. A {@code PROMPT_COMMAND} function prints an in-band marker with the exit code, {@code $!},
 * cwd and Python path after every command; the reader thread spots it as the bytes arrive and wakes the waiting
 * action at once.
 */
public final class BashSession implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BashSession.class);
    private static final Pattern SPECIAL_KEY = Pattern.compile("C-[A-Za-z@\\[\\]\\\\^_]");
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(30);
    private static final long REPLACED_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

    private final Path workDir;
    private final Map<String, String> environment;
    private final Duration noChangeTimeout;
    private final List<String> shellCommand;
    private final String username;
    private final String hostname;
    private final Path scratch;
    private final boolean sourceBashrc;

    private volatile PtyProcess process;
    /** What the kernel says about bash: whether it was replaced by exec. */
    private volatile ShellProcessWatch image;
    private OutputStream terminal;
    private Transcript transcript;
    /** The running action's output listener and its tap (read by the PTY reader thread); null when none. */
    private OutputListener listener;
    private volatile OutputTap tap;
    private final Object tapLock = new Object();
    /** The line typed to run the command file; prefixed per command with {@code __ar_seq=N;}. */
    private String injectBody;
    /** The line typed for the current command (its terminal echo is removed from the output). */
    private String injectLine;
    private long seq;
    private Path commandFile;
    private int commandCount;

    /** What the session is doing between actions. */
    private enum State { IDLE, RUNNING }

    private State state = State.IDLE;
    private Duration maxWait;
    private int returnedLength;
    private String runningCommand = "";
    private volatile String cwd;

    /**
     * @param workDir         the initial working directory
     * @param environment     the shell's environment (the server's own, plus configured variables)
     * @param noChangeTimeout the soft "no new output" timeout
     * @param shellCommand    how to start bash (e.g. {@code bash}, or {@code runuser -u alice -- bash})
     * @param sourceBashrc    whether the shell sources {@code ~/.bashrc} as it starts (OpenHands does)
     */
    public BashSession(Path workDir, Map<String, String> environment, Duration noChangeTimeout,
                       List<String> shellCommand, String username, String hostname, boolean sourceBashrc) {
        this.sourceBashrc = sourceBashrc;
        this.workDir = workDir.toAbsolutePath().normalize();
        this.environment = new LinkedHashMap<>(environment);
        this.noChangeTimeout = noChangeTimeout;
        this.shellCommand = List.copyOf(shellCommand);
        this.username = username;
        this.hostname = hostname;
        this.cwd = this.workDir.toString();
        try {
            Path parent = scratchParent();
            removeStaleScratch(parent);
            this.scratch = Files.createTempDirectory(parent, SCRATCH_PREFIX + ProcessHandle.current().pid() + "-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the shell's scratch directory", e);
        }
    }

    static final String SCRATCH_PREFIX = "agent-runtime-shell-";

    /**
     * Removes scratch directories a server killed with SIGKILL left behind: their names carry the server's pid, and
     * a directory whose server no longer runs is ours to remove when we own it.
     */
    static void removeStaleScratch(Path parent) {
        removeStale(parent, SCRATCH_PREFIX);
    }

    /**
     * Removes {@code parent/<prefix><pid>-*} directories (flat: files only) whose server pid no longer runs and that
     * belong to us: what a server killed with SIGKILL left.
     */
    public static void removeStale(Path parent, String prefix) {
        String me = System.getProperty("user.name");
        try (var dirs = Files.newDirectoryStream(parent, prefix + "*")) {
            for (Path dir : dirs) {
                String rest = dir.getFileName().toString().substring(prefix.length());
                int dash = rest.indexOf('-');
                if (dash <= 0) {
                    continue;
                }
                long pid;
                try {
                    pid = Long.parseLong(rest.substring(0, dash));
                } catch (NumberFormatException e) {
                    continue;
                }
                if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    continue;
                }
                try {
                    if (!Files.getOwner(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS).getName().equals(me)) {
                        continue;
                    }
                    deleteScratch(dir);
                    log.info("removed {} left by a server that is gone (pid {})", dir, pid);
                } catch (IOException | RuntimeException e) {
                    log.debug("cannot remove stale {}: {}", dir, e.toString());
                }
            }
        } catch (IOException | RuntimeException e) {
            log.debug("cannot scan {} for stale scratch directories: {}", parent, e.toString());
        }
    }

    /** Deletes a directory tree (symbolic links are removed, not followed). */
    public static void deleteScratch(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var files = Files.walk(dir)) {
            for (Path file : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        }
    }

    /**
     * Where the per-command file lives: {@code /dev/shm} (memory) when usable, else the temp directory. Rewriting a
     * small file on ext4 costs ~0.3 ms per command (replace-via-truncate makes the kernel flush it); in memory it is
     * a few microseconds, which is most of the server's own share of an {@code echo} round trip.
     */
    private static Path scratchParent() {
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm)) {
            return shm;
        }
        return Path.of(System.getProperty("java.io.tmpdir"));
    }

    /** Starts bash and waits for its first prompt marker. */
    public synchronized void start() {
        String nonce = HexFormat.of().formatHex(randomBytes(16));
        image = null;
        transcript = new Transcript(nonce);
        commandFile = scratch.resolve("command");
        // Reads the command file into a variable without forking and evaluates it in the interactive shell.
        // __ar_keep runs after the command (keeping its $?) and puts the marker back first in PROMPT_COMMAND if the
        // command replaced or prefixed it: without the marker no command would ever complete again.
        injectBody = " IFS= read -r -d '' __ar_cmd < " + quote(commandFile.toString()) + "; eval \"$__ar_cmd\"; __ar_keep";
        injectLine = "";
        Path rc = scratch.resolve("bashrc");
        try {
            Files.writeString(rc, initScript(nonce));
            Files.writeString(commandFile, "");
            handOverScratch(rc);
            Map<String, String> env = new LinkedHashMap<>(environment);
            env.put("TERM", env.getOrDefault("TERM", "xterm-256color"));
            env.putIfAbsent("PAGER", "cat");
            env.putIfAbsent("GIT_PAGER", "cat");
            env.remove("__AR_NONCE");
            List<String> command = new ArrayList<>(shellCommand);
            command.addAll(List.of("--noediting", "--rcfile", rc.toString(), "-i"));
            process = new PtyProcessBuilder(command.toArray(String[]::new))
                    .setEnvironment(env)
                    .setDirectory(workDir.toString())
                    .setRedirectErrorStream(true)
                    .setInitialColumns(1000)
                    .setInitialRows(1000)
                    .setConsole(false)
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start bash (" + shellCommand + ") in " + workDir, e);
        }
        terminal = process.getOutputStream();
        startReader(process.getInputStream(), transcript);
        try {
            long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
            if (transcript.await(0, deadline) != Transcript.Wait.MARKER) {
                String seen = transcript.output();
                close();
                throw new IllegalStateException("bash did not print its first prompt within " + STARTUP_TIMEOUT
                        + "; it printed: " + seen.substring(Math.max(0, seen.length() - 2000)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting bash", e);
        }
        Transcript.Marker first = transcript.marker();
        if (first.workingDir() != null && !first.workingDir().isEmpty()) {
            cwd = first.workingDir();
        }
        transcript.clear();
        state = State.IDLE;
        try {
            Files.deleteIfExists(rc); // bash has read it: the nonce in it is no file's content any more
        } catch (IOException e) {
            log.debug("cannot remove {}: {}", rc, e.toString());
        }
        image = ShellProcessWatch.of(process.pid());
        log.info("bash started (pid {}) in {}", process.pid(), workDir);
    }

    /**
     * Unpredictable bytes for the prompt marker's nonce, straight from the kernel: {@code SecureRandom} would load
     * and initialise the security providers (a tenth of the server's start-up) for 8 bytes, and its
     * {@code generateSeed} reads the blocking pool.
     */
    static byte[] randomBytes(int count) {
        try (InputStream in = Files.newInputStream(Path.of("/dev/urandom"))) {
            byte[] bytes = in.readNBytes(count);
            if (bytes.length == count) {
                return bytes;
            }
        } catch (IOException | RuntimeException e) {
            log.debug("no /dev/urandom ({}), using SecureRandom", e.toString());
        }
        byte[] bytes = new byte[count];
        new SecureRandom().nextBytes(bytes);
        return bytes;
    }

    /**
     * When the shell runs as another user than the server (root starting it with {@code runuser}), that user must be
     * able to read its rc file and the command file: the private scratch directory is handed to it.
     */
    private void handOverScratch(Path rc) throws IOException {
        if (username == null || username.equals(System.getProperty("user.name"))) {
            return;
        }
        var owner = scratch.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(username);
        for (Path path : List.of(scratch, rc, commandFile)) {
            Files.setOwner(path, owner);
        }
    }

    private String initScript(String nonce) {
        return String.join("\n",
                "# agent-runtime: interactive shell set-up (generated)",
                sourceBashrc ? "[ -f ~/.bashrc ] && . ~/.bashrc >/dev/null 2>&1" : "# ~/.bashrc not sourced",
                "set +H",                    // no history expansion: '!' in commands is literal
                "stty -onlcr -echoctl 2>/dev/null", // plain \\n line endings; keys sent (C-c) leave no ^C in later output
                "PS1=''; PS2=''",
                "unset PROMPT_COMMAND",
                "__ar_prompt() {",
                "  local __ar_ec=$? __ar_py= __ar_slow=",
                // The interpreter's path without a fork and without output of its own: `hash` searches PATH afresh
                // and leaves the hit in BASH_CMDS (bash >= 4), so the whole marker is one write and one read on the
                // server. Older bash, or hashing turned off: `command -v` prints it (three writes).
                "  if (( BASH_VERSINFO[0] >= 4 )) && [[ -o hashall ]]; then",
                "    if hash python 2>/dev/null; then __ar_py=${BASH_CMDS[python]-}",
                "    elif hash python3 2>/dev/null; then __ar_py=${BASH_CMDS[python3]-}; fi",
                "  else",
                "    __ar_slow=1",
                "  fi",
                // the command's sequence number ties this prompt to it; prompts without one (bash answering C-c at an
                // idle prompt) are told apart and cannot end a later command. The marker goes to the terminal device
                // itself, so `exec >log 2>&1` or `exec >&-` in a command cannot take it away.
                "  { __ar_mark; } >/dev/tty 2>/dev/null || __ar_mark",
                "  unset __ar_cmd __ar_seq",
                "}",
                "__ar_mark() {",
                "  if [[ -z $__ar_slow ]]; then",
                "    printf '\\036AR" + nonce + "\\037%s\\037%s\\037%s\\037%s\\037%s\\035' \"${__ar_seq:-}\" \"$__ar_ec\" \"${!:-}\" \"$PWD\" \"$__ar_py\"",
                "  else",
                "    printf '\\036AR" + nonce + "\\037%s\\037%s\\037%s\\037%s\\037' \"${__ar_seq:-}\" \"$__ar_ec\" \"${!:-}\" \"$PWD\"",
                "    command -v python 2>/dev/null || command -v python3 2>/dev/null; printf '\\035'",
                "  fi",
                "}",
                "PROMPT_COMMAND=__ar_prompt",
                "__ar_keep() {",
                "  local __ar_ec=$? __ar_rest",
                "  case ${PROMPT_COMMAND:-} in",
                "    __ar_prompt) ;;",
                "    '__ar_prompt;'*)",
                "      __ar_rest=${PROMPT_COMMAND#__ar_prompt;}",
                "      [[ $__ar_rest == *__ar_prompt* ]] && PROMPT_COMMAND=\"__ar_prompt;${__ar_rest//__ar_prompt/:}\" ;;",
                "    *)",
                "      __ar_rest=${PROMPT_COMMAND:-}; __ar_rest=${__ar_rest//__ar_prompt/:}",
                "      PROMPT_COMMAND=\"__ar_prompt${__ar_rest:+;$__ar_rest}\" ;;",
                "  esac",
                "  return $__ar_ec",
                "}",
                "alias git='git --no-pager'",
                "") + "\n";
    }

    private void startReader(InputStream in, Transcript target) {
        Thread reader = new Thread(() -> {
            CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE);
            byte[] buffer = new byte[64 * 1024];
            ByteBuffer bytes = ByteBuffer.allocate(buffer.length + 8);
            CharBuffer chars = CharBuffer.allocate(buffer.length + 8);
            try {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    bytes.put(buffer, 0, n).flip();
                    decoder.decode(bytes, chars, false);
                    bytes.compact(); // keeps an incomplete UTF-8 sequence for the next read
                    chars.flip();
                    synchronized (tapLock) { // a tap attached meanwhile sees each chunk exactly once
                        OutputTap listening = tap;
                        if (listening != null) {
                            // before the transcript: once it sees the marker the action ends and the tap is gone
                            listening.feed(chars);
                        }
                        target.append(chars);
                    }
                    chars.clear();
                }
            } catch (IOException e) {
                log.debug("pty reader stopped: {}", e.toString());
            } finally {
                target.close();
            }
        }, "agent-runtime-pty-reader-" + THREADS.incrementAndGet());
        reader.setDaemon(true);
        reader.start();
    }

    /** The shell's current directory, as of the last completed command. */
    public Path cwd() {
        return Path.of(cwd);
    }

    /** Never blocks (answered for {@code /alive} while a command runs). */
    public boolean isAlive() {
        PtyProcess p = process;
        return p != null && p.isAlive();
    }

    /** Runs one action with OpenHands' semantics; never throws for bad commands, only for a broken shell. */
    public Observation execute(CmdRunAction action) {
        return execute(action, null);
    }

    /**
     * @param maxWait the longest this action may wait for its command (null: no bound beyond the action's own
     *                timeouts); a command still running then is answered as timed out and keeps running
     */
    public Observation execute(CmdRunAction action, Duration maxWait) {
        return execute(action, maxWait, null);
    }

    /**
     * @param listener receives this action's output as it arrives (without the echo of what the session typed and
     *                 without the prompt marker); null for none. Called on the PTY reader thread: it must not block.
     */
    public synchronized Observation execute(CmdRunAction action, Duration maxWait, OutputListener listener) {
        long started = System.nanoTime();
        this.maxWait = maxWait;
        this.listener = listener;
        Observation observation;
        try {
            observation = executeTimed(action);
        } finally {
            this.listener = null;
            tap = null;
        }
        if (log.isDebugEnabled()) {
            log.debug("run {} µs: {}", (System.nanoTime() - started) / 1000, action.command());
        }
        return observation;
    }

    private Observation executeTimed(CmdRunAction action) {
        if (action.isStatic()) {
            return StaticShell.run(action, action.cwd() != null ? action.cwd() : cwd, environment, shellCommand);
        }
        if (!isAlive()) {
            restart();
        }
        String command = action.command().strip();
        boolean specialKey = SPECIAL_KEY.matcher(command).matches();
        if (state == State.IDLE && transcript.marker() == null) {
            if (command.isEmpty()) {
                return output(ShellMessages.NO_PREVIOUS_COMMAND, "", CmdOutputMetadata.unknown(), action.hidden());
            }
            if (action.isInput()) {
                return output(ShellMessages.NO_PREVIOUS_TO_INTERACT, command, CmdOutputMetadata.unknown(), action.hidden());
            }
        }
        if (!command.isEmpty() && !specialKey && !action.isInput()) {
            List<String> commands = BashCommandSplitter.split(command);
            if (commands.size() > 1) {
                return ErrorObservation.of(ShellMessages.multipleCommands(commands));
            }
        }
        // A command that hit a timeout may have finished since: its prompt marker is waiting in the transcript.
        boolean previousFinished = state == State.RUNNING && transcript.marker() != null;
        if (state == State.RUNNING && !previousFinished && !action.isInput() && !command.isEmpty() && !specialKey) {
            boolean continued = returnedLength > 0;
            String fresh = takeFreshOutput();
            CmdOutputMetadata md = CmdOutputMetadata.unknown()
                    .withPrefix(continued ? ShellMessages.CONTINUE_PREFIX : "")
                    .withSuffix(ShellMessages.notExecuted(command));
            return output(clean(fresh, action), command, md, action.hidden());
        }

        if (previousFinished && (specialKey || action.isInput())) {
            // The process the key or text was meant for has exited: typed into bash, text would run as a command
            // and a key would print a stray prompt marker. Report the completion instead; nothing is sent.
            return completed(action, command, false, false);
        }

        if (state == State.RUNNING && !previousFinished && image != null && image.replaced()) {
            return shellReplaced(action, command);
        }
        // Everything that can fail (encoding, the command file) happens before the session is marked running: a
        // command that cannot be delivered leaves the shell idle and serving, never "running" for ever.
        State before = state;
        try {
            if (specialKey) {
                if (state == State.IDLE) {
                    beginCommand(command, null); // before the key: the shell may answer with a prompt at once
                }
                sendKey(command.charAt(2));
            } else if (!command.isEmpty()) {
                if (state == State.IDLE || (previousFinished && !action.isInput())) {
                    byte[] text = strictUtf8(action.command());
                    Files.write(commandFile, text);
                    if (previousFinished) {
                        // A new command after the timed-out one finished: it runs like any other (as in OpenHands,
                        // where the pane shows the old prompt); the old command's unseen output is dropped.
                        adoptShellState(transcript.marker());
                    }
                    String commandSeq = nextSeq();
                    beginCommand(command, commandSeq);
                    typeInject(commandSeq);
                } else {
                    byte[] text = strictUtf8(action.command() + "\n");
                    terminal.write(text);
                    terminal.flush();
                }
            }
        } catch (IOException e) {
            if (before == State.IDLE) {
                state = State.IDLE;
            }
            return ErrorObservation.of("Cannot deliver the command to the shell: " + e.getMessage()
                    + ". Nothing was run; the shell keeps serving.");
        }
        return await(action, command, specialKey);
    }

    /** The shell's cwd as its prompt marker reported it. */
    private void adoptShellState(Transcript.Marker marker) {
        if (marker.workingDir() != null && !marker.workingDir().isEmpty()) {
            cwd = marker.workingDir();
        }
    }

    /** @param seq the sequence number the command's prompt will carry; null when only a key is sent */
    private void beginCommand(String command, String seq) {
        transcript.expect(seq);
        transcript.reset();
        injectLine = "";
        returnedLength = 0;
        runningCommand = command;
        state = State.RUNNING;
    }

    private String nextSeq() {
        return Long.toString(++seq);
    }

    private void typeInject(String commandSeq) throws IOException {
        commandCount++;
        injectLine = " __ar_seq=" + commandSeq + ";" + injectBody;
        if (listener != null) {
            tap = new OutputTap(listener, injectLine, transcript.markerStart()); // before the echo can arrive
        }
        terminal.write((injectLine + "\n").getBytes(StandardCharsets.UTF_8));
        terminal.flush();
    }

    /** UTF-8 that refuses what has no UTF-8 form (lone surrogates; the server refuses them earlier with a 422). */
    private static byte[] strictUtf8(String text) throws IOException {
        try {
            java.nio.ByteBuffer bytes = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(text));
            byte[] out = new byte[bytes.remaining()];
            bytes.get(out);
            return out;
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IOException("the command is not valid Unicode (" + e.getMessage() + ")", e);
        }
    }

    private void sendKey(char key) throws IOException {
        int code = Character.toUpperCase(key) & 0x1F;
        terminal.write(code);
        terminal.flush();
    }

    private Observation await(CmdRunAction action, String command, boolean specialKey) {
        transcript.touch();
        if (listener != null && tap == null) {
            // input, a key, or continuing to watch: the stream starts with what arrived since the last observation,
            // so it is gapless across actions, like the observations' content
            synchronized (tapLock) {
                OutputTap attached = new OutputTap(listener, null, transcript.markerStart());
                String unseen = freshOutput();
                if (!unseen.isEmpty()) {
                    attached.feed(unseen);
                }
                tap = attached;
            }
        }
        long quiet = action.blocking() ? 0 : noChangeTimeout.toNanos();
        Duration limit = action.timeout().orElse(null);
        if (maxWait != null && (limit == null || maxWait.compareTo(limit) < 0)) {
            limit = maxWait;
        }
        final Duration hardLimit = limit;
        long deadline = limit == null ? Long.MAX_VALUE : saturatedDeadline(limit);
        Transcript.Wait outcome;
        try {
            while (true) {
                // wake every so often to see whether the command replaced the shell (exec): then no marker will come
                long step = System.nanoTime() + REPLACED_CHECK_NANOS;
                outcome = transcript.await(quiet, deadline - step > 0 ? step : deadline);
                if (outcome != Transcript.Wait.DEADLINE || deadline - System.nanoTime() <= 0) {
                    break;
                }
                if (image != null && image.replaced()) {
                    return shellReplaced(action, command);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            outcome = Transcript.Wait.DEADLINE;
        }
        if (outcome == Transcript.Wait.QUIET && image != null && image.replaced()) {
            return shellReplaced(action, command);
        }
        return switch (outcome) {
            case MARKER -> completed(action, command, specialKey, true);
            case CLOSED -> shellExited(action, command);
            case QUIET -> timedOut(action, command,
                    ShellMessages.noChangeTimeout(ShellMessages.wholeOrFraction(noChangeTimeout.toMillis() / 1000.0)));
            case DEADLINE -> timedOut(action, command,
                    ShellMessages.hardTimeout(ShellMessages.pythonFloat(hardLimit.toMillis() / 1000.0)));
        };
    }

    /**
     * @param specialKey whether a C-x key was sent (the suffix says so)
     * @param typed      whether the action's text reached the terminal (its echo is then removed from the output)
     */
    private Observation completed(CmdRunAction action, String command, boolean specialKey, boolean typed) {
        Transcript.Marker marker = transcript.marker();
        String raw = stripEcho(marker.output());
        boolean continued = returnedLength > 0;
        String fresh = raw.length() >= returnedLength ? raw.substring(returnedLength) : raw;
        adoptShellState(marker);
        String suffix = specialKey ? ShellMessages.completedWithKey(marker.exitCode(), command.charAt(2))
                : ShellMessages.completed(marker.exitCode());
        CmdOutputMetadata md = new CmdOutputMetadata(marker.exitCode(), marker.pid(), username, hostname, cwd,
                marker.pythonPath(), continued ? ShellMessages.CONTINUE_PREFIX : "", suffix);
        state = State.IDLE;
        returnedLength = 0;
        transcript.reset();
        return output(typed ? clean(fresh, action) : clean(fresh, null), command, md, action.hidden());
    }

    private Observation timedOut(CmdRunAction action, String command, String suffix) {
        boolean continued = returnedLength > 0;
        String fresh = takeFreshOutput();
        CmdOutputMetadata md = CmdOutputMetadata.unknown()
                .withPrefix(continued ? ShellMessages.CONTINUE_PREFIX : "")
                .withSuffix(suffix);
        return output(clean(fresh, action), command, md, action.hidden());
    }

    private Observation shellExited(CmdRunAction action, String command) {
        String fresh = freshOutput();
        int exit = -1;
        try {
            if (process.waitFor(5, TimeUnit.SECONDS)) {
                exit = process.exitValue();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        state = State.IDLE;
        returnedLength = 0;
        CmdOutputMetadata md = new CmdOutputMetadata(exit, -1, username, hostname, cwd, null, "",
                ShellMessages.completed(exit) + "\n[The shell exited; a new shell will be started in " + workDir
                        + " for the next command.]");
        log.info("bash exited with code {}", exit);
        return output(clean(fresh, action), command, md, action.hidden());
    }

    /**
     * The command replaced bash (`exec bash`, `exec python3`, ...): the process is the same, the prompt machinery is
     * gone, so no command would ever complete again. Start a fresh shell and say so.
     */
    private Observation shellReplaced(CmdRunAction action, String command) {
        String fresh = freshOutput();
        log.info("bash (pid {}) was replaced by exec; starting a new shell", process.pid());
        state = State.IDLE;
        returnedLength = 0;
        String lostCwd = cwd;
        restart();
        CmdOutputMetadata md = new CmdOutputMetadata(-1, -1, username, hostname, cwd, null, "",
                "\n[The shell was replaced (by exec), so command completion could no longer be detected. A new shell"
                        + " was started in " + cwd + " (the old one was in " + lostCwd + "); its variables, functions and"
                        + " jobs are gone. Run programs without exec to keep the session.]");
        return output(clean(fresh, action), command, md, action.hidden());
    }

    private String freshOutput() {
        String raw = stripEcho(transcript.output());
        return raw.length() >= returnedLength ? raw.substring(returnedLength) : raw;
    }

    /**
     * The output not shown yet, marked as shown. One read of the transcript: output arriving meanwhile is
     * neither lost nor shown twice.
     */
    private String takeFreshOutput() {
        String raw = stripEcho(transcript.output());
        String fresh = raw.length() >= returnedLength ? raw.substring(returnedLength) : raw;
        returnedLength = raw.length();
        return fresh;
    }

    /**
     * Removes the echo of our injected line (the terminal echoes what we type). It is nearly always at the very
     * start: then one copy of the output instead of three.
     */
    private String stripEcho(String raw) {
        if (injectLine.isEmpty()) {
            return raw; // nothing was typed for this command (a key at an idle prompt)
        }
        String echo = injectLine + "\n";
        if (raw.startsWith(echo)) {
            return raw.substring(echo.length());
        }
        if (raw.startsWith(injectLine + "\r\n")) { // `stty sane` turned onlcr back on
            return raw.substring(echo.length() + 1);
        }
        int at = raw.indexOf(echo);
        if (at < 0 && raw.contains(injectLine + "\r\n")) {
            at = raw.indexOf(injectLine + "\r\n");
            echo = injectLine + "\r\n";
        }
        return at < 0 ? raw : new StringBuilder(raw.length() - echo.length()).append(raw, 0, at)
                .append(raw, at + echo.length(), raw.length()).toString();
    }

    /**
     * OpenHands' post-processing: terminal text, the echoed input removed, surrounding whitespace stripped.
     *
     * @param action the action whose typed input echoed in the terminal, or null when nothing was typed
     */
    private static String clean(String raw, CmdRunAction action) {
        String text = TerminalText.clean(raw).stripLeading();
        if (action != null && action.isInput()) {
            String typed = action.command().stripLeading();
            if (!typed.isEmpty() && text.startsWith(typed)) {
                text = text.substring(typed.length()).stripLeading();
            }
        }
        return text.stripTrailing();
    }

    private static Observation output(String content, String command, CmdOutputMetadata md, boolean hidden) {
        return CmdOutputObservation.of(content, command, md, hidden);
    }

    private void restart() {
        log.info("starting a new bash (previous one {})", process == null ? "never started" : "exited");
        killProcessTree();
        start();
    }

    /** Sends SIGINT to the foreground job, like pressing Ctrl-C; used when the server shuts down. */
    public synchronized void interrupt() {
        if (isAlive()) {
            try {
                sendKey('c');
            } catch (IOException ignored) {
                // the shell is going away anyway
            }
        }
    }

    /** Kills the shell and its process tree and removes the scratch directory; does not wait for a running action. */
    @Override
    public void close() {
        try {
            deleteScratch(scratch); // first: a shutdown cut short after this leaves nothing in /dev/shm
        } catch (IOException e) {
            log.debug("cannot remove {}: {}", scratch, e.toString());
        }
        killProcessTree();
    }

    /**
     * SIGTERM to the shell's tree first, so that scripts' EXIT traps run (pyenv's rehash lock, temp files), then
     * SIGKILL to whatever is left after a short grace (an interactive bash ignores SIGTERM).
     */
    private void killProcessTree() {
        PtyProcess p = process;
        if (p == null) {
            return;
        }
        List<ProcessHandle> tree = new ArrayList<>();
        ProcessHandle.of(p.pid()).ifPresent(handle -> {
            handle.descendants().forEach(tree::add);
            tree.add(handle);
        });
        tree.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + KILL_GRACE_NANOS;
        for (ProcessHandle h : tree) {
            long left = deadline - System.nanoTime();
            if (left > 0 && !h.equals(ProcessHandle.of(p.pid()).orElse(null))) {
                try {
                    h.onExit().get(left, TimeUnit.NANOSECONDS);
                } catch (Exception ignored) {
                    // killed below
                }
            }
        }
        tree.forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    private static final long KILL_GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    private static long saturatedDeadline(Duration limit) {
        long nanos = limit.compareTo(Duration.ofDays(365 * 100)) > 0 ? Long.MAX_VALUE / 4 : limit.toNanos();
        long now = System.nanoTime();
        long deadline = now + nanos;
        return deadline - now < 0 ? Long.MAX_VALUE : deadline;
    }

    static String quote(String value) {
        return "'" + value.replace("'", "'\\''") + "'";
    }
}
