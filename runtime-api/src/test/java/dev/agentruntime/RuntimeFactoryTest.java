package dev.agentruntime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class RuntimeFactoryTest {

    private final List<RuntimeStatus> seen = new CopyOnWriteArrayList<>();

    private RuntimeConfig.Builder fake() {
        return RuntimeConfig.builder().type("fake").statusListener(event -> seen.add(event.status()));
    }

    @Test
    void createFindsTheProviderByType() {
        Runtime runtime = RuntimeFactory.create(fake().sessionId("s-1").build());
        assertThat(runtime).isInstanceOf(FakeRuntimeProvider.FakeRuntime.class);
        assertThat(runtime.id()).isEqualTo("s-1");
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.STOPPED);
        assertThat(seen).as("create must not connect").isEmpty();
    }

    @Test
    void availableTypesListsRegisteredProviders() {
        assertThat(RuntimeFactory.availableTypes()).contains("fake");
    }

    @Test
    void unknownTypeListsAvailableTypes() {
        assertThatThrownBy(() -> RuntimeFactory.create(RuntimeConfig.builder().type("warp-drive").build()))
                .isInstanceOfSatisfying(UnknownRuntimeTypeException.class, e -> {
                    assertThat(e.availableTypes()).contains("fake");
                    assertThat(e.isTransient()).isFalse();
                })
                .hasMessageContaining("No runtime backend of type 'warp-drive' is on the class path")
                .hasMessageContaining("Available types: fake")
                .hasMessageContaining("dev.agentruntime:runtime-warp-drive");
    }

    @Test
    void unknownTypeWithNoProvidersSaysNone() {
        assertThat(new UnknownRuntimeTypeException("docker", List.of()))
                .hasMessageContaining("Available types: (none)");
    }

    @Test
    void createWorksWithoutAContextClassLoader() {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(null);
        try {
            assertThat(RuntimeFactory.create(fake().build())).isNotNull();
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    @Test
    void unknownOptionsAreRejectedByTheProvider() {
        assertThatThrownBy(() -> RuntimeFactory.create(fake().option("fake.conect", "fail").build()))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("[fake.conect]")
                .hasMessageContaining("Valid options: [fake.close, fake.connect]");
    }

    @Test
    void connectReturnsAConnectedRuntime() {
        Runtime runtime = RuntimeFactory.connect(fake().build());
        assertThat(runtime.status()).isEqualTo(RuntimeStatus.READY);
        assertThat(seen).containsExactly(RuntimeStatus.STARTING_RUNTIME, RuntimeStatus.READY);
    }

    @Test
    void connectClosesTheRuntimeWhenConnectFails() {
        assertThatThrownBy(() -> RuntimeFactory.connect(fake().option("fake.connect", "fail").build()))
                .isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining("refused to start");
        assertThat(seen).containsExactly(RuntimeStatus.STARTING_RUNTIME, RuntimeStatus.ERROR, RuntimeStatus.CLOSED);
    }

    @Test
    void connectKeepsTheConnectFailureWhenCloseAlsoFails() {
        assertThatThrownBy(() -> RuntimeFactory.connect(fake().option("fake.connect", "fail")
                .option("fake.close", "fail").build()))
                .isInstanceOf(RuntimeStartupException.class)
                .hasMessageContaining("refused to start")
                .satisfies(e -> assertThat(e.getSuppressed()).singleElement()
                        .satisfies(s -> assertThat(s).hasMessageContaining("failed to close")));
        assertThat(seen).endsWith(RuntimeStatus.CLOSED);
    }
}
