package dev.agentruntime.spi;

/**
 * Marker for a backend's own typed configuration (e.g. {@code DockerRuntimeConfig}), passed through
 * {@link dev.agentruntime.RuntimeConfig.Builder#backendConfig(BackendConfig)}. Backends also accept the same settings as
 * string {@link dev.agentruntime.RuntimeConfig#options()}, converted once and checked against the keys they know.
 */
public interface BackendConfig {
}
