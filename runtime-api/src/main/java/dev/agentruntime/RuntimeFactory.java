package dev.agentruntime;

import dev.agentruntime.spi.RuntimeProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Creates runtimes from configuration by finding the backend whose {@link RuntimeProvider#type()} matches
 * {@link RuntimeConfig#type()} on the class path.
 *
 * <pre>{@code
 * dev.agentruntime.Runtime sandbox = RuntimeFactory.create(RuntimeConfig.builder().type("docker").build());
 * }</pre>
 */
public final class RuntimeFactory {

    private RuntimeFactory() {
    }

    /**
     * Creates (but does not connect) a runtime.
     *
     * @throws UnknownRuntimeTypeException listing the available types when no backend matches
     */
    public static Runtime create(RuntimeConfig config) {
        return provider(config.type(), Thread.currentThread().getContextClassLoader()).create(config);
    }

    /** Creates and connects a runtime in one call; closes it again if connecting fails. */
    public static Runtime connect(RuntimeConfig config) {
        Runtime runtime = create(config);
        try {
            runtime.connect();
            return runtime;
        } catch (RuntimeException e) {
            try {
                runtime.close();
            } catch (RuntimeException closeFailure) {
                e.addSuppressed(closeFailure); // close() must not throw; if a backend's does, keep the real cause
            }
            throw e;
        }
    }

    /**
     * Housekeeping for the backend of {@code config.type()}, on the endpoint its options point at: list, delete and
     * reap the sandboxes it manages.
     *
     * @throws UnknownRuntimeTypeException     listing the available types when no backend matches
     * @throws UnsupportedCapabilityException when the backend cannot find its sandboxes again
     */
    public static SandboxHousekeeping housekeeping(RuntimeConfig config) {
        return provider(config.type(), Thread.currentThread().getContextClassLoader()).housekeeping(config);
    }

    /** The types of all backends on the class path, in discovery order. */
    public static List<String> availableTypes() {
        List<String> types = new ArrayList<>();
        for (RuntimeProvider p : load(Thread.currentThread().getContextClassLoader())) {
            types.add(p.type());
        }
        return types;
    }

    static Optional<RuntimeProvider> findProvider(String type) {
        for (RuntimeProvider p : load(Thread.currentThread().getContextClassLoader())) {
            if (p.type().equals(type)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    static RuntimeProvider provider(String type, ClassLoader loader) {
        List<String> available = new ArrayList<>();
        for (RuntimeProvider p : load(loader)) {
            if (p.type().equals(type)) {
                return p;
            }
            available.add(p.type());
        }
        throw new UnknownRuntimeTypeException(type, available);
    }

    private static ServiceLoader<RuntimeProvider> load(ClassLoader loader) {
        return ServiceLoader.load(RuntimeProvider.class, loader != null ? loader : RuntimeFactory.class.getClassLoader());
    }
}
