package dev.agentruntime;

import java.time.Duration;
import java.util.Optional;

/**
 * A backend's own infrastructure (Docker daemon, cluster API, vendor API) refused or failed a request. Transient
 * failures (rate limits, a gateway in trouble, a service briefly unavailable) may succeed when tried again, after
 * {@link #retryAfter()} when the backend said how long to wait; the others will not until something changes.
 */
public class BackendException extends AgentRuntimeException {

    private final Duration retryAfter;

    /** A non-transient failure. */
    public BackendException(String message) {
        this(message, false, null, null);
    }

    /** A non-transient failure with its cause. */
    public BackendException(String message, Throwable cause) {
        this(message, false, null, cause);
    }

    /**
     * @param transientFailure whether trying again later may succeed
     * @param retryAfter       how long the backend asked to wait before trying again, or null
     */
    public BackendException(String message, boolean transientFailure, Duration retryAfter, Throwable cause) {
        super(message, cause, transientFailure);
        if (retryAfter != null && retryAfter.isNegative()) {
            throw new IllegalArgumentException("retryAfter must not be negative: " + retryAfter);
        }
        this.retryAfter = retryAfter;
    }

    /** A failure that may succeed when tried again (after {@code retryAfter}, when not null). */
    public static BackendException transientFailure(String message, Duration retryAfter, Throwable cause) {
        return new BackendException(message, true, retryAfter, cause);
    }

    /** How long the backend asked to wait before the next try ({@code Retry-After}), when it said. */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }
}
