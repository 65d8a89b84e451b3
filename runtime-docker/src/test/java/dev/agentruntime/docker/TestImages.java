package dev.agentruntime.docker;

/** The locally built images the integration tests use (see .ci/docker-setup.sh); no registry is needed. */
final class TestImages {

    /** Debian bookworm minbase: bash and glibc, no Java, no Python. */
    static final String DEBIAN = System.getProperty("agent.runtime.test.image", "agent-runtime-test/debian:bookworm");
    /** Only a static busybox: no bash. */
    static final String NO_BASH = System.getProperty("agent.runtime.test.nobashImage",
            "agent-runtime-test/nobash:latest");

    private TestImages() {
    }
}
