package dev.agentruntime;

/**
 * A backend, registered in {@code META-INF/services/dev.agentruntime.RuntimeProvider} and found by
 * {@link RuntimeFactory} through {@link java.util.ServiceLoader}.
 */
public interface RuntimeProvider {

    /** The type name users put in {@link RuntimeConfig#type()}, e.g. {@code "docker"}. */
    String type();

    /** Creates a runtime for the configuration; it is not connected yet. */
    Runtime create(RuntimeConfig config);
}
