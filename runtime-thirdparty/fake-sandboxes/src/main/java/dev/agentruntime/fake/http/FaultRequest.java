package dev.agentruntime.fake.http;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What a fault rule matches on: the request's method, path and headers (names lower-cased). HTTP fakes get these
 * from Jetty; a gRPC fake builds them from the call (method {@code POST}, path {@code /pkg.Service/Method}, metadata).
 */
public record FaultRequest(String method, String path, Map<String, String> headers) {

    public FaultRequest {
        headers = Map.copyOf(headers);
    }

    public Optional<String> header(String name) {
        return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
    }
}
