package dev.agentruntime;

import java.util.ArrayList;
import java.util.List;
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

    /** The types of all backends on the class path, in discovery order. */
    public static List<String> availableTypes() {
        List<String> types = new ArrayList<>();
        for (RuntimeProvider p : load(Thread.currentThread().getContextClassLoader())) {
            types.add(p.type());
        }
        return types;
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
