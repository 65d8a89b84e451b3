package dev.agentruntime;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A secret value — an API key, a session key, a token — that never prints: {@link #toString()} is
 * {@value #REDACTED}, so a secret can sit in a config record, a log argument or an exception message without
 * leaking. Read it with {@link #reveal()} only where it is sent.
 *
 * <pre>{@code
 * RuntimeConfig config = RuntimeConfig.builder().sessionApiKey(Secret.of(System.getenv("MY_KEY"))).build();
 * System.out.println(config); // ... sessionApiKey=REDACTED ...
 * }</pre>
 *
 * Two secrets are equal when their values are (compared in constant time); the hash code says nothing of the value.
 */
public final class Secret {

    /** What a secret prints as. */
    public static final String REDACTED = "REDACTED";

    private final String value;

    private Secret(String value) {
        this.value = value;
    }

    /**
     * Wraps a secret value.
     *
     * @throws InvalidConfigException when the value is null or empty: an empty key is no key, and must never turn
     *                                authentication off by accident
     */
    public static Secret of(String value) {
        if (value == null || value.isEmpty()) {
            throw new InvalidConfigException("A secret (API key, session key or token) must not be empty");
        }
        return new Secret(value);
    }

    /** The named variable of {@code environment} as a secret; empty when it is unset or empty. */
    public static Optional<Secret> fromEnvironment(Map<String, String> environment, String name) {
        String value = environment.get(name);
        return value == null || value.isEmpty() ? Optional.empty() : Optional.of(new Secret(value));
    }

    /** The value, for the one place that sends it. */
    public String reveal() {
        return value;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Secret secret && MessageDigest.isEqual(value.getBytes(StandardCharsets.UTF_8),
                secret.value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public int hashCode() {
        return Objects.hash(Secret.class); // equal values must hash alike; the value itself stays out of it
    }

    @Override
    public String toString() {
        return REDACTED;
    }
}
