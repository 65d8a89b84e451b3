package dev.agentruntime.fake;

import dev.agentruntime.fake.internal.ExecConnection;
import dev.agentruntime.fake.internal.Execs;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Files of one sandbox as one user, streamed both ways (nothing is held whole in memory). Relative paths resolve
 * against the sandbox's working directory, or the user's home. Failures the vendors report with their own codes are
 * {@link SandboxFileException}s with a {@link SandboxFileException.Kind}.
 *
 * <p>Each operation is one process in the sandbox (GNU coreutils and findutils, as in Debian images).
 */
public final class SandboxFiles {

    private static final String PRELUDE = "b=\"$1\"; shift; if [ -n \"$b\" ]; then cd \"$b\" || exit 1; "
            + "else cd \"$HOME\" 2>/dev/null || cd /; fi\n";
    private static final String WRITE = PRELUDE + """
            p="$1"; d=$(dirname "$p")
            [ -d "$d" ] || mkdir -p "$d" || exit 1
            cat > "$p" || exit 1
            if [ -n "$2" ]; then chmod "$2" "$p" || exit 1; fi
            if [ -n "$3" ]; then chown "$3" "$p" || exit 1; fi
            """;
    private static final String READ = PRELUDE + "exec cat \"$1\"\n";
    private static final String FORMAT = "%y\\0%s\\0%m\\0%u\\0%g\\0%T@\\0%l\\0%p\\0";
    private static final String STAT = PRELUDE + "exec find \"$1\" -maxdepth 0 -printf '" + FORMAT + "'\n";
    private static final String LIST = PRELUDE + """
            [ -e "$1" ] || { echo "list: $1: No such file or directory" >&2; exit 1; }
            [ -d "$1" ] || { echo "list: $1: Not a directory" >&2; exit 1; }
            exec find -H "$1" -mindepth 1 -maxdepth "$2" -printf '""" + FORMAT + "'\n";
    private static final String MKDIR = PRELUDE + "if [ -d \"$1\" ]; then echo exists; else mkdir -p \"$1\" "
            + "&& echo created; fi\n";
    private static final String REMOVE = PRELUDE + """
            [ -e "$1" ] || [ -L "$1" ] || { echo "rm: $1: No such file or directory" >&2; exit 1; }
            if [ "$2" = 1 ]; then exec rm -rf "$1"
            elif [ -d "$1" ] && [ ! -L "$1" ]; then exec rmdir "$1"
            else exec rm -f "$1"; fi
            """;
    private static final String RENAME = PRELUDE + "exec mv -T \"$1\" \"$2\"\n";

    private final FakeSandbox sandbox;
    private final Optional<String> user;

    SandboxFiles(FakeSandbox sandbox, Optional<String> user) {
        this.sandbox = sandbox;
        this.user = user;
    }

    /** The user these operations run as. */
    public String user() {
        return user.orElse("root");
    }

    /**
     * Writes a file from a stream (creating parent directories, replacing an existing file).
     *
     * @return the bytes written
     */
    public long write(String path, InputStream content, WriteOptions options) {
        Optional<String> as = options.owner().isPresent() ? Optional.of("root") : options.user().or(() -> user);
        CountingInputStream counted = new CountingInputStream(content);
        Execs.Result result;
        try {
            result = sandbox.runHelper(as, script(WRITE, path,
                    options.mode().isPresent() ? Integer.toOctalString(options.mode().getAsInt()) : "",
                    options.owner().orElse("")), counted, null);
        } catch (Execs.InputFailedException e) {
            // the content broke off (a client's upload ended early): leave no truncated file behind
            try {
                sandbox.runHelper(as, script(REMOVE, path, "0"), null, null);
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw new UncheckedIOException("Writing " + path + " in sandbox " + sandbox.id() + " failed after "
                    + counted.count + " bytes: " + e.getCause().getMessage(), e);
        } catch (IOException | com.github.dockerjava.api.exception.DockerException e) {
            throw sandbox.engineFailure("write " + path + " in", e);
        }
        check("write", path, result);
        return counted.count;
    }

    public long write(String path, InputStream content) {
        return write(path, content, WriteOptions.defaults());
    }

    public void write(String path, byte[] content) {
        write(path, new ByteArrayInputStream(content), WriteOptions.defaults());
    }

    public void write(String path, String content) {
        write(path, content.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Streams a file into {@code out}. Errors (missing, a directory, no permission) are thrown before the first byte
     * is written.
     *
     * @return the bytes copied
     */
    public long read(String path, OutputStream out) {
        try (InputStream in = openRead(path)) {
            return in.transferTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException("Reading " + path + " from sandbox " + sandbox.id() + " failed: "
                    + e.getMessage(), e);
        }
    }

    public byte[] readBytes(String path) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        read(path, out);
        return out.toByteArray();
    }

    public String readString(String path) {
        return new String(readBytes(path), StandardCharsets.UTF_8);
    }

    /**
     * Opens a file for streaming reads. Returns once the first bytes arrived or the file proved empty, so an error
     * is thrown here, before a fake commits a response; close the stream to abandon the read.
     */
    public InputStream openRead(String path) {
        Execs.Started started;
        try {
            started = sandbox.startHelper(user, script(READ, path), false);
        } catch (IOException | com.github.dockerjava.api.exception.DockerException e) {
            throw sandbox.engineFailure("read " + path + " in", e);
        }
        ReadStream stream = new ReadStream(started, path);
        try {
            stream.prime();
        } catch (IOException e) {
            stream.close();
            throw new UncheckedIOException("Reading " + path + " from sandbox " + sandbox.id() + " failed: "
                    + e.getMessage(), e);
        } catch (RuntimeException e) {
            stream.close();
            throw e;
        }
        return stream;
    }

    /** What the file (or the symlink itself) is. */
    public FileEntry stat(String path) {
        Execs.Result result = run("stat", path, user, STAT, null, null, path);
        check("stat", path, result);
        List<FileEntry> entries = parse(result.stdout());
        if (entries.size() != 1) {
            throw new FakeSandboxException("stat of " + path + " in sandbox " + sandbox.id() + " printed "
                    + entries.size() + " entries");
        }
        return entries.get(0);
    }

    /** Whether the path exists (a dangling symlink exists). */
    public boolean exists(String path) {
        try {
            stat(path);
            return true;
        } catch (SandboxFileException e) {
            if (e.kind() == SandboxFileException.Kind.NOT_FOUND || e.kind() == SandboxFileException.Kind.NOT_A_DIRECTORY) {
                return false;
            }
            throw e;
        }
    }

    /** The entries under a directory, {@code depth} levels deep (1 = its children), directories first in walk order. */
    public List<FileEntry> list(String path, int depth) {
        if (depth < 1) {
            throw new IllegalArgumentException("depth must be >= 1: " + depth);
        }
        String dir = path.length() > 1 && path.endsWith("/") ? path.replaceAll("/+$", "") : path;
        if (dir.isEmpty()) {
            dir = "/";
        }
        Execs.Result result = run("list", dir, user, LIST, null, null, dir, Integer.toString(depth));
        List<FileEntry> entries = parse(result.stdout());
        if (result.code() != 0 && entries.isEmpty()) {
            check("list", path, result);
        }
        return entries;
    }

    /**
     * Makes a directory and its parents.
     *
     * @return false when it already existed
     */
    public boolean mkdirs(String path) {
        Execs.Result result = run("mkdir", path, user, MKDIR, null, null, path);
        check("mkdir", path, result);
        return result.stdoutText().trim().equals("created");
    }

    /** Removes a file, a symlink, an empty directory, or (recursive) a whole tree. */
    public void remove(String path, boolean recursive) {
        Execs.Result result = run("remove", path, user, REMOVE, null, null, path, recursive ? "1" : "0");
        check("remove", path, result);
    }

    /** Renames (moves) {@code source} to {@code target}, replacing a file there. */
    public void rename(String source, String target) {
        Execs.Result result = run("rename", source, user, RENAME, null, null, source, FakeSandbox.shellPath(target));
        check("rename", source, result);
    }

    // --------------------------------------------------------------------------------------------- internal ---

    private List<String> script(String script, String... args) {
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", script, "sh", sandbox.baseDir()));
        for (int i = 0; i < args.length; i++) {
            argv.add(i == 0 ? FakeSandbox.shellPath(args[i]) : args[i]);
        }
        return argv;
    }

    private Execs.Result run(String op, String path, Optional<String> as, String script, InputStream stdin,
            OutputStream stdout, String... args) {
        try {
            return sandbox.runHelper(as, script(script, args), stdin, stdout);
        } catch (IOException | com.github.dockerjava.api.exception.DockerException e) {
            throw sandbox.engineFailure(op + " " + path + " in", e);
        }
    }

    private void check(String op, String path, Execs.Result result) {
        if (result.code() == 0) {
            return;
        }
        String message = result.stderr().strip();
        SandboxFileException.Kind kind = SandboxFileException.classify(message);
        throw new SandboxFileException(kind, path, "Cannot " + op + " " + path + " in sandbox " + sandbox.id()
                + " as " + user() + ": " + (message.isEmpty() ? "exit code " + result.code() : message));
    }

    private static List<FileEntry> parse(byte[] output) {
        List<FileEntry> entries = new ArrayList<>();
        List<String> fields = new ArrayList<>(8);
        int start = 0;
        for (int i = 0; i < output.length; i++) {
            if (output[i] != 0) {
                continue;
            }
            fields.add(new String(output, start, i - start, StandardCharsets.UTF_8));
            start = i + 1;
            if (fields.size() == 8) {
                entries.add(entry(fields));
                fields.clear();
            }
        }
        return entries;
    }

    private static FileEntry entry(List<String> f) {
        FileType type = switch (f.get(0)) {
            case "f" -> FileType.FILE;
            case "d" -> FileType.DIRECTORY;
            case "l" -> FileType.SYMLINK;
            default -> FileType.OTHER;
        };
        BigDecimal seconds = new BigDecimal(f.get(5));
        Instant modified = Instant.ofEpochSecond(seconds.longValue(),
                seconds.remainder(BigDecimal.ONE).movePointRight(9).longValue());
        String path = f.get(7);
        String name = path.equals("/") ? "/" : path.substring(path.lastIndexOf('/') + 1);
        if (path.startsWith("./")) {
            path = path.substring(2);
        }
        return new FileEntry(path, name, type, Long.parseLong(f.get(1)), Integer.parseInt(f.get(2), 8), f.get(3),
                f.get(4), modified, type == FileType.SYMLINK ? Optional.of(f.get(6)) : Optional.empty());
    }

    private static final class CountingInputStream extends InputStream {
        private final InputStream in;
        private long count;

        CountingInputStream(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                count += n;
            }
            return n;
        }
    }

    /** A file's bytes pulled straight off the exec's connection on the reader's thread. */
    private final class ReadStream extends InputStream {
        private final Execs.Started started;
        private final String path;
        private final ByteArrayOutputStream errors = new ByteArrayOutputStream();
        private byte[] pending;
        private int pendingOffset;
        private int pendingLength;
        private boolean ended;

        ReadStream(Execs.Started started, String path) {
            this.started = started;
            this.path = path;
        }

        /** Reads until the first stdout bytes or the end; throws the file error if the command failed. */
        void prime() throws IOException {
            fill();
        }

        private boolean fill() throws IOException {
            while (pendingLength == 0 && !ended) {
                ExecConnection.Chunk chunk = started.connection().next();
                if (chunk == null) {
                    ended = true;
                    started.connection().close();
                    int code = sandbox.exitCodeOf(started.execId()).orElse(-1);
                    check("read", path, new Execs.Result(code, new byte[0], errors.toString(StandardCharsets.UTF_8)));
                    break;
                }
                if (chunk.stream() == ExecConnection.STDERR) {
                    if (errors.size() < 16 * 1024) {
                        errors.write(chunk.bytes(), chunk.offset(), chunk.length());
                    }
                    continue;
                }
                if (pending == null || pending.length < chunk.length()) {
                    pending = new byte[Math.max(chunk.length(), 64 * 1024)];
                }
                System.arraycopy(chunk.bytes(), chunk.offset(), pending, 0, chunk.length());
                pendingOffset = 0;
                pendingLength = chunk.length();
            }
            return pendingLength > 0;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!fill()) {
                return -1;
            }
            int n = Math.min(len, pendingLength);
            System.arraycopy(pending, pendingOffset, b, off, n);
            pendingOffset += n;
            pendingLength -= n;
            return n;
        }

        @Override
        public void close() {
            ended = true;
            started.connection().close();
        }
    }
}
