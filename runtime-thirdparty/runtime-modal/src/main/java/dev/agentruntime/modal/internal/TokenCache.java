package dev.agentruntime.modal.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A JWT fetched on demand and fetched again before it expires: {@value #REFRESH_MINUTES} minutes before its
 * {@code exp} as libmodal does, or half-way through its life for shorter-lived tokens, and at once after the server
 * refused it ({@link #invalidate}). Thread-safe; one fetch at a time.
 */
final class TokenCache {

    private static final Logger log = LoggerFactory.getLogger(TokenCache.class);
    static final long REFRESH_MINUTES = 5;
    /** Without an {@code exp} claim a token is kept this long. */
    private static final Duration UNKNOWN_LIFETIME = Duration.ofMinutes(10);

    private final String what;
    private final Supplier<String> fetch;
    private final Clock clock;
    private String token;
    private Instant refreshAt = Instant.MIN;
    private int fetches;

    TokenCache(String what, Supplier<String> fetch, Clock clock) {
        this.what = what;
        this.fetch = Objects.requireNonNull(fetch);
        this.clock = clock;
    }

    synchronized String get() {
        Instant now = clock.instant();
        if (token == null || !now.isBefore(refreshAt)) {
            String fresh = fetch.get();
            Instant expiry = Jwts.expiry(fresh).orElse(now.plus(UNKNOWN_LIFETIME));
            Duration life = Duration.between(now, expiry);
            Duration margin = Duration.ofMinutes(REFRESH_MINUTES);
            if (life.compareTo(margin.multipliedBy(2)) < 0) {
                margin = life.dividedBy(2);
            }
            token = fresh;
            refreshAt = expiry.minus(margin);
            fetches++;
            log.debug("{}: fetched a token valid until {}, refreshing at {}", what, expiry, refreshAt);
        }
        return token;
    }

    /** Forgets {@code refused} (if it is still the current token), so the next {@link #get()} fetches anew. */
    synchronized void invalidate(String refused) {
        if (refused != null && refused.equals(token)) {
            token = null;
        }
    }

    /** How many tokens were fetched so far. */
    synchronized int fetches() {
        return fetches;
    }
}
