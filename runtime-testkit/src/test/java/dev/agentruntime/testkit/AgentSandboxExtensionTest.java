package dev.agentruntime.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.testkit.engine.EventConditions.abortedWithReason;
import static org.junit.platform.testkit.engine.EventConditions.container;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeStatus;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;
import org.opentest4j.TestAbortedException;

/**
 * The {@link AgentSandbox} extension, proved by running small test classes in JUnit's {@link EngineTestKit} on
 * the in-memory {@link FakeSandboxBackend}, and asserting on what happened to its sandboxes and on the outcome
 * (passed, skipped, failed) JUnit reported.
 */
class AgentSandboxExtensionTest {

    /** What the cases saw, in order. */
    static final List<Runtime> SEEN = new CopyOnWriteArrayList<>();

    @BeforeEach
    void reset() {
        FakeSandboxBackend.reset();
        SEEN.clear();
    }

    private static EngineExecutionResults run(Class<?> testClass, boolean required) {
        return EngineTestKit.engine("junit-jupiter")
                .configurationParameter(OnlyInEngineTestKit.PARAMETER, "true")
                .configurationParameter(AgentSandboxExtension.REQUIRE_PROPERTY, Boolean.toString(required))
                .selectors(selectClass(testClass))
                .execute();
    }

    // --- lifecycle ------------------------------------------------------------------------------------------

    @Test
    void aStaticFieldIsOneConnectedSandboxForTheClassClosedAfterIt() {
        EngineExecutionResults results = run(StaticFieldCase.class, false);
        results.allEvents().assertStatistics(stats -> stats.failed(0));
        results.testEvents().assertStatistics(stats -> stats.succeeded(2));
        assertThat(FakeSandboxBackend.CONNECTED).hasSize(1);
        FakeSandboxBackend.Sandbox sandbox = FakeSandboxBackend.CONNECTED.get(0);
        assertThat(SEEN).containsExactly(sandbox, sandbox);
        assertThat(sandbox.closes).isEqualTo(1);
        assertThat(sandbox.status).isEqualTo(RuntimeStatus.CLOSED);
        assertThat(FakeSandboxBackend.EXISTING).isEmpty();
    }

    @Test
    void annotationAttributesConfigureTheSandbox() {
        run(StaticFieldCase.class, false);
        FakeSandboxBackend.Sandbox sandbox = FakeSandboxBackend.CONNECTED.get(0);
        assertThat(sandbox.config.type()).isEqualTo(FakeSandboxBackend.TYPE);
        assertThat(sandbox.config.options()).containsEntry("image", "python:3.12-slim").containsEntry("memory", "1g");
        assertThat(sandbox.config.environment()).containsEntry("GREETING", "hello=world");
        assertThat(sandbox.config.startupTimeout()).hasSeconds(42);
        assertThat(sandbox.id()).startsWith("junit-staticfieldcase-");
    }

    @Test
    void anInstanceFieldIsAFreshSandboxPerTestClosedAfterEachTest() {
        EngineExecutionResults results = run(InstanceFieldCase.class, false);
        results.allEvents().assertStatistics(stats -> stats.failed(0));
        results.testEvents().assertStatistics(stats -> stats.succeeded(3));
        assertThat(FakeSandboxBackend.CONNECTED).hasSize(3);
        assertThat(SEEN).containsExactlyElementsOf(FakeSandboxBackend.CONNECTED);
        // the second test saw the first one's sandbox closed already
        assertThat(InstanceFieldCase.closesSeenBySecond).isEqualTo(1);
        assertThat(FakeSandboxBackend.CONNECTED).allSatisfy(s -> assertThat(s.closes).isEqualTo(1));
    }

    @Test
    void perClassLifecycleSharesAnInstanceFieldAcrossTestInstances() {
        run(PerClassInstanceFieldCase.class, false).allEvents().assertStatistics(stats -> stats.failed(0));
        assertThat(FakeSandboxBackend.CONNECTED).hasSize(1);
        assertThat(SEEN).hasSize(2).containsOnly(FakeSandboxBackend.CONNECTED.get(0));
        assertThat(FakeSandboxBackend.CONNECTED.get(0).closes).isEqualTo(1);
    }

    @Test
    void parametersArePerTestInTestMethodsAndPerClassInBeforeAll() {
        EngineExecutionResults results = run(ParameterCase.class, false);
        results.allEvents().assertStatistics(stats -> stats.failed(0));
        results.testEvents().assertStatistics(stats -> stats.succeeded(2));
        // one for @BeforeAll, one per test method
        assertThat(FakeSandboxBackend.CONNECTED).hasSize(3);
        Runtime classLevel = SEEN.get(0);
        assertThat(SEEN.subList(1, 3)).doesNotContain(classLevel).doesNotHaveDuplicates();
        assertThat(ParameterCase.classLevelStatusInTests).containsOnly(RuntimeStatus.READY);
        assertThat(FakeSandboxBackend.CONNECTED).allSatisfy(s -> assertThat(s.closes).isEqualTo(1));
        assertThat(FakeSandboxBackend.EXISTING).isEmpty();
    }

    // --- unavailable backend: skip outside CI, fail in CI --------------------------------------------------

    @Test
    void anUnavailableBackendSkipsTheClassWithTheReasonOutsideCi() {
        Events events = run(UnavailableCase.class, false).allEvents();
        events.assertStatistics(stats -> stats.failed(0));
        events.assertThatEvents().haveExactly(1, event(container(UnavailableCase.class),
                abortedWithReason(instanceOf(TestAbortedException.class),
                        message(m -> m.contains("junit-fake backend is unavailable")
                                && m.contains("fake://nowhere does not answer")
                                && m.contains(AgentSandboxExtension.REQUIRE_PROPERTY)))));
        assertThat(FakeSandboxBackend.EXISTING).isEmpty();
    }

    @Test
    void anUnavailableBackendFailsTheClassInCi() {
        EngineExecutionResults results = run(UnavailableCase.class, true);
        Events events = results.allEvents();
        events.assertThatEvents().haveExactly(1, event(container(UnavailableCase.class),
                finishedWithFailure(instanceOf(IllegalStateException.class),
                        message(m -> m.contains("unavailable") && m.contains("required")))));
        results.testEvents().assertStatistics(stats -> stats.started(0)); // the test never ran
    }

    @Test
    void anUnavailableBackendSkipsOnlyTheTestForAPerTestSandbox() {
        Events events = run(UnavailableParameterCase.class, false).allEvents();
        events.assertThatEvents().haveExactly(1, event(test("needsASandbox"),
                abortedWithReason(instanceOf(TestAbortedException.class))));
        events.assertThatEvents().haveExactly(1, event(test("needsNothing"),
                org.junit.platform.testkit.engine.EventConditions.finishedSuccessfully()));
    }

    // --- leak check ------------------------------------------------------------------------------------------

    @Test
    void aSandboxLeftBehindFailsTheTestClassAndIsRemoved() {
        EngineExecutionResults results = run(LeakCase.class, false);
        results.testEvents().assertStatistics(stats -> stats.succeeded(1)); // the test itself passed
        Events events = results.allEvents();
        String session = FakeSandboxBackend.CONNECTED.get(0).id();
        events.assertThatEvents().haveExactly(1, event(container(LeakCase.class),
                finishedWithFailure(instanceOf(AssertionError.class),
                        message(m -> m.contains("leak check") && m.contains("junit-fake session " + session)))));
        assertThat(FakeSandboxBackend.EXISTING).isEmpty(); // removed by the check
    }

    @Test
    void aCleanClassPassesTheLeakCheck() {
        run(InstanceFieldCase.class, false).containerEvents().assertStatistics(stats -> stats.failed(0).succeeded(2));
    }

    // --- configuration errors --------------------------------------------------------------------------------

    @Test
    void anOptionThatIsNotKeyValueFailsWithTheEntry() {
        Events events = run(BadOptionCase.class, false).allEvents();
        events.assertThatEvents().haveExactly(1, event(container(BadOptionCase.class),
                finishedWithFailure(message(m -> m.contains("'memory1g'") && m.contains("key=value")))));
        assertThat(FakeSandboxBackend.CONNECTED).isEmpty();
    }

    @Test
    void aFieldOfAnotherTypeFailsWithItsName() {
        Events events = run(WrongTypeCase.class, false).allEvents();
        events.assertThatEvents().haveExactly(1, event(test("runs"),
                finishedWithFailure(message(m -> m.contains("'sandbox'") && m.contains("dev.agentruntime.Runtime")))));
    }

    // === the cases (run only inside EngineTestKit) ===========================================================

    /** Keeps the cases out of the normal test run (Surefire skips nested classes, IDEs may not). */
    static final class OnlyInEngineTestKit implements ExecutionCondition {
        static final String PARAMETER = "agent.runtime.testkit.engineTestKitCases";

        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            return context.getConfigurationParameter(PARAMETER).map(Boolean::parseBoolean).orElse(false)
                    ? ConditionEvaluationResult.enabled("inside EngineTestKit")
                    : ConditionEvaluationResult.disabled("a case for AgentSandboxExtensionTest");
        }
    }

    @ExtendWith(OnlyInEngineTestKit.class)
    static class StaticFieldCase {
        @AgentSandbox(type = FakeSandboxBackend.TYPE, image = "python:3.12-slim", options = "memory=1g",
                env = "GREETING=hello=world", startupTimeoutSeconds = 42)
        static Runtime sandbox;

        @Test
        void first() {
            assertThat(sandbox.status()).isEqualTo(RuntimeStatus.READY);
            SEEN.add(sandbox);
        }

        @Test
        void second() {
            SEEN.add(sandbox);
        }
    }

    @ExtendWith(OnlyInEngineTestKit.class)
    @org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.MethodName.class)
    static class InstanceFieldCase {
        static volatile int closesSeenBySecond = -1;

        @AgentSandbox(type = FakeSandboxBackend.TYPE)
        Runtime sandbox;

        @Test
        void a() {
            assertThat(sandbox.status()).isEqualTo(RuntimeStatus.READY);
            SEEN.add(sandbox);
        }

        @Test
        void b() {
            closesSeenBySecond = ((FakeSandboxBackend.Sandbox) SEEN.get(0)).closes;
            assertThat(sandbox).isNotSameAs(SEEN.get(0));
            SEEN.add(sandbox);
        }

        @Test
        void c() {
            // a test that does not touch its sandbox still gets (and closes) one: field injection is eager
            assertThat(sandbox).isNotNull();
            SEEN.add(sandbox);
        }
    }

    @ExtendWith(OnlyInEngineTestKit.class)
    static class PerClassInstanceFieldCase {
        @AgentSandbox(type = FakeSandboxBackend.TYPE, lifecycle = AgentSandbox.Lifecycle.PER_CLASS)
        Runtime sandbox;

        @Test
        void first() {
            SEEN.add(sandbox);
        }

        @Test
        void second() {
            SEEN.add(sandbox);
        }
    }

    @ExtendWith(OnlyInEngineTestKit.class)
    static class ParameterCase {
        static final List<RuntimeStatus> classLevelStatusInTests = new CopyOnWriteArrayList<>();
        static Runtime classLevel;

        @BeforeAll
        static void start(@AgentSandbox(type = FakeSandboxBackend.TYPE) Runtime shared) {
            classLevel = shared;
            SEEN.add(shared);
        }

        @Test
        void first(@AgentSandbox(type = FakeSandboxBackend.TYPE) Runtime fresh) {
            classLevelStatusInTests.add(classLevel.status());
            SEEN.add(fresh);
        }

        @Test
        void second(@AgentSandbox(type = FakeSandboxBackend.TYPE) Runtime fresh) {
            classLevelStatusInTests.add(classLevel.status());
            SEEN.add(fresh);
        }
    }

    @ExtendWith(OnlyInEngineTestKit.class)
    static class UnavailableCase {
        @AgentSandbox(type = FakeSandboxBackend.TYPE, options = "mode=unavailable")
        static Runtime sandbox;

        @Test
        void neverRuns() {
            throw new AssertionError("must not run without its sandbox");
        }
    }

    @ExtendWith(OnlyInEngineTestKit.class)
    static class UnavailableParameterCase {
        @Test
        void needsASandbox(@AgentSandbox(type = FakeSandboxBackend.TYPE, options = "mode=unavailable") Runtime r) {
            throw new AssertionError("must not run without its sandbox");
        }

        @Test
        void needsNothing() {
        }
    }

    @ExtendWith(OnlyInEngineTestKit.class)
    static class LeakCase {
        @AgentSandbox(type = FakeSandboxBackend.TYPE, options = "mode=leak")
        static Runtime sandbox;

        @Test
        void passes() {
            assertThat(sandbox.status()).isEqualTo(RuntimeStatus.READY);
        }
    }

    @ExtendWith(OnlyInEngineTestKit.class)
    static class BadOptionCase {
        @AgentSandbox(type = FakeSandboxBackend.TYPE, options = "memory1g")
        static Runtime sandbox;

        @Test
        void neverRuns() {
        }
    }

    @ExtendWith(OnlyInEngineTestKit.class)
    static class WrongTypeCase {
        @AgentSandbox(type = FakeSandboxBackend.TYPE)
        Object sandbox;

        @Test
        void runs() {
        }
    }
}
