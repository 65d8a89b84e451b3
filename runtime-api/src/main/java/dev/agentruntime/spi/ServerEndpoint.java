package dev.agentruntime.spi;

import dev.agentruntime.InvalidConfigException;
import dev.agentruntime.Secret;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a sandbox's action server answers and what every request to it must carry: the base URL (which may have a
 * path prefix, as a gateway's path mode {@code https://gateway/{runtime_id}/alive} does), the
 * {@code X-Session-API-Key}, and extra headers — a vendor's traffic or preview token, routing headers. Secret header
 * values are {@link Secret}s: this record prints them as {@value Secret#REDACTED}.
 *
 * <pre>{@code
 * ServerEndpoint endpoint = ServerEndpoint.of(URI.create("https://49983-" + id + ".e2b.app"), sessionKey)
 *         .withSecretHeader("e2b-traffic-access-token", trafficToken)
 *         .withHeader("E2b-Sandbox-Id", id);
 * }</pre>
 *
 * @param baseUrl       {@code http(s)://host[:port][/prefix]}, without query, fragment or user info
 * @param sessionApiKey the key sent as {@code X-Session-API-Key}; empty for a server that demands none
 * @param headers       extra headers sent on every request, transfers included
 */
public record ServerEndpoint(URI baseUrl, Optional<Secret> sessionApiKey, List<Header> headers) {

    /** The header our server (and OpenHands') reads the session key from. */
    public static final String SESSION_KEY_HEADER = "X-Session-API-Key";

    /** One extra request header; a secret one prints its value as {@value Secret#REDACTED}. */
    public record Header(String name, Secret value, boolean secret) {

        public Header {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            if (!name.matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+")) {
                throw new InvalidConfigException("'" + name + "' is not a valid HTTP header name");
            }
            if (value.reveal().chars().anyMatch(c -> c == '\r' || c == '\n' || c == 0)) {
                throw new InvalidConfigException("The value of header " + name + " contains a line break or NUL");
            }
        }

        @Override
        public String toString() {
            return name + ": " + (secret ? Secret.REDACTED : value.reveal());
        }
    }

    public ServerEndpoint {
        Objects.requireNonNull(baseUrl, "baseUrl");
        String scheme = baseUrl.getScheme() == null ? "" : baseUrl.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || baseUrl.getHost() == null) {
            throw new InvalidConfigException("An action server's base URL must be http(s)://host[:port][/path], was "
                    + baseUrl);
        }
        if (baseUrl.getRawUserInfo() != null || baseUrl.getRawQuery() != null || baseUrl.getRawFragment() != null) {
            throw new InvalidConfigException("An action server's base URL must not carry user info, a query or a"
                    + " fragment (send credentials as headers): " + redactedUrl(baseUrl));
        }
        sessionApiKey = Objects.requireNonNullElse(sessionApiKey, Optional.empty());
        headers = List.copyOf(Objects.requireNonNullElse(headers, List.of()));
        for (Header header : headers) {
            if (header.name().equalsIgnoreCase(SESSION_KEY_HEADER)) {
                throw new InvalidConfigException("Give the session key as sessionApiKey, not as a header");
            }
        }
    }

    /** An endpoint with a session key and no extra headers. */
    public static ServerEndpoint of(URI baseUrl, Secret sessionApiKey) {
        return new ServerEndpoint(baseUrl, Optional.of(sessionApiKey), List.of());
    }

    /** The same endpoint with one more plain header. */
    public ServerEndpoint withHeader(String name, String value) {
        return with(new Header(name, Secret.of(value), false));
    }

    /** The same endpoint with one more header whose value is a secret. */
    public ServerEndpoint withSecretHeader(String name, Secret value) {
        return with(new Header(name, value, true));
    }

    /** The same endpoint with {@code prefix} (e.g. {@code /runtime-1}) appended to the base URL's path. */
    public ServerEndpoint withPathPrefix(String prefix) {
        String path = baseUrl.getRawPath() == null ? "" : baseUrl.getRawPath();
        String extra = prefix.startsWith("/") ? prefix : "/" + prefix;
        String joined = (path.endsWith("/") ? path.substring(0, path.length() - 1) : path) + extra;
        return new ServerEndpoint(URI.create(baseUrl.getScheme() + "://" + baseUrl.getRawAuthority() + joined),
                sessionApiKey, headers);
    }

    private ServerEndpoint with(Header header) {
        List<Header> more = new ArrayList<>(headers);
        more.add(header);
        return new ServerEndpoint(baseUrl, sessionApiKey, more);
    }

    private static String redactedUrl(URI uri) {
        return uri.getScheme() + "://" + (uri.getHost() == null ? "?" : uri.getHost()) + "/...";
    }
}
