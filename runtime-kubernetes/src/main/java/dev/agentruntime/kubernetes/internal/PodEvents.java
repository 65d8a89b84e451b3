package dev.agentruntime.kubernetes.internal;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The Events about one pod while it starts, by WATCH from before the pod exists: the kubelet and the scheduler write
 * them asynchronously, often a few milliseconds after the status change that shows the failure, so an error message
 * can wait (briefly, for a condition) for the Event that explains it. A repeated Event (same object, higher count)
 * replaces its earlier state.
 */
public final class PodEvents implements AutoCloseable {

    private final String podName;
    private final Map<String, Event> byName = new LinkedHashMap<>();
    private volatile String podUid;
    private Watch watch;

    private PodEvents(String podName) {
        this.podName = podName;
    }

    /** Starts following; never fails (Events are diagnostics: a refused watch leaves the list empty). */
    public static PodEvents follow(KubernetesClient client, String namespace, String podName) {
        PodEvents events = new PodEvents(podName);
        try {
            events.watch = client.v1().events().inNamespace(namespace).withField("involvedObject.name", podName)
                    .watch(new Watcher<>() {
                        @Override
                        public void eventReceived(Action action, Event event) {
                            if (action == Action.ADDED || action == Action.MODIFIED) {
                                events.add(event);
                            }
                        }

                        @Override
                        public void onClose(WatcherException cause) {
                            // diagnostics only
                        }
                    });
        } catch (KubernetesClientException e) {
            // no Events then
        }
        return events;
    }

    /** Keep only Events of this pod object (a pod of the same name before it would have another uid). */
    public void podUid(String uid) {
        this.podUid = uid;
    }

    private synchronized void add(Event event) {
        if (event.getInvolvedObject() == null || !podName.equals(event.getInvolvedObject().getName())) {
            return;
        }
        byName.put(event.getMetadata().getName(), event);
        notifyAll();
    }

    /** The Events so far, oldest first. */
    public synchronized List<Event> events() {
        String uid = podUid;
        List<Event> list = new ArrayList<>(byName.values());
        list.removeIf(e -> uid != null && e.getInvolvedObject().getUid() != null
                && !uid.equals(e.getInvolvedObject().getUid()));
        list.sort(Comparator.comparing(PodEvents::time));
        return list;
    }

    private static String time(Event e) {
        return Optional.ofNullable(e.getLastTimestamp()).or(() -> Optional.ofNullable(e.getEventTime())
                .map(t -> t.getTime())).or(() -> Optional.ofNullable(e.getMetadata().getCreationTimestamp())).orElse("");
    }

    /** Waits up to {@code patience} until an Event matches (it usually arrives within milliseconds). */
    public synchronized boolean await(Predicate<Event> wanted, Duration patience) {
        long end = System.nanoTime() + patience.toNanos();
        while (events().stream().noneMatch(wanted)) {
            long left = end - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** " Events: Reason (Type, xN): message; ..." or "" when there are none. */
    public String describe() {
        List<Event> list = events();
        if (list.isEmpty()) {
            return "";
        }
        StringBuilder text = new StringBuilder(" Events:");
        for (Event e : list) {
            text.append(' ').append(e.getReason()).append(" (").append(e.getType());
            if (e.getCount() != null && e.getCount() > 1) {
                text.append(", x").append(e.getCount());
            }
            text.append("): ").append(e.getMessage()).append(';');
        }
        return text.toString();
    }

    @Override
    public void close() {
        if (watch != null) {
            watch.close();
        }
    }
}
