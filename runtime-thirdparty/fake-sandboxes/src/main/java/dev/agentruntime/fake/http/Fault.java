package dev.agentruntime.fake.http;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * One injected fault: which requests it hits, how many times, and what happens to them: an answer of the fault's
 * own ({@link Action#RESPOND}), a hold before normal handling ({@link Action#HOLD}), a dropped connection
 * ({@link Action#DROP}) or a code a non-HTTP fake interprets ({@link Action#FAIL}, e.g. a gRPC status). Made with
 * {@link Faults#on}.
 */
public final class Fault {

    public enum Action {
        RESPOND, HOLD, DROP, FAIL
    }

    private final String description;
    private final Predicate<FaultRequest> matcher;
    private final AtomicInteger remaining;
    private final Action action;
    private final int status;
    private final Map<String, String> headers;
    private final String contentType;
    private final byte[] body;
    private final Duration delay;
    private final String code;
    private final AtomicInteger fired = new AtomicInteger();

    private Fault(Builder b, Action action, int status, Map<String, String> headers, String contentType, byte[] body,
            String code) {
        this.description = b.description;
        this.matcher = b.matcher;
        this.remaining = new AtomicInteger(b.times);
        this.action = action;
        this.status = status;
        this.headers = Map.copyOf(headers);
        this.contentType = contentType;
        this.body = body;
        this.delay = b.delay;
        this.code = code;
    }

    public Action action() {
        return action;
    }

    public int status() {
        return status;
    }

    public Map<String, String> headers() {
        return headers;
    }

    public String contentType() {
        return contentType;
    }

    public byte[] body() {
        return body.clone();
    }

    /** How long to hold the request before acting (the whole fault for {@link Action#HOLD}). */
    public Duration delay() {
        return delay;
    }

    /** The code of a {@link Action#FAIL} fault. */
    public Optional<String> code() {
        return Optional.ofNullable(code);
    }

    /** How many requests this fault has hit. */
    public int fired() {
        return fired.get();
    }

    /** Whether it still has uses left. */
    public boolean pending() {
        return remaining.get() != 0;
    }

    /** Takes one use if the request matches and uses are left. */
    boolean take(FaultRequest request) {
        if (!matcher.test(request)) {
            return false;
        }
        while (true) {
            int left = remaining.get();
            if (left == 0) {
                return false;
            }
            if (left < 0 || remaining.compareAndSet(left, left - 1)) {
                fired.incrementAndGet();
                return true;
            }
        }
    }

    /** The answer of a {@link Action#RESPOND} fault. */
    public HttpError asHttpError() {
        return new HttpError(status, headers, contentType, body);
    }

    @Override
    public String toString() {
        return "Fault[" + description + " -> " + action + (action == Action.RESPOND ? " " + status : "")
                + (delay.isZero() ? "" : " after " + delay.toMillis() + " ms") + ", fired " + fired + "]";
    }

    /** Which requests, how often; ends with the action, which registers the fault. */
    public static final class Builder {
        private final Faults faults;
        private final String description;
        private final Predicate<FaultRequest> matcher;
        private int times = 1;
        private Duration delay = Duration.ZERO;
        private final Map<String, String> headers = new LinkedHashMap<>();

        Builder(Faults faults, String description, Predicate<FaultRequest> matcher) {
            this.faults = faults;
            this.description = description;
            this.matcher = matcher;
        }

        static Predicate<FaultRequest> methodAndPath(String method, String pathRegex) {
            Pattern path = Pattern.compile(pathRegex);
            return r -> (method == null || method.equalsIgnoreCase(r.method())) && path.matcher(r.path()).matches();
        }

        /** The next {@code n} matching requests (default 1). */
        public Builder times(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("times must be >= 1: " + n);
            }
            this.times = n;
            return this;
        }

        /** Every matching request until {@link Faults#clear()}. */
        public Builder always() {
            this.times = -1;
            return this;
        }

        /** Holds each hit request this long first. */
        public Builder after(Duration delay) {
            this.delay = Objects.requireNonNull(delay);
            return this;
        }

        public Builder header(String name, String value) {
            headers.put(name, value);
            return this;
        }

        /** Answer with this status and JSON body (anything Jackson writes), plus the {@link #header}s. */
        public Fault respond(int status, Object jsonBody) {
            return faults.add(new Fault(this, Action.RESPOND, status, headers, "application/json",
                    Json.bytes(jsonBody), null));
        }

        public Fault respondText(int status, String body) {
            return faults.add(new Fault(this, Action.RESPOND, status, headers, "text/plain; charset=utf-8",
                    body.getBytes(StandardCharsets.UTF_8), null));
        }

        /** Hold each hit request this long, then handle it normally. */
        public Fault hold(Duration duration) {
            this.delay = Objects.requireNonNull(duration);
            return faults.add(new Fault(this, Action.HOLD, 0, headers, "", new byte[0], null));
        }

        /** Close the connection without an answer. */
        public Fault drop() {
            return faults.add(new Fault(this, Action.DROP, 0, headers, "", new byte[0], null));
        }

        /** A code for a non-HTTP fake (e.g. {@code "UNAVAILABLE"}); an HTTP server answers 500 with it. */
        public Fault fail(String code) {
            return faults.add(new Fault(this, Action.FAIL, 500, headers, "application/json",
                    Json.bytes(Map.of("code", code)), code));
        }
    }
}
