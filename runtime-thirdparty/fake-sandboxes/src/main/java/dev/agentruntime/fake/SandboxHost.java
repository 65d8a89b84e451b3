package dev.agentruntime.fake;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Volume;
import dev.agentruntime.docker.DockerRuntimeConfig;
import dev.agentruntime.docker.internal.DockerClients;
import dev.agentruntime.fake.internal.DockerEndpoint;
import dev.agentruntime.spi.SandboxOwner;
import dev.agentruntime.spi.SessionLabels;
import dev.agentruntime.fake.internal.Execs;
import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes real sandboxes for a vendor fake: Docker containers from a local image, each with an init that reaps zombies,
 * labelled as fake-owned with this host's id and the owning process, so {@link #close()} removes them all and a later
 * host (in any JVM) reaps what a killed test run left behind.
 *
 * <pre>{@code
 * try (SandboxHost host = SandboxHost.builder().name("e2b").build()) {
 *     FakeSandbox sandbox = host.create(SandboxSpec.builder().user("user").timeout(Duration.ofMinutes(5)).build());
 *     SandboxProcess p = sandbox.exec(ExecSpec.shell("echo hi").build());
 *     p.waitFor(Duration.ofSeconds(10));           // exit code 0, "hi\n" in p.stdout()
 *     sandbox.files().write("/tmp/a.txt", "hello");
 *     InetSocketAddress server = sandbox.address(8000);
 * }
 * }</pre>
 *
 * Several hosts may live in one JVM; they share nothing.
 */
public final class SandboxHost implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SandboxHost.class);

    /** Label on every fake-owned container. */
    public static final String LABEL_MANAGED_BY = "dev.agentruntime.fake.managed-by";
    public static final String MANAGED_BY_VALUE = "fake-sandboxes";
    /** Label with the id of the {@link SandboxHost} that made the container. */
    public static final String LABEL_HOST = "dev.agentruntime.fake.host";
    /** Label with the sandbox id. */
    public static final String LABEL_SANDBOX = "dev.agentruntime.fake.sandbox";
    /** Label with the host's name (the vendor it fakes). */
    public static final String LABEL_NAME = "dev.agentruntime.fake.name";
    public static final String DEFAULT_IMAGE = "agent-runtime-test/debian:bookworm";

    private final String id;
    private final String name;
    private final String defaultImage;
    private final int outputLogCapacity;
    private final int endedProcessRetention;
    private final DockerClients.Handle docker;
    private final Execs execs;
    private final ScheduledExecutorService scheduler;
    private final Map<String, FakeSandbox> sandboxes = new ConcurrentHashMap<>();
    private final Map<String, FakeSandbox> byContainer = new ConcurrentHashMap<>();
    private final AtomicInteger threads = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Closeable events;

    private SandboxHost(Builder b) {
        this.id = HexFormat.of().formatHex(randomBytes(6));
        this.name = b.name;
        this.defaultImage = b.defaultImage;
        this.outputLogCapacity = b.outputLogCapacity;
        this.endedProcessRetention = b.endedProcessRetention;
        DockerRuntimeConfig.Builder connection = DockerRuntimeConfig.builder();
        if (b.dockerHost != null) {
            connection.dockerHost(b.dockerHost);
        }
        this.docker = DockerClients.open(connection.build());
        this.execs = new Execs(docker.client(), new DockerEndpoint(docker.dockerHost()));
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, task -> {
            Thread thread = new Thread(task, "fake-sandboxes-" + name + "-timer-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        timer.setRemoveOnCancelPolicy(true);
        this.scheduler = timer;
        try {
            docker.client().pingCmd().exec();
            if (b.reapOrphans) {
                reapOrphans(docker.client());
            }
            this.events = watchEvents();
        } catch (RuntimeException e) {
            scheduler.shutdownNow();
            docker.close();
            throw new FakeSandboxException("Cannot start the fake sandbox host " + name + ": the Docker engine at "
                    + docker.dockerHost() + " does not answer (" + e.getMessage() + "); start dockerd or set "
                    + "DOCKER_HOST", e);
        }
        log.info("fake sandbox host {} ({}) on {}", name, id, docker.dockerHost());
    }

    public static Builder builder() {
        return new Builder();
    }

    /** This host's id, on the {@link #LABEL_HOST} label of its containers. */
    public String id() {
        return id;
    }

    public String name() {
        return name;
    }

    /**
     * Creates and starts a sandbox; returns when processes can run in it.
     *
     * @throws FakeSandboxException when the image is not present locally (the fakes never pull) or the engine fails
     */
    public FakeSandbox create(SandboxSpec spec) {
        if (closed.get()) {
            throw new IllegalStateException("fake sandbox host " + name + " is closed");
        }
        String sandboxId = spec.id().orElseGet(() -> HexFormat.of().formatHex(randomBytes(8)));
        if (sandboxes.containsKey(sandboxId)) {
            throw new IllegalArgumentException("sandbox " + sandboxId + " already exists on host " + name);
        }
        String image = spec.image().orElse(defaultImage);
        Map<String, String> labels = new LinkedHashMap<>(spec.labels());
        SandboxOwner owner = SandboxOwner.current();
        labels.put(LABEL_MANAGED_BY, MANAGED_BY_VALUE);
        labels.put(LABEL_HOST, id);
        labels.put(LABEL_NAME, name);
        labels.put(LABEL_SANDBOX, sandboxId);
        // the owner in the kit's label form, so SessionLabels.parseOwner reads it back
        labels.put(SessionLabels.PREFIX + SessionLabels.OWNER_HOST, owner.host());
        labels.put(SessionLabels.PREFIX + SessionLabels.OWNER_PID, Long.toString(owner.pid()));
        labels.put(SessionLabels.PREFIX + SessionLabels.OWNER_STARTED, Long.toString(owner.startedMillis()));
        owner.bootId().ifPresent(boot -> labels.put(SessionLabels.PREFIX + SessionLabels.OWNER_BOOT_ID, boot));
        labels.put(SessionLabels.PREFIX + SessionLabels.CREATED_AT, Instant.now().toString());

        HostConfig hostConfig = HostConfig.newHostConfig().withInit(true).withNetworkMode("bridge");
        if (spec.memoryBytes() > 0) {
            hostConfig.withMemory(spec.memoryBytes()).withMemorySwap(spec.memoryBytes());
        }
        if (spec.cpus() > 0) {
            hostConfig.withNanoCPUs((long) (spec.cpus() * 1e9));
        }
        if (!spec.binds().isEmpty()) {
            hostConfig.withBinds(spec.binds().stream().map(bind -> new Bind(bind.hostPath().toString(),
                    new Volume(bind.containerPath()), bind.readOnly() ? AccessMode.ro : AccessMode.rw)).toList());
        }
        List<String> env = new ArrayList<>();
        spec.env().forEach((k, v) -> env.add(k + "=" + v));
        List<String> command = spec.command().isEmpty() ? List.of("sleep", "infinity") : spec.command();
        String containerName = ("fake-" + name + "-" + sandboxId).replaceAll("[^a-zA-Z0-9_.-]", "-");
        String containerId;
        try {
            CreateContainerCmd create = docker.client().createContainerCmd(image).withName(containerName)
                    .withLabels(labels).withEnv(env).withCmd(command).withHostConfig(hostConfig);
            spec.hostname().ifPresent(create::withHostName);
            spec.workingDir().ifPresent(create::withWorkingDir);
            containerId = create.exec().getId();
        } catch (NotFoundException e) {
            throw new FakeSandboxException("Cannot create sandbox " + sandboxId + ": image " + image + " is not "
                    + "present locally (the fakes never pull; the test images come from .ci/docker-setup.sh)", e);
        } catch (DockerException e) {
            throw new FakeSandboxException("Cannot create sandbox " + sandboxId + " from " + image + ": "
                    + e.getMessage(), e);
        }
        FakeSandbox sandbox = new FakeSandbox(this, sandboxId, containerId, spec);
        sandboxes.put(sandboxId, sandbox);
        byContainer.put(containerId, sandbox);
        try {
            docker.client().startContainerCmd(containerId).exec();
            String address = sandbox.inspectAddress();
            if (spec.user().isPresent()) {
                createUser(sandbox, spec);
            }
            sandbox.started(address);
        } catch (RuntimeException e) {
            sandbox.kill();
            sandboxes.remove(sandboxId);
            byContainer.remove(containerId);
            if (e instanceof FakeSandboxException f) {
                throw f;
            }
            throw new FakeSandboxException("Cannot start sandbox " + sandboxId + " from " + image + ": "
                    + e.getMessage(), e);
        }
        log.info("sandbox {} created on host {} (container {})", sandboxId, name, containerId.substring(0, 12));
        return sandbox;
    }

    private void createUser(FakeSandbox sandbox, SandboxSpec spec) {
        String user = spec.user().orElseThrow();
        String uid = spec.uid().isPresent() ? Integer.toString(spec.uid().getAsInt()) : "";
        String script = """
                id -u "$1" >/dev/null 2>&1 && exit 0
                if command -v useradd >/dev/null 2>&1; then
                  useradd -m -s /bin/bash ${2:+-u "$2"} "$1"
                else
                  adduser -D -s /bin/sh ${2:+-u "$2"} "$1"
                fi
                """;
        try {
            Execs.Result result = execs.run(sandbox.containerId(), Optional.of("root"),
                    List.of("/bin/sh", "-c", script, "sh", user, uid), null, null, 4096);
            if (result.code() != 0) {
                throw new FakeSandboxException("Cannot create user " + user + " in sandbox " + sandbox.id() + ": "
                        + result.stderr().strip());
            }
        } catch (IOException e) {
            throw new FakeSandboxException("Cannot create user " + user + " in sandbox " + sandbox.id() + ": "
                    + e.getMessage(), e);
        }
    }

    /** A sandbox of this host by id (also dead ones, until {@link #forget}). */
    public Optional<FakeSandbox> find(String sandboxId) {
        return Optional.ofNullable(sandboxes.get(sandboxId));
    }

    /** Every sandbox of this host, dead ones included. */
    public List<FakeSandbox> sandboxes() {
        return List.copyOf(sandboxes.values());
    }

    /** Drops a dead sandbox from this host's table (kills it first if it is not dead). */
    public void forget(String sandboxId) {
        FakeSandbox sandbox = sandboxes.remove(sandboxId);
        if (sandbox != null) {
            sandbox.kill();
            byContainer.remove(sandbox.containerId());
        }
    }

    /** Ids of the containers the engine has with this host's label (for leak checks). */
    public List<String> containerIds() {
        return docker.client().listContainersCmd().withShowAll(true).withLabelFilter(Map.of(LABEL_HOST, id)).exec()
                .stream().map(Container::getId).toList();
    }

    /** Removes every sandbox and releases the engine connection. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        for (FakeSandbox sandbox : sandboxes.values()) {
            try {
                sandbox.end(SandboxState.Reason.HOST_CLOSED);
            } catch (RuntimeException e) {
                log.warn("closing sandbox {}: {}", sandbox.id(), e.toString());
            }
        }
        try {
            for (String leftover : containerIds()) {
                docker.client().removeContainerCmd(leftover).withForce(true).withRemoveVolumes(true).exec();
            }
        } catch (DockerException e) {
            log.warn("fake sandbox host {}: sweeping containers failed: {}", name, e.getMessage());
        }
        try {
            events.close();
        } catch (IOException ignored) {
            // stream already gone
        }
        scheduler.shutdownNow();
        docker.close();
        log.info("fake sandbox host {} ({}) closed", name, id);
    }

    /**
     * Removes fake-owned containers whose owning process is gone (a test JVM killed before it closed its host), on
     * the default Docker engine. Runs at every host start unless disabled.
     *
     * @return the removed containers' names
     */
    public static List<String> reapOrphans() {
        try (DockerClients.Handle handle = DockerClients.open(DockerRuntimeConfig.defaults())) {
            return reapOrphans(handle.client());
        }
    }

    private static List<String> reapOrphans(DockerClient client) {
        SandboxOwner here = SandboxOwner.current();
        List<String> removed = new ArrayList<>();
        for (Container c : client.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(LABEL_MANAGED_BY, MANAGED_BY_VALUE)).exec()) {
            Optional<SandboxOwner> owner = SessionLabels.parseOwner(c.getLabels() == null ? Map.of() : c.getLabels());
            if (owner.isPresent() && owner.get().isGoneOn(here)) {
                try {
                    client.removeContainerCmd(c.getId()).withForce(true).withRemoveVolumes(true).exec();
                    removed.add(c.getNames() != null && c.getNames().length > 0 ? c.getNames()[0] : c.getId());
                } catch (NotFoundException e) {
                    // someone else reaped it
                }
            }
        }
        if (!removed.isEmpty()) {
            log.info("reaped {} fake sandbox container(s) of gone owners: {}", removed.size(), removed);
        }
        return removed;
    }

    private Closeable watchEvents() {
        ResultCallback.Adapter<Event> callback = new ResultCallback.Adapter<>() {
            @Override
            public void onNext(Event event) {
                FakeSandbox sandbox = event.getId() == null ? null : byContainer.get(event.getId());
                if (sandbox == null || event.getAction() == null) {
                    return;
                }
                switch (event.getAction()) {
                    case "oom" -> sandbox.onOom();
                    case "die" -> scheduler.execute(sandbox::onDie);
                    default -> {
                    }
                }
            }
        };
        return docker.client().eventsCmd().withLabelFilter(Map.of(LABEL_HOST, id)).withEventFilter("die", "oom")
                .exec(callback);
    }

    // --------------------------------------------------------------------------------------------- internal ---

    DockerClient docker() {
        return docker.client();
    }

    Execs execs() {
        return execs;
    }

    ScheduledExecutorService scheduler() {
        return scheduler;
    }

    int outputLogCapacity() {
        return outputLogCapacity;
    }

    int endedProcessRetention() {
        return endedProcessRetention;
    }

    void startThread(String what, Runnable task) {
        Thread thread = new Thread(task, "fake-sandboxes-" + name + "-" + what + "-" + threads.incrementAndGet());
        thread.setDaemon(true);
        thread.start();
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        new SecureRandom().nextBytes(bytes);
        return bytes;
    }

    @Override
    public String toString() {
        return "SandboxHost[" + name + ", " + id + ", " + sandboxes.size() + " sandbox(es)]";
    }

    public static final class Builder {
        private String name = "fake";
        private String defaultImage = DEFAULT_IMAGE;
        private URI dockerHost;
        private int outputLogCapacity = 4 * 1024 * 1024;
        private int endedProcessRetention = 256;
        private boolean reapOrphans = true;

        /** The vendor faked, for labels, logs and thread names. */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name);
            return this;
        }

        public Builder defaultImage(String image) {
            this.defaultImage = Objects.requireNonNull(image);
            return this;
        }

        /** The engine; default: docker-java's resolution ({@code DOCKER_HOST}, contexts, the local socket). */
        public Builder dockerHost(URI dockerHost) {
            this.dockerHost = dockerHost;
            return this;
        }

        /** Bytes of each output stream of each process kept for replay (default 4 MiB). */
        public Builder outputLogCapacity(int bytes) {
            this.outputLogCapacity = bytes;
            return this;
        }

        /** Ended processes kept per sandbox for late readers (default 256). */
        public Builder endedProcessRetention(int count) {
            this.endedProcessRetention = count;
            return this;
        }

        /** Whether to reap containers of gone owners at start (default true). */
        public Builder reapOrphans(boolean reap) {
            this.reapOrphans = reap;
            return this;
        }

        public SandboxHost build() {
            return new SandboxHost(this);
        }
    }
}
