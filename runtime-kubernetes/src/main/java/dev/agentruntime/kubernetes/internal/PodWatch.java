package dev.agentruntime.kubernetes.internal;

import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Follows one pod by WATCH (no polling) from a known resourceVersion until it is ready, has failed, or the deadline
 * passes. A watch the server ends (410 Expired, a dropped connection fabric8 gave up on) is resumed from a fresh GET,
 * so no change is missed.
 */
public final class PodWatch {

    /** How it ended: the verdict on the last state seen, and that state (empty when the pod is gone). */
    public record Outcome(PodStates.Verdict verdict, Optional<Pod> pod, boolean timedOut) {
    }

    private sealed interface Item {
    }

    private record Seen(Watcher.Action action, Pod pod) implements Item {
    }

    private record Closed(String why) implements Item {
    }

    private PodWatch() {
    }

    /**
     * @param start    the pod as last read (its resourceVersion is where the watch starts)
     * @param onChange receives every state seen (for status messages and {@code sandboxRunning})
     */
    public static Outcome awaitReady(KubernetesClient client, String namespace, Pod start, Instant deadline,
                                     Consumer<Pod> onChange) {
        String name = start.getMetadata().getName();
        Pod current = start;
        onChange.accept(current);
        PodStates.Verdict verdict = PodStates.judge(current);
        while (true) {
            if (verdict.ready() || verdict.failed()) {
                return new Outcome(verdict, Optional.of(current), false);
            }
            BlockingQueue<Item> items = new LinkedBlockingQueue<>();
            Watch watch = client.pods().inNamespace(namespace).withName(name).watch(new ListOptionsBuilder()
                    .withResourceVersion(current.getMetadata().getResourceVersion()).withAllowWatchBookmarks(true)
                    .build(), new Watcher<>() {
                @Override
                public void eventReceived(Action action, Pod pod) {
                    items.add(new Seen(action, pod));
                }

                @Override
                public void onClose(WatcherException cause) {
                    items.add(new Closed(cause.getMessage()));
                }

                @Override
                public void onClose() {
                    items.add(new Closed("closed"));
                }
            });
            try {
                while (true) {
                    long left = Duration.between(Instant.now(), deadline).toMillis();
                    if (left <= 0) {
                        return new Outcome(PodStates.judge(current), Optional.of(current), true);
                    }
                    Item item = items.poll(left, TimeUnit.MILLISECONDS);
                    if (item == null) {
                        continue;
                    }
                    if (item instanceof Closed) {
                        // resume from what the server has now
                        Pod now = client.pods().inNamespace(namespace).withName(name).get();
                        if (now == null) {
                            return gone(current);
                        }
                        current = now;
                        onChange.accept(current);
                        verdict = PodStates.judge(current);
                        break;
                    }
                    Seen seen = (Seen) item;
                    if (seen.action() == Watcher.Action.BOOKMARK || seen.action() == Watcher.Action.ERROR) {
                        continue;
                    }
                    if (seen.action() == Watcher.Action.DELETED) {
                        onChange.accept(seen.pod());
                        return gone(seen.pod());
                    }
                    current = seen.pod();
                    onChange.accept(current);
                    verdict = PodStates.judge(current);
                    if (verdict.ready() || verdict.failed()) {
                        return new Outcome(verdict, Optional.of(current), false);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while waiting for pod " + name, e);
            } finally {
                watch.close();
            }
        }
    }

    private static Outcome gone(Pod last) {
        return new Outcome(PodStates.Verdict.failed(dev.agentruntime.kubernetes.PodStartupException.Problem.DELETED,
                "the pod was deleted (last " + PodStates.describe(last) + ")", null), Optional.empty(), false);
    }
}
