/**
 * The Docker backend: {@code RuntimeConfig.builder().type("docker")}. Start with {@link dev.agentruntime.docker.DockerRuntime}
 * (what a sandbox is and how it lives), {@link dev.agentruntime.docker.DockerRuntimeConfig} (every setting, typed or
 * as string options) and {@link dev.agentruntime.docker.DockerSandboxes} (reap, delete, prepare images).
 *
 * <h2>Why docker-java with the zerodep transport</h2>
 * docker-java honours {@code DOCKER_HOST}, Docker contexts and the TLS variables exactly as the Docker CLI does, and is
 * what Testcontainers uses. Of its transports, zerodep is a JDK-socket HTTP client shaded into a single jar (with JNA
 * for Unix sockets and Windows named pipes), so this backend adds no second HTTP stack — no Apache httpclient5,
 * OkHttp 3 or Jersey — to an application's dependency tree, and cannot clash with the HTTP client the application
 * already uses. Users who need another transport can pass their own client with
 * {@link dev.agentruntime.docker.DockerRuntimeConfig.Builder#dockerClient}.
 */
package dev.agentruntime.docker;
