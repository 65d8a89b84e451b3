package dev.agentruntime.fake;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A sandbox to create. Everything is optional; {@code SandboxSpec.builder().build()} is a running container of the
 * host's default image, as root, that lives until removed.
 *
 * @param id the sandbox id the fake wants (its vendor's id format); empty = a random one
 * @param image a local image (fakes never pull); empty = the host's default
 * @param env environment of the container and so of every process in it
 * @param labels extra container labels (the host adds its own)
 * @param cpus CPU limit in cores, 0 = none
 * @param memoryBytes memory limit (swap disabled), 0 = none
 * @param hostname the container's host name
 * @param workingDir default working directory of processes and of relative file paths
 * @param user a non-root user created at start (home {@code /home/<user>}, shell bash) who runs processes and owns
 *     written files by default; empty = root
 * @param uid that user's id
 * @param command the main process; empty = one that waits forever. When it exits, the sandbox dies
 *     ({@link SandboxState.Reason#MAIN_PROCESS_EXITED})
 * @param timeout hard lifetime, counted while running; empty = none (see {@link FakeSandbox#setTimeout})
 * @param onTimeout kill or pause when the timeout passes
 * @param binds host paths mounted into the container (e.g. a Java runtime for our action server)
 */
public record SandboxSpec(Optional<String> id, Optional<String> image, Map<String, String> env,
        Map<String, String> labels, double cpus, long memoryBytes, Optional<String> hostname,
        Optional<String> workingDir, Optional<String> user, OptionalInt uid, List<String> command,
        Optional<Duration> timeout, TimeoutAction onTimeout, List<Bind> binds) {

    /** A host path mounted at {@code containerPath}. */
    public record Bind(Path hostPath, String containerPath, boolean readOnly) {
        public Bind {
            Objects.requireNonNull(hostPath);
            if (!containerPath.startsWith("/")) {
                throw new IllegalArgumentException("container path must be absolute: " + containerPath);
            }
        }
    }

    public SandboxSpec {
        env = Map.copyOf(env);
        labels = Map.copyOf(labels);
        command = List.copyOf(command);
        binds = List.copyOf(binds);
        if (cpus < 0 || memoryBytes < 0) {
            throw new IllegalArgumentException("cpus and memory must not be negative");
        }
        user.ifPresent(u -> {
            if (!u.matches("[a-z_][a-z0-9_-]{0,31}")) {
                throw new IllegalArgumentException("not a valid user name: " + u);
            }
        });
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.id = id.orElse(null);
        b.image = image.orElse(null);
        b.env.putAll(env);
        b.labels.putAll(labels);
        b.cpus = cpus;
        b.memoryBytes = memoryBytes;
        b.hostname = hostname.orElse(null);
        b.workingDir = workingDir.orElse(null);
        b.user = user.orElse(null);
        b.uid = uid.isPresent() ? uid.getAsInt() : null;
        b.command.addAll(command);
        b.timeout = timeout.orElse(null);
        b.onTimeout = onTimeout;
        b.binds.addAll(binds);
        return b;
    }

    public static final class Builder {
        private String id;
        private String image;
        private final Map<String, String> env = new LinkedHashMap<>();
        private final Map<String, String> labels = new LinkedHashMap<>();
        private double cpus;
        private long memoryBytes;
        private String hostname;
        private String workingDir;
        private String user;
        private Integer uid;
        private final List<String> command = new ArrayList<>();
        private Duration timeout;
        private TimeoutAction onTimeout = TimeoutAction.KILL;
        private final List<Bind> binds = new ArrayList<>();

        public Builder id(String id) {
            this.id = id;
            return this;
        }

        public Builder image(String image) {
            this.image = image;
            return this;
        }

        public Builder env(String name, String value) {
            env.put(Objects.requireNonNull(name), Objects.requireNonNull(value));
            return this;
        }

        public Builder env(Map<String, String> vars) {
            vars.forEach(this::env);
            return this;
        }

        public Builder label(String name, String value) {
            labels.put(Objects.requireNonNull(name), Objects.requireNonNull(value));
            return this;
        }

        public Builder cpus(double cpus) {
            this.cpus = cpus;
            return this;
        }

        public Builder memoryBytes(long memoryBytes) {
            this.memoryBytes = memoryBytes;
            return this;
        }

        public Builder hostname(String hostname) {
            this.hostname = hostname;
            return this;
        }

        public Builder workingDir(String workingDir) {
            this.workingDir = workingDir;
            return this;
        }

        public Builder user(String user) {
            this.user = user;
            return this;
        }

        public Builder user(String user, int uid) {
            this.user = user;
            this.uid = uid;
            return this;
        }

        public Builder command(String... command) {
            this.command.clear();
            this.command.addAll(List.of(command));
            return this;
        }

        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        public Builder onTimeout(TimeoutAction action) {
            this.onTimeout = Objects.requireNonNull(action);
            return this;
        }

        public Builder bind(Path hostPath, String containerPath, boolean readOnly) {
            binds.add(new Bind(hostPath, containerPath, readOnly));
            return this;
        }

        public SandboxSpec build() {
            return new SandboxSpec(Optional.ofNullable(id), Optional.ofNullable(image), env, labels, cpus, memoryBytes,
                    Optional.ofNullable(hostname), Optional.ofNullable(workingDir), Optional.ofNullable(user),
                    uid == null ? OptionalInt.empty() : OptionalInt.of(uid), command, Optional.ofNullable(timeout),
                    onTimeout, binds);
        }
    }
}
