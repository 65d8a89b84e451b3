package dev.agentruntime.gateway;

import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.gateway.internal.Sessions;
import dev.agentruntime.spi.SessionLabels;
import dev.agentruntime.testkit.DockerProbe;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/** Gateway settings and cleanup shared by the gateway's tests. */
final class TestGateways {

    static final String SECRET = "test-secret-0123456789abcdef0123456789abcdef";
    static final String IMAGE = DockerProbe.DEBIAN_IMAGE;

    private TestGateways() {
    }

    /** The API key of tenant {@code name} in these tests. */
    static String keyOf(String name) {
        return "key-of-" + name + "-0123456789";
    }

    /**
     * An in-process gateway over the local Docker engine with the test image, a free port on loopback and the
     * given tenants (session limit 5, idle timeout 30 minutes: the reaper never interferes unless a test asks).
     */
    static GatewayConfig.Builder config(String... tenants) {
        GatewayConfig.Builder b = GatewayConfig.builder().host("127.0.0.1").port(0).secret(SECRET)
                .backendType("docker").backendOption("pull.policy", "never").backendOption("publish.app.ports", "true")
                .defaultImage(IMAGE)
                .reapInterval(Duration.ofMinutes(10));
        for (String tenant : tenants) {
            b.key(tenant, keyOf(tenant), 5, Duration.ofMinutes(30));
        }
        return b;
    }

    /** The remote backend pointed at a gateway as {@code tenant}. */
    static RuntimeConfig.Builder remote(java.net.URI gateway, String tenant) {
        return RuntimeConfig.builder().type("remote").option("api.url", gateway.toString())
                .option("api.key", keyOf(tenant)).startupTimeout(Duration.ofSeconds(120));
    }

    /** Removes every sandbox of these tenants, whatever a test left (also after failures). */
    static void removeSandboxesOf(String... tenants) {
        Set<String> names = Set.of(tenants);
        try (SandboxHousekeeping docker = RuntimeFactory.housekeeping(RuntimeConfig.builder().type("docker")
                .build())) {
            for (SandboxInfo info : docker.list()) {
                Map<String, String> user = SessionLabels.parse(info.labels()).map(SessionLabels::userLabels)
                        .orElse(Map.of());
                if (user.containsKey(Sessions.LABEL_TENANT) && names.contains(user.get(Sessions.LABEL_TENANT))) {
                    docker.delete(info.sessionId());
                }
            }
        }
    }

    /** How many sandboxes these tenants have on the engine. */
    static long sandboxesOf(String tenant) {
        try (SandboxHousekeeping docker = RuntimeFactory.housekeeping(RuntimeConfig.builder().type("docker")
                .build())) {
            return docker.list().stream().filter(info -> tenant.equals(SessionLabels.parse(info.labels())
                    .map(SessionLabels::userLabels).orElse(Map.of()).get(Sessions.LABEL_TENANT))).count();
        }
    }
}
