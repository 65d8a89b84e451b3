package dev.agentruntime.spi;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.BackendAuthenticationException;
import dev.agentruntime.BackendConflictException;
import dev.agentruntime.BackendException;
import dev.agentruntime.RuntimeNotFoundException;
import dev.agentruntime.internal.WireCodec;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.function.Function;

/**
 * One mapping of HTTP answers from backend control planes (a gateway, a cluster API, a vendor API) onto the
 * library's errors, with messages that name the call, the sandbox and what to check:
 * <ul>
 *   <li>401, 403 → {@link BackendAuthenticationException} (check the credentials the hint names);</li>
 *   <li>404 → {@link RuntimeNotFoundException};</li>
 *   <li>409 → {@link BackendConflictException};</li>
 *   <li>408, 429, 500, 502, 503, 504 → a transient {@link BackendException}, with the {@code Retry-After}
 *       (seconds or an HTTP date) or {@code retry-after-ms} the answer carried;</li>
 *   <li>any other 4xx → a non-transient {@link BackendException} ("refused the request").</li>
 * </ul>
 * The detail shown is the body's {@code message}, {@code detail}, {@code error} or {@code code} field when it is JSON
 * (followed by its {@code code} and an open-ended {@code error_code}, as E2B sends, in brackets), else the start of
 * the raw text.
 */
public final class ControlPlaneErrors {

    private static final int DETAIL_LIMIT = 500;

    private ControlPlaneErrors() {
    }

    /**
     * @param backend   the backend's name for messages, e.g. {@code "E2B"}
     * @param call      what was called, e.g. {@code "POST /v2/sandboxes"}
     * @param sandbox   the sandbox (or session) concerned, or null
     * @param status    the HTTP status code
     * @param header    reads a response header by name (case-insensitive), null when absent
     * @param body      the response body text (may be empty)
     * @param checkHint what to check when the credentials are refused, e.g. {@code "Check E2B_API_KEY."}
     */
    public static AgentRuntimeException fromHttp(String backend, String call, String sandbox, int status,
                                                 Function<String, String> header, String body, String checkHint) {
        String where = backend + " " + call + (sandbox == null ? "" : " for sandbox " + sandbox);
        String detail = detail(body);
        String said = "(HTTP " + status + (detail.isEmpty() ? "" : ": " + detail) + ")";
        return switch (status) {
            case 401, 403 -> new BackendAuthenticationException(where + " was refused " + said + ". "
                    + (checkHint == null ? "Check the API key or token." : checkHint));
            case 404 -> new RuntimeNotFoundException(where + ": not found " + said
                    + (sandbox == null ? "" : ". The sandbox may have been removed, timed out or never existed."));
            case 409 -> new BackendConflictException(where + " conflicts with the sandbox's current state " + said);
            case 408, 429, 500, 502, 503, 504 -> {
                Optional<Duration> wait = retryAfter(header);
                yield BackendException.transientFailure(where + " is temporarily unavailable " + said
                        + (wait.map(d -> "; the server asked to retry after " + d.toMillis() + " ms").orElse(""))
                        + (status == 429 ? " (rate limited)" : "") + ".", wait.orElse(null), null);
            }
            default -> new BackendException(where + (status >= 500 ? " failed on the server " : " refused the request ")
                    + said + ".");
        };
    }

    /**
     * How long an answer asks us to wait: {@code retry-after-ms} (milliseconds), else {@code Retry-After} as seconds
     * or as an HTTP date; empty when absent or malformed.
     */
    public static Optional<Duration> retryAfter(Function<String, String> header) {
        String millis = header.apply("retry-after-ms");
        if (millis != null) {
            try {
                double ms = Double.parseDouble(millis.strip());
                if (ms >= 0 && Double.isFinite(ms)) {
                    return Optional.of(Duration.ofMillis(Math.round(ms)));
                }
            } catch (NumberFormatException ignored) {
                // fall through to Retry-After
            }
        }
        String value = header.apply("Retry-After");
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        try {
            double seconds = Double.parseDouble(value.strip());
            return seconds >= 0 && Double.isFinite(seconds) ? Optional.of(Duration.ofMillis(Math.round(seconds * 1000)))
                    : Optional.empty();
        } catch (NumberFormatException notSeconds) {
            try {
                Instant at = ZonedDateTime.parse(value.strip(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                Duration wait = Duration.between(Instant.now(), at);
                return Optional.of(wait.isNegative() ? Duration.ZERO : wait);
            } catch (DateTimeParseException e) {
                return Optional.empty();
            }
        }
    }

    /** The useful part of an error body, at most 500 characters. */
    public static String detail(String body) {
        if (body == null || body.isBlank()) {
            return "";
        }
        try {
            JsonNode node = WireCodec.parse(body);
            for (String field : new String[] {"message", "detail", "error", "msg", "code"}) {
                JsonNode value = node.get(field);
                if (value != null && !value.isNull()) {
                    String text = value.isTextual() ? value.asText() : value.toString();
                    JsonNode code = node.get("code");
                    JsonNode errorCode = node.get("error_code");
                    String codes = (code != null && code.isValueNode() && !field.equals("code") ? code.asText() : "")
                            + (errorCode != null && errorCode.isTextual() && !errorCode.asText().isBlank()
                            ? (code != null && code.isValueNode() && !field.equals("code") ? ", " : "")
                            + errorCode.asText() : "");
                    if (!codes.isEmpty()) {
                        text = text + " [" + codes + "]";
                    }
                    return abbreviate(text);
                }
            }
        } catch (RuntimeException notJson) {
            // fall back to the raw text
        }
        return abbreviate(body.strip());
    }

    private static String abbreviate(String text) {
        return text.length() > DETAIL_LIMIT ? text.substring(0, DETAIL_LIMIT) + "..." : text;
    }
}
