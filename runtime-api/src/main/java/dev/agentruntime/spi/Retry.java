package dev.agentruntime.spi;

import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeUnavailableException;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retries a control-plane call while it fails transiently ({@link AgentRuntimeException#isTransient()}), waiting
 * what the backend asked ({@link BackendException#retryAfter()}) or an exponential back-off with jitter, within
 * one deadline and a number of attempts. Non-transient failures are thrown at once.
 *
 * <pre>{@code
 * Sandbox s = Retry.of("E2B create sandbox", deadline).attempts(5).call(() -> api.create(request));
 * }</pre>
 */
public final class Retry {

    private static final Logger log = LoggerFactory.getLogger(Retry.class);

    private final String what;
    private final Instant deadline;
    private int attempts = 4;
    private Duration firstBackoff = Duration.ofMillis(200);
    private Duration maxBackoff = Duration.ofSeconds(8);
    private java.util.function.Predicate<AgentRuntimeException> retryable = AgentRuntimeException::isTransient;

    private Retry(String what, Instant deadline) {
        this.what = Objects.requireNonNull(what, "what");
        this.deadline = Objects.requireNonNull(deadline, "deadline");
    }

    public static Retry of(String what, Instant deadline) {
        return new Retry(what, deadline);
    }

    /** How many attempts in all (default 4). */
    public Retry attempts(int value) {
        if (value < 1) {
            throw new IllegalArgumentException("attempts must be at least 1");
        }
        this.attempts = value;
        return this;
    }

    /** The first back-off (default 200 ms), doubled per attempt up to {@code max} (default 8 s). */
    public Retry backoff(Duration first, Duration max) {
        this.firstBackoff = first;
        this.maxBackoff = max;
        return this;
    }

    /**
     * Retries only the transient failures {@code which} accepts, e.g. only rate limits for a call that must not be
     * sent twice after a server error (default: every transient failure).
     */
    public Retry onlyWhen(java.util.function.Predicate<AgentRuntimeException> which) {
        Objects.requireNonNull(which, "which");
        this.retryable = e -> e.isTransient() && which.test(e);
        return this;
    }

    public <T> T call(Supplier<T> call) {
        Duration backoff = firstBackoff;
        for (int attempt = 1; ; attempt++) {
            try {
                return call.get();
            } catch (AgentRuntimeException e) {
                if (!retryable.test(e) || attempt >= attempts) {
                    throw e;
                }
                Duration wait = e instanceof BackendException b && b.retryAfter().isPresent() ? b.retryAfter().get()
                        : jitter(backoff);
                if (Instant.now().plus(wait).isAfter(deadline)) {
                    throw e;
                }
                log.debug("{}: attempt {} failed transiently ({}); trying again in {} ms", what, attempt,
                        e.getMessage(), wait.toMillis());
                pause(wait, e);
                backoff = backoff.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : backoff.multipliedBy(2);
            }
        }
    }

    public void run(Runnable call) {
        call(() -> {
            call.run();
            return null;
        });
    }

    private static Duration jitter(Duration backoff) {
        long millis = backoff.toMillis();
        return Duration.ofMillis(millis / 2 + ThreadLocalRandom.current().nextLong(millis / 2 + 1));
    }

    private void pause(Duration wait, AgentRuntimeException cause) {
        try {
            Thread.sleep(wait.toMillis()); // the back-off the backend asked for, between two attempts
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            RuntimeUnavailableException interrupted = new RuntimeUnavailableException("Interrupted while retrying "
                    + what, e);
            interrupted.addSuppressed(cause);
            throw interrupted;
        }
    }
}
