package dev.agentruntime.kubernetes.sim;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.MicroTimeBuilder;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes Events through the API the way the components of a real cluster do (scenario summaries: "Facts that hold in
 * every scenario").
 *
 * <p>Kubelet-style (core/v1, client-go's recorder): {@code source {component, host}}, {@code reportingComponent},
 * {@code reportingInstance}, {@code count} and first/last timestamps; an identical event (same source, object, field
 * path, type, reason and message) bumps {@code count} and {@code lastTimestamp} of the same Event object; client-go's
 * spam filter lets 25 identical events through and then one per 5 minutes (the recorded {@code Unhealthy} froze at
 * 25). Scheduler-style (events.k8s.io/v1 seen through core/v1): {@code count}/timestamps null, {@code source {}},
 * {@code eventTime} with microseconds, {@code action}, a new Event object every time. Names are
 * {@code <object>.<16 hex>}. Writes happen in order on one named daemon thread, so callers never wait on the API.
 */
final class EventRecorder implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EventRecorder.class);
    private static final int SPAM_BURST = 25;
    private static final Duration SPAM_REFILL = Duration.ofMinutes(5);
    private static final DateTimeFormatter MICRO = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
            .withZone(ZoneOffset.UTC);

    private record Correlated(String name, String namespace, int count, Instant first) {
    }

    private static final class Bucket {
        double tokens = SPAM_BURST;
        Instant last;
    }

    private final KubernetesClient client;
    private final String component;
    private final String host;
    private final Clock clock;
    private final ExecutorService writer;
    private final Map<String, Correlated> seen = new HashMap<>();
    private final Map<String, Bucket> spam = new HashMap<>();
    private long lastNanos;

    EventRecorder(KubernetesClient client, String component, String host, Clock clock, String threadName) {
        this.client = client;
        this.component = component;
        this.host = host;
        this.clock = clock;
        this.writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /** A kubelet-style event about a pod, or one of its containers when {@code fieldPath} is set. */
    void record(Pod pod, String fieldPath, String type, String reason, String message) {
        ObjectReference ref = reference(pod, fieldPath);
        Instant now = clock.instant();
        writer.execute(() -> write(ref, type, reason, message, now));
    }

    /** A scheduler-style (events.k8s.io) event: a new object each time, no count. */
    void recordAction(Pod pod, String type, String reason, String action, String message) {
        ObjectReference ref = reference(pod, null);
        Instant now = clock.instant();
        writer.execute(() -> {
            Event event = new EventBuilder()
                    .withNewMetadata().withName(eventName(ref.getName(), now)).withNamespace(ref.getNamespace())
                    .endMetadata()
                    .withInvolvedObject(ref)
                    .withType(type).withReason(reason).withMessage(message).withAction(action)
                    .withNewSource().endSource()
                    .withEventTime(new MicroTimeBuilder().withTime(MICRO.format(now)).build())
                    .withReportingComponent(component)
                    .withReportingInstance(component + "-" + host)
                    .build();
            try {
                client.v1().events().inNamespace(ref.getNamespace()).resource(event).create();
            } catch (RuntimeException e) {
                LOG.warn("could not write event {} for {}: {}", reason, ref.getName(), e.toString());
            }
        });
    }

    private void write(ObjectReference ref, String type, String reason, String message, Instant now) {
        String key = String.join("\u0000", component, host, ref.getKind(), ref.getNamespace(), ref.getName(),
                ref.getUid(), ref.getApiVersion(), String.valueOf(ref.getFieldPath()), type, reason, message);
        if (!allowed(key, now)) {
            return;
        }
        String stamp = now.truncatedTo(ChronoUnit.SECONDS).toString();
        Correlated previous = seen.get(key);
        try {
            if (previous == null) {
                String name = eventName(ref.getName(), now);
                Event event = new EventBuilder()
                        .withNewMetadata().withName(name).withNamespace(ref.getNamespace()).endMetadata()
                        .withInvolvedObject(ref)
                        .withReason(reason).withMessage(message).withType(type)
                        .withNewSource().withComponent(component).withHost(host).endSource()
                        .withFirstTimestamp(stamp).withLastTimestamp(stamp).withCount(1)
                        .withReportingComponent(component).withReportingInstance(host)
                        .build();
                client.v1().events().inNamespace(ref.getNamespace()).resource(event).create();
                seen.put(key, new Correlated(name, ref.getNamespace(), 1, now));
            } else {
                int count = previous.count + 1;
                client.v1().events().inNamespace(previous.namespace).withName(previous.name)
                        .patch(PatchContext.of(PatchType.JSON_MERGE),
                                "{\"count\":" + count + ",\"lastTimestamp\":\"" + stamp + "\"}");
                seen.put(key, new Correlated(previous.name, previous.namespace, count, previous.first));
            }
        } catch (RuntimeException e) {
            LOG.warn("could not write event {} for {}: {}", reason, ref.getName(), e.toString());
        }
    }

    /** client-go's EventSourceObjectSpamFilter: a token bucket per key, burst 25, one token per 5 minutes. */
    private boolean allowed(String key, Instant now) {
        Bucket bucket = spam.computeIfAbsent(key, k -> new Bucket());
        if (bucket.last != null) {
            double refill = (double) Duration.between(bucket.last, now).toMillis() / SPAM_REFILL.toMillis();
            bucket.tokens = Math.min(SPAM_BURST, bucket.tokens + refill);
        }
        bucket.last = now;
        if (bucket.tokens < 1) {
            return false;
        }
        bucket.tokens -= 1;
        return true;
    }

    private String eventName(String object, Instant now) {
        long nanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
        synchronized (this) {
            nanos = Math.max(nanos, lastNanos + 1);
            lastNanos = nanos;
        }
        return object + "." + Long.toHexString(nanos);
    }

    private static ObjectReference reference(Pod pod, String fieldPath) {
        return new ObjectReferenceBuilder()
                .withKind("Pod").withNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
                .withUid(pod.getMetadata().getUid()).withApiVersion("v1")
                .withResourceVersion(pod.getMetadata().getResourceVersion())
                .withFieldPath(fieldPath)
                .build();
    }

    /** Waits until every event recorded so far is written (or {@code timeout} passes). */
    void flush(Duration timeout) {
        try {
            writer.submit(() -> { }).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.debug("event writer did not drain in {}: {}", timeout, e.toString());
        }
    }

    @Override
    public void close() {
        writer.shutdown();
        try {
            writer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writer.shutdownNow();
    }
}
