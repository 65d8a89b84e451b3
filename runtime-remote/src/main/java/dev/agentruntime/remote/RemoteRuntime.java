package dev.agentruntime.remote;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.Action;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendException;
import dev.agentruntime.Capability;
import dev.agentruntime.Observation;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeDisconnectedException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.RuntimeStartupException;
import dev.agentruntime.RuntimeStatus;
import dev.agentruntime.RuntimeTimeoutException;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.remote.internal.BuildContexts;
import dev.agentruntime.remote.internal.RemoteApi;
import dev.agentruntime.remote.internal.RemoteApi.RemoteRuntimeInfo;
import dev.agentruntime.spi.ActionServerClient;
import dev.agentruntime.spi.ActionServerRuntime;
import dev.agentruntime.spi.ControlPlaneErrors;
import dev.agentruntime.spi.Retry;
import dev.agentruntime.spi.ServerEndpoint;
import dev.agentruntime.spi.ServerLaunch;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sandbox from a server of OpenHands' Remote Runtime API — the hosted service, or our {@code runtime-gateway} in
 * front of Docker or Kubernetes. Usually made by {@link dev.agentruntime.RuntimeFactory} for {@code type("remote")}:
 *
 * <pre>{@code
 * RuntimeConfig config = RuntimeConfig.builder().type("remote")
 *         .option("api.url", "https://gateway.example.com").option("api.key", System.getenv("SANDBOX_API_KEY"))
 *         .option("image", "python:3.12-slim")
 *         .build();
 * try (dev.agentruntime.Runtime sandbox = RuntimeFactory.connect(config)) {
 *     System.out.println(sandbox.run("uname -a").content());
 * }
 * }</pre>
 *
 * <h2>Lifecycle (as OpenHands' {@code RemoteRuntime})</h2>
 * {@link #connect()} asks {@code GET /sessions/{session id}}: a {@code running} runtime is reused, a {@code paused}
 * one resumed ({@code POST /resume}); otherwise (stopped, none) a new one is started with {@code POST /start} — after
 * building its image through {@code /build} when a build context is configured — or, with
 * {@link RuntimeConfig#attachToExisting()}, a {@link RuntimeNotFoundException} is thrown. Then, against one
 * deadline, {@code GET /runtime/{runtime_id}} is polled until {@code pod_status} is {@code ready} and the server's
 * {@code /alive} answers; {@code failed}, {@code unknown} and {@code crashloopbackoff} end the wait with OpenHands'
 * messages. Actions go to the {@code url} the API answered with, carrying its {@code session_api_key} as
 * {@code X-Session-API-Key} (and the API key, as OpenHands' client does). {@link #close()} stops the runtime
 * ({@code POST /stop}), or with keep-alive pauses it ({@code POST /pause}, unless pause-on-close is off).
 *
 * <h2>Errors of action calls</h2>
 * 404 → {@link RuntimeDisconnectedException} "Runtime is not responding..."; 502 and 504 → "Runtime is temporarily
 * unavailable..."; 503 (the server's word for a paused runtime) → with keep-alive, one {@code /resume} and the call
 * sent again, else "temporarily unavailable"; 429 → sent again after the server's {@code Retry-After}, at most three
 * times in all.
 */
public final class RemoteRuntime extends ActionServerRuntime {

    private static final Logger log = LoggerFactory.getLogger(RemoteRuntime.class);
    static final String NOT_RESPONDING = "Runtime is not responding. This may be temporary, please try again.";
    static final String TEMPORARILY_UNAVAILABLE = "Runtime is temporarily unavailable. This may be due to a restart"
            + " or network issue, please try again.";
    static final String CRASHED = "Runtime crashed and is being restarted, potentially due to memory usage. Please"
            + " try again.";
    private static final int ACTION_ATTEMPTS = 3;

    /**
     * What this runtime knows of its remote runtime, replaced as a whole.
     *
     * @param createdHere started by this runtime's {@code /start} (a failed start stops it; a found one is left)
     */
    private record Remote(String runtimeId, ServerEndpoint endpoint, Map<String, Integer> workHosts,
                          boolean createdHere) {
    }

    /** A 503 of an action call with keep-alive: resume once and send again. */
    private static final class PausedRemotely extends RuntimeDisconnectedException {
        PausedRemotely(String message) {
            super(message);
        }
    }

    /** A 429 of an action call: nothing was done, send again after the wait. */
    private static final class ActionRateLimited extends BackendException {
        ActionRateLimited(String message, Duration retryAfter) {
            super(message, true, retryAfter, null);
        }
    }

    private final RemoteRuntimeConfig remote;
    private final RemoteApi api;
    // written by the lifecycle hooks (under the base class's lifecycle lock); volatile for readers
    private volatile Remote current;

    public RemoteRuntime(RuntimeConfig config) {
        this(config, RemoteRuntimeConfig.from(config), null);
    }

    /** For tests: the API client to use. */
    RemoteRuntime(RuntimeConfig config, RemoteRuntimeConfig remote, RemoteApi api) {
        super(config);
        this.remote = remote;
        this.api = api != null ? api : new RemoteApi(remote);
    }

    /** The remote settings in use. */
    public RemoteRuntimeConfig remoteConfig() {
        return remote;
    }

    /** The API's id of the runtime, once started or found. */
    public Optional<String> runtimeId() {
        return Optional.ofNullable(current).map(Remote::runtimeId);
    }

    @Override
    public Set<Capability> capabilities() {
        EnumSet<Capability> caps = serverCapabilities();
        caps.addAll(EnumSet.of(Capability.PAUSE_RESUME, Capability.ATTACH, Capability.ISOLATION));
        Remote known = current;
        if (known != null && !known.workHosts().isEmpty()) {
            caps.add(Capability.WEB_HOSTS);
        }
        return Collections.unmodifiableSet(caps);
    }

    /** The API's {@code work_hosts}: URL → port inside the sandbox. */
    @Override
    public Map<String, Integer> webHosts() {
        Remote known = current;
        return known == null ? Map.of() : known.workHosts();
    }

    // ------------------------------------------------------------------------------------------------ start ---

    @Override
    protected ServerEndpoint startSandbox(Instant deadline) {
        String sid = config.sessionId();
        Optional<RemoteRuntimeInfo> existing = api.session(sid);
        String state = existing.flatMap(RemoteRuntimeInfo::status).map(s -> s.toLowerCase(Locale.ROOT)).orElse("");
        if (existing.isPresent() && (state.equals("running") || state.equals("paused") || state.equals("starting"))) {
            Remote found = remember(existing.get(), false);
            log.info("sandbox {}: found remote runtime {} ({})", sid, found.runtimeId(), state);
            if (state.equals("paused")) {
                setStatus(RuntimeStatus.STARTING_RUNTIME, "Resuming paused remote runtime " + found.runtimeId());
                api.resume(found.runtimeId());
            }
            return found.endpoint();
        }
        if (config.attachToExisting()) {
            throw new RuntimeNotFoundException("Could not find existing runtime for SID: " + sid + " (the "
                    + "Remote runtime API at " + api.baseUrl() + " says " + (existing.isEmpty() ? "there is none"
                    : "it is " + state) + "); connect without attachToExisting to start one.");
        }
        Optional<String> image = image(deadline);
        setStatus(RuntimeStatus.STARTING_RUNTIME, "Starting a remote runtime for session " + sid
                + image.map(i -> " from " + i).orElse(""));
        Remote started = remember(api.start(startRequest(image), sid), true);
        log.info("sandbox {}: started remote runtime {} at {}", sid, started.runtimeId(),
                started.endpoint().baseUrl());
        return started.endpoint();
    }

    private ObjectNode startRequest(Optional<String> image) {
        ObjectNode body = WireCodec.MAPPER.createObjectNode();
        image.ifPresent(i -> body.put("image", i));
        if (!remote.command().isEmpty()) {
            remote.command().forEach(body.putArray("command")::add);
        }
        remote.workingDir().ifPresent(dir -> body.put("working_dir", dir));
        ObjectNode environment = body.putObject("environment");
        config.environment().forEach(environment::put);
        // the one knob OpenHands' server and ours read from the environment
        environment.put(ServerLaunch.ENV_NO_CHANGE_TIMEOUT, Long.toString(config.noChangeTimeout().toSeconds()));
        body.put("session_id", config.sessionId());
        body.put("resource_factor", remote.resourceFactor());
        remote.runtimeClassOnTheWire().ifPresent(c -> body.put("runtime_class", c));
        return body;
    }

    /** The image to start: configured, built through {@code /build} from the build context, or the server's. */
    private Optional<String> image(Instant deadline) {
        if (remote.buildContext().isEmpty()) {
            return remote.image();
        }
        Path context = remote.buildContext().get();
        BuildContexts.Context tar = BuildContexts.tarGz(context);
        String target = remote.image().orElseGet(() -> api.registryPrefix().replaceAll("/+$", "") + "/runtime:ar-"
                + tar.sha256().substring(0, 16));
        if (api.imageExists(target).exists()) {
            log.info("sandbox {}: image {} of build context {} exists already", id(), target, context);
            return Optional.of(target);
        }
        setStatus(RuntimeStatus.BUILDING_RUNTIME, "Building " + target + " from " + context);
        String buildId = api.build(tar.bytes(), target, List.of());
        Duration pause = Duration.ofSeconds(1);
        while (true) {
            RemoteApi.BuildStatus status = api.buildStatus(buildId);
            if (status.succeeded()) {
                String built = status.image().orElse(target);
                if (!api.imageExists(built).exists()) {
                    throw new RuntimeStartupException("Container image " + built + " does not exist (build " + buildId
                            + " of session " + id() + " reported SUCCESS)");
                }
                return Optional.of(built);
            }
            if (status.failed()) {
                throw new RuntimeStartupException("Build " + buildId + " of image " + target + " for session " + id()
                        + " ended " + status.status() + ": " + status.error().orElse("(no error given)")
                        + ". Check the build context " + context + ".");
            }
            if (Instant.now().plus(pause).isAfter(deadline)) {
                throw new RuntimeTimeoutException("Build " + buildId + " of image " + target + " for session " + id()
                        + " was still " + status.status() + " at the startup deadline; give a longer startupTimeout"
                        + " for builds.");
            }
            sleep(pause);
            pause = pause.multipliedBy(2).compareTo(Duration.ofSeconds(10)) > 0 ? Duration.ofSeconds(10)
                    : pause.multipliedBy(2);
        }
    }

    private Remote remember(RemoteRuntimeInfo info, boolean createdHere) {
        java.net.URI url = info.url().orElseThrow(() -> new BackendException("The Remote runtime API named runtime "
                + info.runtimeId() + " of session " + id() + " without a url"));
        ServerEndpoint endpoint = new ServerEndpoint(url, info.sessionApiKey(), List.of())
                .withSecretHeader(RemoteApi.API_KEY_HEADER, remote.apiKey());
        Remote known = new Remote(info.runtimeId(), endpoint, info.workHosts(), createdHere);
        current = known;
        return known;
    }

    // ------------------------------------------------------------------------------------------------ ready ---

    /**
     * Polls {@code GET /runtime/{id}} until {@code pod_status} is {@code ready} and {@code /alive} answers, as
     * OpenHands' {@code _wait_until_alive}, but with a short back-off (50 ms doubling to 1 s) instead of a fixed 2 s.
     */
    @Override
    protected void awaitReady(ActionServerClient client, Instant deadline) {
        Remote known = current;
        Duration pause = Duration.ofMillis(50);
        String last = "(not asked yet)";
        while (true) {
            if (isClosed()) {
                throw new RuntimeUnavailableException("Runtime " + id() + " was closed while waiting for remote"
                        + " runtime " + known.runtimeId());
            }
            RemoteApi.PodStatus pod = api.runtime(known.runtimeId());
            if (!pod.runtimeId().equals(known.runtimeId())) {
                throw new BackendException("The Remote runtime API answered GET /runtime/" + known.runtimeId()
                        + " with runtime " + pod.runtimeId());
            }
            last = pod.podStatus().toLowerCase(Locale.ROOT);
            if (pod.restartCount() != 0) {
                log.debug("sandbox {}: remote runtime {} restarted {} times: {}", id(), known.runtimeId(),
                        pod.restartCount(), pod.restartReasons());
            }
            switch (last) {
                case "ready" -> {
                    if (client.isAlive()) {
                        return;
                    }
                }
                case "not found", "pending", "running" -> {
                    // not ready yet ("running" is not "ready")
                }
                case "failed", "unknown" -> throw new RuntimeUnavailableException("Runtime is unavailable (status: "
                        + last + "). Please try again. (remote runtime " + known.runtimeId() + " of session " + id()
                        + restarts(pod) + ")");
                case "crashloopbackoff" -> throw new RuntimeUnavailableException(CRASHED + " (remote runtime "
                        + known.runtimeId() + " of session " + id() + restarts(pod) + ")");
                default -> log.warn("sandbox {}: unknown pod status '{}' of remote runtime {}", id(), last,
                        known.runtimeId());
            }
            if (Instant.now().plus(pause).isAfter(deadline)) {
                throw new RuntimeTimeoutException("Remote runtime " + known.runtimeId() + " of session " + id()
                        + " was not ready before the startup deadline (last pod_status: " + last + ", url "
                        + client.baseUrl() + ").");
            }
            sleep(pause);
            pause = pause.multipliedBy(2).compareTo(Duration.ofSeconds(1)) > 0 ? Duration.ofSeconds(1)
                    : pause.multipliedBy(2);
        }
    }

    private static String restarts(RemoteApi.PodStatus pod) {
        return pod.restartCount() == 0 ? "" : ", restarted " + pod.restartCount() + " times: "
                + String.join("; ", pod.restartReasons());
    }

    @Override
    protected String failureContext() {
        Remote known = current;
        return known == null ? "" : "Remote runtime " + known.runtimeId() + " at " + known.endpoint().baseUrl() + ".";
    }

    // -------------------------------------------------------------------------------------- action errors ---

    @Override
    protected ActionServerClient newClient(ServerEndpoint endpoint) {
        return new ActionServerClient(endpoint, id()).withFailureMapper(this::mapActionFailure);
    }

    private Optional<AgentRuntimeException> mapActionFailure(String call, int status, Function<String, String> header,
                                                             String body) {
        String original = "Original error: HTTP " + status + " from " + call + " of remote runtime "
                + runtimeId().orElse("?") + " (session " + id() + ")"
                + (ControlPlaneErrors.detail(body).isEmpty() ? "" : ": " + ControlPlaneErrors.detail(body));
        return switch (status) {
            case 404 -> Optional.of(new RuntimeDisconnectedException(NOT_RESPONDING + " " + original));
            case 502, 504 -> Optional.of(new RuntimeDisconnectedException(TEMPORARILY_UNAVAILABLE + " " + original));
            case 503 -> Optional.of(config.keepAlive() ? new PausedRemotely(original)
                    : new RuntimeDisconnectedException(TEMPORARILY_UNAVAILABLE + " " + original));
            case 429 -> Optional.of(new ActionRateLimited("Rate limited: " + original,
                    ControlPlaneErrors.retryAfter(header).orElse(null)));
            default -> Optional.empty();
        };
    }

    @Override
    public Observation execute(Action action) {
        return recovering(() -> super.execute(action));
    }

    @Override
    public void copyTo(Path hostSrc, String sandboxDest, boolean recursive) {
        recovering(() -> {
            super.copyTo(hostSrc, sandboxDest, recursive);
            return null;
        });
    }

    @Override
    public Path copyFrom(String sandboxPath) {
        return recovering(() -> super.copyFrom(sandboxPath));
    }

    @Override
    public List<String> listFiles(String sandboxPath) {
        return recovering(() -> super.listFiles(sandboxPath));
    }

    /** 429: again after the wait (three attempts in all); 503 with keep-alive: one resume, then once more. */
    private <T> T recovering(Supplier<T> call) {
        Supplier<T> limited = () -> Retry.of("action on remote runtime " + runtimeId().orElse("?"),
                        Instant.now().plus(Duration.ofMinutes(5)))
                .attempts(ACTION_ATTEMPTS).backoff(Duration.ofSeconds(4), Duration.ofSeconds(60))
                .onlyWhen(e -> e instanceof ActionRateLimited).call(call);
        try {
            return limited.get();
        } catch (PausedRemotely paused) {
            log.info("sandbox {}: runtime appears to be paused (503 response); resuming remote runtime {}", id(),
                    runtimeId().orElse("?"));
            try {
                resumeRemotely();
            } catch (RuntimeException e) {
                throw new RuntimeDisconnectedException("Runtime is paused and could not be resumed. "
                        + paused.getMessage() + ", Resume error: " + e.getMessage(), e);
            }
            return limited.get();
        }
    }

    private void resumeRemotely() {
        Remote known = current;
        setStatus(RuntimeStatus.STARTING_RUNTIME, "Resuming remote runtime " + known.runtimeId() + " after a 503");
        api.resume(known.runtimeId());
        awaitReady(client(), Instant.now().plus(config.startupTimeout()));
        setStatus(RuntimeStatus.READY, "Remote runtime " + known.runtimeId() + " resumed");
    }

    // -------------------------------------------------------------------------------------- pause / resume ---

    @Override
    protected void pauseSandbox() {
        api.pause(current.runtimeId());
    }

    @Override
    protected Optional<ServerEndpoint> resumeSandbox(Instant deadline) {
        api.resume(current.runtimeId());
        return Optional.empty();
    }

    // ------------------------------------------------------------------------------------------------- stop ---

    /**
     * On close: keep-alive pauses ({@code POST /pause}, unless pause-on-close is off, then the runtime is left
     * running); else {@code POST /stop}. After a failed start only a runtime this start created is stopped.
     */
    @Override
    protected void stopSandbox() {
        Remote known = current;
        if (known == null) {
            return;
        }
        try {
            if (isClosed() && config.keepAlive()) {
                if (remote.pauseOnClose() && status() != RuntimeStatus.PAUSED) {
                    api.pause(known.runtimeId());
                    log.info("sandbox {}: keep-alive: remote runtime {} paused", id(), known.runtimeId());
                } else {
                    log.info("sandbox {}: keep-alive: remote runtime {} left {}", id(), known.runtimeId(),
                            status() == RuntimeStatus.PAUSED ? "paused" : "running");
                }
            } else if (isClosed() || known.createdHere()) {
                api.stop(known.runtimeId());
                log.info("sandbox {}: stopped remote runtime {}", id(), known.runtimeId());
            }
        } catch (RuntimeNotFoundException e) {
            log.debug("sandbox {}: remote runtime {} was already gone", id(), known.runtimeId());
        } catch (AgentRuntimeException e) {
            log.warn("sandbox {}: could not stop remote runtime {}: {}. Stop it with RemoteSandboxes.delete(\"{}\")",
                    id(), known.runtimeId(), e.getMessage(), id());
        } finally {
            if (isClosed()) {
                current = null;
            }
        }
    }

    @Override
    public void close() {
        try {
            super.close();
        } finally {
            api.close();
        }
    }

    private static void sleep(Duration pause) {
        try {
            Thread.sleep(pause.toMillis()); // back-off between two polls of the remote API
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeUnavailableException("Interrupted while waiting for the remote runtime", e);
        }
    }

    @Override
    public String toString() {
        return "RemoteRuntime[" + id() + ", runtime=" + runtimeId().orElse("-") + ", api=" + api.baseUrl()
                + ", status=" + status() + "]";
    }
}
