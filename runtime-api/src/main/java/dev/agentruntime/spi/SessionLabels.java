package dev.agentruntime.spi;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.SandboxInfo;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;

/**
 * Who made a sandbox and for which session, recorded on everything a backend creates (containers, images,
 * volumes, pods, services, vendor sandboxes) so that attach, housekeeping and the reaper find it again by labels —
 * never by name alone. One backend-neutral set, rendered three ways:
 * <ul>
 *   <li>{@link #asLabels()}: Docker labels and vendor metadata/tags, keys {@code dev.agentruntime.<name>};</li>
 *   <li>{@link #asKubernetes()}: Kubernetes labels (valid label syntax: the selectable few) and annotations
 *       (everything), keys {@code agentruntime.dev/<name>};</li>
 *   <li>{@link #parse(Map)} reads either form back.</li>
 * </ul>
 *
 * @param sessionId      the session
 * @param role           what the object is: {@value #ROLE_SANDBOX}, or a backend's own role (image, volume, ...)
 * @param owner          the creating process; {@link #ownerGone()} tells whether it is certainly gone
 * @param createdAt      when it was created
 * @param keepAlive      created to outlive its owner: housekeeping never reaps it
 * @param libraryVersion this library's version
 * @param serverVersion  the action server's version (its jar digest), when known
 * @param userLabels     the caller's own labels ({@link RuntimeConfig#labels()}), recorded under
 *                       {@value #USER_PREFIX}{@code <key>} ({@value #KUBERNETES_USER_PREFIX}{@code <key>} on Kubernetes)
 */
public record SessionLabels(String sessionId, String role, SandboxOwner owner, Instant createdAt, boolean keepAlive,
                            String libraryVersion, Optional<String> serverVersion, Map<String, String> userLabels) {

    /** Key prefix of Docker labels and vendor metadata. */
    public static final String PREFIX = "dev.agentruntime.";
    /** Key prefix of Kubernetes labels and annotations (a DNS subdomain, as qualified label keys need). */
    public static final String KUBERNETES_PREFIX = "agentruntime.dev/";
    /** Key prefix of the caller's own labels in Docker labels and vendor metadata. */
    public static final String USER_PREFIX = "dev.agentruntime.label.";
    /** Key prefix of the caller's own labels on Kubernetes. */
    public static final String KUBERNETES_USER_PREFIX = "label.agentruntime.dev/";
    public static final String MANAGED_BY_VALUE = "agent-runtime";
    public static final String ROLE_SANDBOX = "sandbox";

    public static final String MANAGED_BY = "managed-by";
    public static final String SESSION_ID = "session-id";
    public static final String ROLE = "role";
    public static final String KEEP_ALIVE = "keep-alive";
    public static final String OWNER_HOST = "owner-host";
    public static final String OWNER_PID = "owner-pid";
    /** The owner's start time in epoch milliseconds: tells a reused pid from the original owner. */
    public static final String OWNER_STARTED = "owner-started";
    /** The owner host's boot id: after a reboot no pid from before is alive. */
    public static final String OWNER_BOOT_ID = "owner-boot-id";
    public static final String CREATED_AT = "created-at";
    public static final String VERSION = "version";
    public static final String SERVER_VERSION = "server-version";

    private static final String LIBRARY_VERSION = readVersion();

    public SessionLabels {
        Objects.requireNonNull(sessionId, "sessionId");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(libraryVersion, "libraryVersion");
        serverVersion = Objects.requireNonNullElse(serverVersion, Optional.empty());
        userLabels = Map.copyOf(Objects.requireNonNullElse(userLabels, Map.of()));
    }

    /** The labels of a new sandbox for {@code config}'s session, owned by this process, created now. */
    public static SessionLabels forSession(RuntimeConfig config) {
        return forSession(config.sessionId(), config.keepAlive()).withUserLabels(config.labels());
    }

    public static SessionLabels forSession(String sessionId, boolean keepAlive) {
        return new SessionLabels(sessionId, ROLE_SANDBOX, SandboxOwner.current(), Instant.now(), keepAlive,
                LIBRARY_VERSION, Optional.empty(), Map.of());
    }

    public SessionLabels withRole(String newRole) {
        return new SessionLabels(sessionId, newRole, owner, createdAt, keepAlive, libraryVersion, serverVersion,
                userLabels);
    }

    public SessionLabels withServerVersion(String version) {
        return new SessionLabels(sessionId, role, owner, createdAt, keepAlive, libraryVersion, Optional.of(version),
                userLabels);
    }

    public SessionLabels withUserLabels(Map<String, String> labels) {
        return new SessionLabels(sessionId, role, owner, createdAt, keepAlive, libraryVersion, serverVersion, labels);
    }

    /** This library's version, from the build. */
    public static String currentLibraryVersion() {
        return LIBRARY_VERSION;
    }

    /** Docker labels and vendor metadata: every entry, keys {@code dev.agentruntime.<name>}. */
    public Map<String, String> asLabels() {
        Map<String, String> labels = new LinkedHashMap<>();
        entries().forEach((name, value) -> labels.put(PREFIX + name, value));
        userLabels.forEach((key, value) -> labels.put(USER_PREFIX + key, value));
        return labels;
    }

    /**
     * Kubernetes metadata: labels are the selectable entries (managed-by, session id, role, keep-alive, whose values
     * are valid label values: the session id's own rule guarantees it), annotations carry every entry.
     */
    public KubernetesMetadata asKubernetes() {
        Map<String, String> labels = new LinkedHashMap<>();
        Map<String, String> annotations = new LinkedHashMap<>();
        entries().forEach((name, value) -> {
            annotations.put(KUBERNETES_PREFIX + name, value);
            if (name.equals(MANAGED_BY) || name.equals(SESSION_ID) || name.equals(ROLE) || name.equals(KEEP_ALIVE)) {
                labels.put(KUBERNETES_PREFIX + name, value);
            }
        });
        userLabels.forEach((key, value) -> {
            labels.put(KUBERNETES_USER_PREFIX + key, value);
            annotations.put(KUBERNETES_USER_PREFIX + key, value);
        });
        return new KubernetesMetadata(labels, annotations);
    }

    /** Kubernetes labels and annotations. */
    public record KubernetesMetadata(Map<String, String> labels, Map<String, String> annotations) {
        public KubernetesMetadata {
            labels = Map.copyOf(labels);
            annotations = Map.copyOf(annotations);
        }
    }

    /**
     * Labels for something of ours that belongs to no session (a prepared image, a probe container): managed-by, the
     * role, this process as owner, now, this library's version; in the {@link #asLabels()} form.
     */
    public static Map<String, String> ownedBy(String role) {
        Map<String, String> labels = forSession("-", false).withRole(role).asLabels();
        labels.remove(PREFIX + SESSION_ID);
        labels.remove(PREFIX + KEEP_ALIVE);
        return labels;
    }

    /** The selector for everything we manage, in the {@link #asLabels()} form. */
    public static Map<String, String> managedSelector() {
        return Map.of(PREFIX + MANAGED_BY, MANAGED_BY_VALUE);
    }

    /** The selector for one session's sandbox, in the {@link #asLabels()} form. */
    public static Map<String, String> sessionSelector(String sessionId) {
        return Map.of(PREFIX + MANAGED_BY, MANAGED_BY_VALUE, PREFIX + SESSION_ID, sessionId,
                PREFIX + ROLE, ROLE_SANDBOX);
    }

    /** The selector for everything we manage, as Kubernetes labels. */
    public static Map<String, String> kubernetesManagedSelector() {
        return Map.of(KUBERNETES_PREFIX + MANAGED_BY, MANAGED_BY_VALUE);
    }

    /** The selector for one session's sandbox, as Kubernetes labels. */
    public static Map<String, String> kubernetesSessionSelector(String sessionId) {
        return Map.of(KUBERNETES_PREFIX + MANAGED_BY, MANAGED_BY_VALUE, KUBERNETES_PREFIX + SESSION_ID, sessionId);
    }

    /**
     * Reads labels back from either form (Kubernetes labels and annotations merged into one map work too).
     *
     * @return empty when the map does not describe something we manage, or its owner entries are malformed
     */
    public static Optional<SessionLabels> parse(Map<String, String> labels) {
        Map<String, String> e = entriesOf(labels);
        if (!MANAGED_BY_VALUE.equals(e.get(MANAGED_BY)) || e.get(SESSION_ID) == null) {
            return Optional.empty();
        }
        Optional<SandboxOwner> owner = ownerOf(e);
        try {
            Instant created = e.containsKey(CREATED_AT) ? Instant.parse(e.get(CREATED_AT)) : Instant.EPOCH;
            Map<String, String> user = new LinkedHashMap<>();
            labels.forEach((key, value) -> {
                if (key.startsWith(USER_PREFIX)) {
                    user.put(key.substring(USER_PREFIX.length()), value);
                } else if (key.startsWith(KUBERNETES_USER_PREFIX)) {
                    user.put(key.substring(KUBERNETES_USER_PREFIX.length()), value);
                }
            });
            return owner.map(o -> new SessionLabels(e.get(SESSION_ID), e.getOrDefault(ROLE, ROLE_SANDBOX), o, created,
                    "true".equals(e.get(KEEP_ALIVE)), e.getOrDefault(VERSION, "unknown"),
                    Optional.ofNullable(e.get(SERVER_VERSION)), user));
        } catch (DateTimeParseException ex) {
            return Optional.empty();
        }
    }

    /**
     * The owner recorded in labels of either form, also on objects of no session (images, probes); empty when
     * the entries are missing or malformed.
     */
    public static Optional<SandboxOwner> parseOwner(Map<String, String> labels) {
        return ownerOf(entriesOf(labels));
    }

    private static Map<String, String> entriesOf(Map<String, String> labels) {
        Map<String, String> e = new LinkedHashMap<>();
        labels.forEach((key, value) -> {
            if (key.startsWith(PREFIX)) {
                e.put(key.substring(PREFIX.length()), value);
            } else if (key.startsWith(KUBERNETES_PREFIX)) {
                e.put(key.substring(KUBERNETES_PREFIX.length()), value);
            }
        });
        return e;
    }

    private static Optional<SandboxOwner> ownerOf(Map<String, String> e) {
        if (e.get(OWNER_HOST) == null || e.get(OWNER_PID) == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(new SandboxOwner(e.get(OWNER_HOST), Long.parseLong(e.get(OWNER_PID)),
                    Long.parseLong(e.getOrDefault(OWNER_STARTED, "0")), Optional.ofNullable(e.get(OWNER_BOOT_ID))));
        } catch (NumberFormatException ex) {
            return Optional.empty();
        }
    }

    /** Whether the owning process is certainly gone; never true for an owner on another host. */
    public boolean ownerGone() {
        return owner.pid() > 0 && owner.isGoneOn(SandboxOwner.current());
    }

    /** A housekeeping entry for the object these labels describe. */
    public SandboxInfo toInfo(String type, String sandboxId, String state, Map<String, String> allLabels) {
        return new SandboxInfo(type, sessionId, sandboxId, state, owner.host(), owner.pid(), ownerGone(), keepAlive,
                createdAt.equals(Instant.EPOCH) ? Optional.empty() : Optional.of(createdAt), allLabels);
    }

    private Map<String, String> entries() {
        Map<String, String> e = new LinkedHashMap<>();
        e.put(MANAGED_BY, MANAGED_BY_VALUE);
        e.put(SESSION_ID, sessionId);
        e.put(ROLE, role);
        e.put(KEEP_ALIVE, Boolean.toString(keepAlive));
        e.put(OWNER_HOST, owner.host());
        e.put(OWNER_PID, Long.toString(owner.pid()));
        e.put(OWNER_STARTED, Long.toString(owner.startedMillis()));
        owner.bootId().ifPresent(id -> e.put(OWNER_BOOT_ID, id));
        e.put(CREATED_AT, createdAt.toString());
        e.put(VERSION, libraryVersion);
        serverVersion.ifPresent(v -> e.put(SERVER_VERSION, v));
        return e;
    }

    private static String readVersion() {
        try (InputStream in = SessionLabels.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
