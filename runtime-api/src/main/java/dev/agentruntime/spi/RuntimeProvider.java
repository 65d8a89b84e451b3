package dev.agentruntime.spi;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.UnsupportedCapabilityException;
import java.util.Map;

/**
 * A backend, registered in {@code META-INF/services/dev.agentruntime.spi.RuntimeProvider} and found by
 * {@link dev.agentruntime.RuntimeFactory} through {@link java.util.ServiceLoader}.
 *
 * <pre>{@code
 * public final class AcmeRuntimeProvider implements RuntimeProvider {
 *     public String type() { return "acme"; }
 *     public Runtime create(RuntimeConfig config) { return new AcmeRuntime(config, AcmeConfig.from(config)); }
 *     public SandboxHousekeeping housekeeping(RuntimeConfig connection) { return new AcmeSandboxes(AcmeConfig.from(connection)); }
 * }
 * }</pre>
 */
public interface RuntimeProvider {

    /** The type name users put in {@link RuntimeConfig#type()}, e.g. {@code "docker"}. */
    String type();

    /** Creates a runtime for the configuration; it is not connected yet. */
    Runtime create(RuntimeConfig config);

    /**
     * Lists, deletes and reaps the sandboxes this backend manages, on the endpoint (daemon, cluster, vendor account)
     * {@code connection} points at. The default says the backend has none.
     *
     * @throws UnsupportedCapabilityException when the backend cannot find its sandboxes again
     */
    default SandboxHousekeeping housekeeping(RuntimeConfig connection) {
        throw new UnsupportedCapabilityException("The " + type() + " backend has no housekeeping");
    }

    /**
     * The options this backend's own environment variables give, for {@link RuntimeConfig#fromEnvironment()}:
     * e.g. {@code E2B_API_KEY} as option {@code api.key}. Read only from {@code environment}, never from
     * {@code System.getenv()}. None by default.
     */
    default Map<String, String> optionsFromEnvironment(Map<String, String> environment) {
        return Map.of();
    }
}
