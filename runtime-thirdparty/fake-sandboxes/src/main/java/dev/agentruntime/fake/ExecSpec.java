package dev.agentruntime.fake;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A process to start in a sandbox.
 *
 * <pre>{@code
 * ExecSpec.shell("echo hi; read x; echo $x").stdin(true).cwd("/tmp").env("A", "1").build();
 * ExecSpec.argv("/bin/bash", "-l").pty(80, 24).user("user").tag("term-1").build();
 * }</pre>
 *
 * @param argv the program and its arguments (looked up on {@code PATH} when not absolute)
 * @param env variables added to the sandbox's environment
 * @param cwd working directory; empty = the sandbox's
 * @param user who runs it; empty = the sandbox's default user
 * @param stdin whether the process gets a stdin to write to (otherwise it reads end-of-input); a PTY always has one
 * @param pty a pseudo-terminal of this size: stdout and stderr merge into {@link StdStream#STDOUT}, input is echoed
 * @param tag a free label a fake may find the process by (E2B's {@code tag})
 * @param timeout after this the process is killed (E2B's {@code Connect-Timeout-Ms}); empty = never
 * @param listener receives output as it arrives; may be null
 */
public record ExecSpec(List<String> argv, Map<String, String> env, Optional<String> cwd, Optional<String> user,
        boolean stdin, Optional<PtySize> pty, Optional<String> tag, Optional<Duration> timeout,
        ProcessListener listener) {

    /** Columns and rows of a pseudo-terminal. */
    public record PtySize(int cols, int rows) {
        public PtySize {
            if (cols <= 0 || rows <= 0) {
                throw new IllegalArgumentException("PTY size must be positive: " + cols + "x" + rows);
            }
        }
    }

    public ExecSpec {
        argv = List.copyOf(argv);
        if (argv.isEmpty() || argv.get(0).isEmpty()) {
            throw new IllegalArgumentException("An exec needs a program: argv is empty");
        }
        env = Map.copyOf(env);
    }

    public static Builder argv(String... argv) {
        return new Builder(List.of(argv));
    }

    public static Builder argv(List<String> argv) {
        return new Builder(argv);
    }

    /** {@code /bin/bash -c command} (bash is in every sandbox image the fakes use). */
    public static Builder shell(String command) {
        return new Builder(List.of("/bin/bash", "-c", command));
    }

    public Builder toBuilder() {
        Builder b = new Builder(argv);
        b.env.putAll(env);
        b.cwd = cwd.orElse(null);
        b.user = user.orElse(null);
        b.stdin = stdin;
        b.pty = pty.orElse(null);
        b.tag = tag.orElse(null);
        b.timeout = timeout.orElse(null);
        b.listener = listener;
        return b;
    }

    public static final class Builder {
        private final List<String> argv;
        private final Map<String, String> env = new LinkedHashMap<>();
        private String cwd;
        private String user;
        private boolean stdin;
        private PtySize pty;
        private String tag;
        private Duration timeout;
        private ProcessListener listener;

        private Builder(List<String> argv) {
            this.argv = new ArrayList<>(argv);
        }

        public Builder env(String name, String value) {
            env.put(Objects.requireNonNull(name), Objects.requireNonNull(value));
            return this;
        }

        public Builder env(Map<String, String> vars) {
            vars.forEach(this::env);
            return this;
        }

        public Builder cwd(String cwd) {
            this.cwd = cwd;
            return this;
        }

        public Builder user(String user) {
            this.user = user;
            return this;
        }

        public Builder stdin(boolean stdin) {
            this.stdin = stdin;
            return this;
        }

        public Builder pty(int cols, int rows) {
            this.pty = new PtySize(cols, rows);
            return this;
        }

        public Builder tag(String tag) {
            this.tag = tag;
            return this;
        }

        public Builder timeout(Duration timeout) {
            this.timeout = timeout == null || timeout.isZero() ? null : timeout;
            return this;
        }

        public Builder listener(ProcessListener listener) {
            this.listener = listener;
            return this;
        }

        public ExecSpec build() {
            return new ExecSpec(argv, env, Optional.ofNullable(cwd), Optional.ofNullable(user), stdin || pty != null,
                    Optional.ofNullable(pty), Optional.ofNullable(tag), Optional.ofNullable(timeout), listener);
        }
    }
}
