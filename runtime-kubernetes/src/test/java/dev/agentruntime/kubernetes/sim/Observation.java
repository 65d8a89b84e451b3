package dev.agentruntime.kubernetes.sim;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * What a plain fabric8 client sees of one pod: its watch events and the Events about it, recorded from before the pod
 * is created, as the recordings were taken.
 */
final class Observation implements AutoCloseable {

    private final List<String> podSteps = new ArrayList<>();
    private final List<JsonNode> podObjects = new ArrayList<>();
    private final List<String> eventSteps = new ArrayList<>();
    private final Watch podWatch;
    private final Watch eventWatch;
    private final String podName;

    Observation(KubernetesClient client, String namespace, String podName) {
        this.podName = podName;
        podWatch = client.pods().inNamespace(namespace).withName(podName).watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, Pod pod) {
                JsonNode node = Serialization.jsonMapper().valueToTree(pod);
                synchronized (Observation.this) {
                    podSteps.add(Shapes.observedPod(action.name(), node));
                    podObjects.add(node);
                    Observation.this.notifyAll();
                }
            }

            @Override
            public void onClose(WatcherException cause) {
            }
        });
        eventWatch = client.v1().events().inNamespace(namespace).watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, Event event) {
                if (!podName.equals(event.getInvolvedObject().getName())
                        || !"Pod".equals(event.getInvolvedObject().getKind())) {
                    return;
                }
                synchronized (Observation.this) {
                    eventSteps.add(Shapes.observedEvent(action.name(), Serialization.jsonMapper().valueToTree(event)));
                    Observation.this.notifyAll();
                }
            }

            @Override
            public void onClose(WatcherException cause) {
            }
        });
    }

    synchronized List<String> podSteps() {
        return List.copyOf(podSteps);
    }

    synchronized List<JsonNode> podObjects() {
        return List.copyOf(podObjects);
    }

    synchronized List<String> eventSteps() {
        return List.copyOf(eventSteps);
    }

    /** Waits until the pod's watch steps satisfy {@code condition}; fails with what was seen when the time is up. */
    List<String> awaitPod(String what, Predicate<List<String>> condition, Duration timeout) {
        return await(what, () -> podSteps, condition, timeout);
    }

    List<String> awaitEvents(String what, Predicate<List<String>> condition, Duration timeout) {
        return await(what, () -> eventSteps, condition, timeout);
    }

    private synchronized List<String> await(String what, java.util.function.Supplier<List<String>> source,
                                            Predicate<List<String>> condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.test(List.copyOf(source.get()))) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what + " of pod " + podName
                        + "; pod steps so far:\n  " + String.join("\n  ", podSteps) + "\nevents so far:\n  "
                        + String.join("\n  ", eventSteps));
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
        return List.copyOf(source.get());
    }

    static Predicate<List<String>> lastStartsWith(String prefix) {
        return steps -> !steps.isEmpty() && steps.get(steps.size() - 1).startsWith(prefix);
    }

    static Predicate<List<String>> any(Predicate<String> step) {
        return steps -> steps.stream().anyMatch(step);
    }


    @Override
    public void close() {
        podWatch.close();
        eventWatch.close();
    }
}
