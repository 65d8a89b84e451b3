package dev.agentruntime.kubernetes.sim;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The simulated node's container runtime: the local Docker engine. Every container it creates carries {@link
 * #MANAGED_BY} and the cluster id, so {@link #removeAll} (on close) and {@link #reapOrphans} (containers of a test JVM
 * that died) find them by label, never by name.
 */
final class SimDocker implements AutoCloseable {

    static final String MANAGED_BY = "dev.agentruntime.k8s-sim";
    static final String CLUSTER = MANAGED_BY + ".cluster";
    static final String OWNER_PID = MANAGED_BY + ".owner-pid";
    static final String OWNER_HOST = MANAGED_BY + ".owner-host";
    static final String POD_UID = MANAGED_BY + ".pod-uid";
    static final String POD = MANAGED_BY + ".pod";
    static final String CONTAINER = MANAGED_BY + ".container";

    private final DockerClient client;

    private SimDocker(DockerClient client) {
        this.client = client;
    }

    /** A client from docker-java's defaults ({@code DOCKER_HOST}, contexts), over the JDK-socket transport. */
    static SimDocker open() {
        DockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder().build();
        ZerodepDockerHttpClient http = new ZerodepDockerHttpClient.Builder()
                .dockerHost(config.getDockerHost())
                .sslConfig(config.getSSLConfig())
                .maxConnections(64)
                .connectionTimeout(Duration.ofSeconds(10))
                .build();
        return new SimDocker(DockerClientImpl.getInstance(config, http));
    }

    DockerClient client() {
        return client;
    }

    /** Why Docker cannot back a simulated node, or empty when it can. */
    static Optional<String> unavailable(List<String> images) {
        try (SimDocker docker = open()) {
            try {
                docker.client.pingCmd().exec();
            } catch (RuntimeException e) {
                return Optional.of("no Docker engine answers (" + e.getMessage() + "); start dockerd or set DOCKER_HOST");
            }
            for (String image : images) {
                if (docker.imageId(image).isEmpty()) {
                    return Optional.of("test image " + image + " is missing; build it with .ci/docker-setup.sh");
                }
            }
            return Optional.empty();
        } catch (RuntimeException e) {
            return Optional.of("cannot configure a Docker client (" + e.getMessage() + ")");
        }
    }

    Optional<String> imageId(String image) {
        try {
            return Optional.ofNullable(client.inspectImageCmd(image).exec().getId());
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }

    /** The image's configured user ({@code USER}), empty for root by default. */
    String imageUser(String image) {
        var config = client.inspectImageCmd(image).exec().getConfig();
        return config == null || config.getUser() == null ? "" : config.getUser();
    }

    Optional<InspectContainerResponse> inspect(String id) {
        try {
            return Optional.of(client.inspectContainerCmd(id).exec());
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }

    /** SIGTERM, then SIGKILL after {@code grace} (Docker's stop); returns when the container is dead. */
    void stop(String id, long graceSeconds) {
        try {
            client.stopContainerCmd(id).withTimeout((int) Math.max(0, Math.min(graceSeconds, Integer.MAX_VALUE))).exec();
        } catch (NotFoundException e) {
            // already gone
        } catch (com.github.dockerjava.api.exception.NotModifiedException e) {
            // already stopped
        }
    }

    void remove(String id) {
        try {
            client.removeContainerCmd(id).withForce(true).withRemoveVolumes(true).exec();
        } catch (NotFoundException e) {
            // already gone
        } catch (com.github.dockerjava.api.exception.ConflictException e) {
            // removal already in progress
        }
    }

    /**
     * The container's output, stdout and stderr merged in the order Docker received the lines (Docker copies the two
     * streams separately, so its own order across them can be off by microseconds; the lines are sorted by the
     * timestamps it gave them), with {@code <RFC3339Nano> } prefixes when {@code timestamps}.
     */
    String logs(String id, boolean timestamps, Integer tail, Integer sinceEpochSeconds) {
        List<String[]> lines = new java.util.ArrayList<>();
        var cmd = client.logContainerCmd(id).withStdOut(true).withStdErr(true).withTimestamps(true);
        if (tail != null) {
            cmd.withTail(tail);
        }
        if (sinceEpochSeconds != null) {
            cmd.withSince(sinceEpochSeconds);
        }
        try {
            cmd.exec(new ResultCallback.Adapter<Frame>() {
                @Override
                public void onNext(Frame frame) {
                    String text = new String(frame.getPayload(), StandardCharsets.UTF_8);
                    int space = text.indexOf(' ');
                    synchronized (lines) {
                        lines.add(space < 0 ? new String[] {"", text} : new String[] {text.substring(0, space),
                                text.substring(space + 1)});
                    }
                }
            }).awaitCompletion(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (NotFoundException e) {
            return "";
        }
        synchronized (lines) {
            lines.sort(java.util.Comparator.comparing((String[] l) -> l[0].isEmpty() ? Instant.EPOCH : Instant.parse(l[0])));
            StringBuilder out = new StringBuilder();
            for (String[] line : lines) {
                if (timestamps) {
                    out.append(line[0]).append(' ');
                }
                out.append(line[1]);
            }
            return out.toString();
        }
    }

    /** The result of a command run in a container. */
    record ExecResult(long exitCode, String stdout, String stderr, boolean timedOut) {
        String output() {
            return stdout + stderr;
        }
    }

    ExecResult exec(String id, List<String> command, Duration timeout) {
        String execId = client.execCreateCmd(id).withCmd(command.toArray(String[]::new))
                .withAttachStdout(true).withAttachStderr(true).exec().getId();
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        boolean done;
        try {
            done = client.execStartCmd(execId).exec(new ResultCallback.Adapter<Frame>() {
                @Override
                public void onNext(Frame frame) {
                    (frame.getStreamType() == StreamType.STDERR ? stderr : stdout).writeBytes(frame.getPayload());
                }
            }).awaitCompletion(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            done = false;
        }
        Long exit = done ? client.inspectExecCmd(execId).exec().getExitCodeLong() : null;
        return new ExecResult(exit == null ? -1 : exit, stdout.toString(StandardCharsets.UTF_8),
                stderr.toString(StandardCharsets.UTF_8), !done);
    }

    /** Every container of the cluster (all states). */
    List<Container> containers(String clusterId) {
        return client.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(CLUSTER, clusterId)).exec();
    }

    /** Force-removes every container of the cluster. */
    void removeAll(String clusterId) {
        for (Container c : containers(clusterId)) {
            remove(c.getId());
        }
    }

    /**
     * Removes the containers and work directories of simulated clusters whose owning JVM on this host is gone (a
     * test JVM killed before it could close its cluster).
     */
    static void reapOrphans(SimDocker docker, Path workRoot, String host) {
        for (Container c : docker.client.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(OWNER_HOST, host)).exec()) {
            String pid = c.getLabels().get(OWNER_PID);
            if (pid != null && ProcessHandle.of(Long.parseLong(pid)).isEmpty()) {
                docker.remove(c.getId());
            }
        }
        if (Files.isDirectory(workRoot)) {
            try (Stream<Path> clusters = Files.list(workRoot)) {
                clusters.filter(dir -> {
                    Path owner = dir.resolve("owner-pid");
                    try {
                        return Files.exists(owner)
                                && ProcessHandle.of(Long.parseLong(Files.readString(owner).trim())).isEmpty();
                    } catch (IOException | NumberFormatException e) {
                        return false;
                    }
                }).forEach(SimDocker::deleteTree);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + workRoot, e);
            }
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot delete " + p, e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + root, e);
        }
    }

    static Instant time(String dockerTime) {
        if (dockerTime == null || dockerTime.startsWith("0001-")) {
            return null;
        }
        return Instant.parse(dockerTime);
    }

    @Override
    public void close() {
        try {
            client.close();
        } catch (IOException | RuntimeException ignored) {
            // closing a connection pool
        }
    }
}
