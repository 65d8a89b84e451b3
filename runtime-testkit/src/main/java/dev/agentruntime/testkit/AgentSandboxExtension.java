package dev.agentruntime.testkit;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.RuntimeUnavailableException;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.UnsupportedCapabilityException;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;
import org.opentest4j.TestAbortedException;

/**
 * The JUnit 5 extension behind {@link AgentSandbox}; registered by the annotation itself (no {@code @ExtendWith}
 * needed).
 *
 * <p>Per-class sandboxes live in the test class's {@link ExtensionContext.Store}, per-test ones in the test's; both
 * are closed when their context closes. The class store also holds the {@link Sessions} record of every session
 * the class created: when the class context closes it closes the per-class sandboxes, then asks each backend's
 * housekeeping for those sessions and fails the class with the list of what is still there (after removing it).
 */
public final class AgentSandboxExtension implements BeforeAllCallback, BeforeEachCallback, ParameterResolver {

    /** JUnit configuration parameter (or system property) that turns "backend unavailable" into a failure. */
    public static final String REQUIRE_PROPERTY = "agent.runtime.requireBackends";

    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(AgentSandboxExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        Class<?> testClass = context.getRequiredTestClass();
        for (Field field : annotatedFields(testClass)) {
            if (Modifier.isStatic(field.getModifiers())) {
                inject(field, null, provide(context, field, field.getAnnotation(AgentSandbox.class), true, field.getName()));
            }
        }
        // Parameters are created here, before their methods run, so that "unavailable" can skip (JUnit wraps
        // whatever resolveParameter throws into a failure).
        for (Method method : AnnotationSupport.findAnnotatedMethods(testClass, BeforeAll.class,
                HierarchyTraversalMode.TOP_DOWN)) {
            prepareParameters(context, method, true);
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Object instance = context.getRequiredTestInstance();
        for (Field field : annotatedFields(instance.getClass())) {
            if (Modifier.isStatic(field.getModifiers())) {
                continue;
            }
            AgentSandbox annotation = field.getAnnotation(AgentSandbox.class);
            boolean perClass = annotation.lifecycle() == AgentSandbox.Lifecycle.PER_CLASS;
            inject(field, instance, provide(context, field, annotation, perClass, field.getName()));
        }
        for (Method method : AnnotationSupport.findAnnotatedMethods(instance.getClass(), BeforeEach.class,
                HierarchyTraversalMode.TOP_DOWN)) {
            prepareParameters(context, method, false);
        }
        prepareParameters(context, context.getRequiredTestMethod(), false);
    }

    private void prepareParameters(ExtensionContext context, Executable executable, boolean classLevel) {
        Parameter[] parameters = executable.getParameters();
        for (int i = 0; i < parameters.length; i++) {
            AgentSandbox annotation = parameters[i].getAnnotation(AgentSandbox.class);
            if (annotation != null && parameters[i].getType() == Runtime.class) {
                provide(context, parameters[i], annotation, perClass(annotation, classLevel),
                        executable.getName() + "#" + i);
            }
        }
    }

    private static boolean perClass(AgentSandbox annotation, boolean classLevel) {
        return switch (annotation.lifecycle()) {
            case PER_CLASS -> true;
            case PER_TEST -> false;
            case DEFAULT -> classLevel;
        };
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.isAnnotated(AgentSandbox.class)
                && parameterContext.getParameter().getType() == Runtime.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext context) {
        Parameter parameter = parameterContext.getParameter();
        AgentSandbox annotation = parameterContext.findAnnotation(AgentSandbox.class).orElseThrow();
        boolean classLevel = Modifier.isStatic(parameterContext.getDeclaringExecutable().getModifiers())
                || parameterContext.getDeclaringExecutable() instanceof Constructor<?> && perClassInstances(context);
        boolean perClass = perClass(annotation, classLevel);
        if (!perClass && context.getTestMethod().isEmpty()) {
            throw new ExtensionConfigurationException("@AgentSandbox(lifecycle = PER_TEST) on parameter '"
                    + parameter.getName() + "' of " + parameterContext.getDeclaringExecutable()
                    + ": that method runs once for the class, so there is no test to give a fresh sandbox to");
        }
        String name = parameterContext.getDeclaringExecutable().getName() + "#" + parameterContext.getIndex();
        return provide(context, parameter, annotation, perClass, name);
    }

    // --- creating and recording sandboxes -------------------------------------------------------------------

    private Runtime provide(ExtensionContext context, AnnotatedElement element, AgentSandbox annotation,
                            boolean perClass, String name) {
        if (element instanceof Field field && field.getType() != Runtime.class) {
            throw new ExtensionConfigurationException("@AgentSandbox field '" + field.getName() + "' of "
                    + field.getDeclaringClass().getName() + " must be of type dev.agentruntime.Runtime, not "
                    + field.getType().getName());
        }
        ExtensionContext classContext = classContext(context);
        Sessions sessions = classContext.getStore(NS).getOrComputeIfAbsent(Sessions.class, key -> new Sessions(),
                Sessions.class);
        ExtensionContext owner = perClass ? classContext : context;
        String key = "sandbox:" + (element instanceof Field field ? field.getDeclaringClass().getName() + "." : "")
                + name;
        Holder existing = owner.getStore(NS).get(key, Holder.class);
        if (existing != null) {
            return existing.runtime;
        }
        RuntimeConfig config = config(annotation, classContext.getRequiredTestClass());
        Runtime runtime = start(context, config);
        sessions.created(config, runtime.id());
        if (perClass) {
            sessions.ownClassScoped(runtime);
            owner.getStore(NS).put(key, new Holder(runtime, false));
        } else {
            owner.getStore(NS).put(key, new Holder(runtime, true));
        }
        return runtime;
    }

    /** The configuration the annotation describes (public for tests and for code that wants the same sandbox). */
    public static RuntimeConfig config(AgentSandbox annotation, Class<?> testClass) {
        String type = !annotation.type().isBlank() ? annotation.type().strip()
                : annotation.image().isBlank() ? "local" : "docker";
        RuntimeConfig.Builder builder = RuntimeConfig.builder().type(type).sessionId(sessionId(testClass));
        if (!annotation.image().isBlank()) {
            builder.option("image", annotation.image().strip());
        }
        for (String option : annotation.options()) {
            String[] kv = keyValue(option, "options", testClass);
            builder.option(kv[0], kv[1]);
        }
        for (String variable : annotation.env()) {
            String[] kv = keyValue(variable, "env", testClass);
            builder.env(kv[0], kv[1]);
        }
        if (annotation.startupTimeoutSeconds() > 0) {
            builder.startupTimeout(Duration.ofSeconds(annotation.startupTimeoutSeconds()));
        }
        return builder.build();
    }

    private static Runtime start(ExtensionContext context, RuntimeConfig config) {
        Runtime runtime = RuntimeFactory.create(config);
        try {
            runtime.connect();
            return runtime;
        } catch (RuntimeUnavailableException e) {
            runtime.close();
            String message = "The " + config.type() + " backend is unavailable for @AgentSandbox in "
                    + context.getRequiredTestClass().getName() + ": " + e.getMessage();
            if (required(context)) {
                throw new IllegalStateException(message + " (backends are required here: CI=true or -D"
                        + REQUIRE_PROPERTY + "=true)", e);
            }
            throw new TestAbortedException("Skipping: " + message + " (set -D" + REQUIRE_PROPERTY
                    + "=true to make this a failure)", e);
        } catch (RuntimeException | Error e) {
            runtime.close();
            throw e;
        }
    }

    /** Required in CI: the configuration parameter wins; else the system properties; else {@code CI=true}. */
    static boolean required(ExtensionContext context) {
        Optional<String> explicit = context.getConfigurationParameter(REQUIRE_PROPERTY);
        if (explicit.isPresent()) {
            return Boolean.parseBoolean(explicit.get().strip());
        }
        Optional<String> docker = context.getConfigurationParameter(DockerAvailableCondition.REQUIRE_PROPERTY);
        if (docker.isPresent()) {
            return Boolean.parseBoolean(docker.get().strip());
        }
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    // --- the leak check -------------------------------------------------------------------------------------

    /**
     * Every session a test class created, by backend; closing it (when the class context closes) closes the
     * per-class sandboxes and then fails when a backend still lists one of the sessions.
     */
    static final class Sessions implements ExtensionContext.Store.CloseableResource {
        private final Map<RuntimeConfig, List<String>> byBackend = Collections.synchronizedMap(new LinkedHashMap<>());
        private final List<Runtime> classScoped = Collections.synchronizedList(new ArrayList<>());

        void created(RuntimeConfig config, String sessionId) {
            RuntimeConfig connection = RuntimeConfig.builder().type(config.type()).options(config.options()).build();
            byBackend.computeIfAbsent(connection, c -> Collections.synchronizedList(new ArrayList<>())).add(sessionId);
        }

        void ownClassScoped(Runtime runtime) {
            classScoped.add(runtime);
        }

        @Override
        public void close() {
            List<Runtime> toClose = new ArrayList<>(classScoped);
            Collections.reverse(toClose);
            for (Runtime runtime : toClose) {
                runtime.close();
            }
            List<String> leaks = new ArrayList<>();
            synchronized (byBackend) {
                byBackend.forEach((connection, sessionIds) -> leaks.addAll(leftBehind(connection, sessionIds)));
            }
            if (!leaks.isEmpty()) {
                throw new AssertionError("@AgentSandbox leak check: sandboxes of this test class are still there "
                        + "after it closed them (removed now): " + String.join("; ", leaks));
            }
        }

        private static List<String> leftBehind(RuntimeConfig connection, List<String> sessionIds) {
            List<String> leaks = new ArrayList<>();
            SandboxHousekeeping housekeeping;
            try {
                housekeeping = RuntimeFactory.housekeeping(connection);
            } catch (UnsupportedCapabilityException e) {
                return leaks; // the backend cannot list its sandboxes: nothing to check against
            }
            try (housekeeping) {
                for (SandboxInfo info : housekeeping.list()) {
                    if (sessionIds.contains(info.sessionId())) {
                        leaks.add(connection.type() + " session " + info.sessionId() + " (" + info.sandboxId() + ", "
                                + info.state() + ")");
                        housekeeping.delete(info.sessionId());
                    }
                }
            }
            return leaks;
        }
    }

    /** A sandbox in a store; per-test ones close with their test's context, per-class ones through Sessions. */
    private record Holder(Runtime runtime, boolean closeWithStore) implements ExtensionContext.Store.CloseableResource {
        @Override
        public void close() {
            if (closeWithStore) {
                runtime.close();
            }
        }
    }

    // --- helpers --------------------------------------------------------------------------------------------

    private static List<Field> annotatedFields(Class<?> type) {
        return AnnotationSupport.findAnnotatedFields(type, AgentSandbox.class, field -> true,
                HierarchyTraversalMode.TOP_DOWN);
    }

    private static void inject(Field field, Object target, Runtime runtime) {
        try {
            field.setAccessible(true);
            field.set(target, runtime);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new ExtensionConfigurationException("Cannot set @AgentSandbox field '" + field.getName() + "' of "
                    + field.getDeclaringClass().getName() + " (a final field?): " + e.getMessage(), e);
        }
    }

    private static ExtensionContext classContext(ExtensionContext context) {
        ExtensionContext current = context;
        while (current.getTestMethod().isPresent() && current.getParent().isPresent()) {
            current = current.getParent().get();
        }
        return current;
    }

    private static boolean perClassInstances(ExtensionContext context) {
        return context.getTestInstanceLifecycle().orElse(TestInstance.Lifecycle.PER_METHOD)
                == TestInstance.Lifecycle.PER_CLASS;
    }

    private static String sessionId(Class<?> testClass) {
        String simple = testClass.getSimpleName().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-");
        if (simple.length() > 30) {
            simple = simple.substring(0, 30);
        }
        return "junit-" + simple.replaceAll("^-|-$", "") + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static String[] keyValue(String entry, String attribute, Class<?> testClass) {
        int eq = entry.indexOf('=');
        if (eq <= 0) {
            throw new ExtensionConfigurationException("@AgentSandbox(" + attribute + ") entry '" + entry + "' in "
                    + testClass.getName() + " is not key=value");
        }
        return new String[] {entry.substring(0, eq).strip(), entry.substring(eq + 1)};
    }
}
