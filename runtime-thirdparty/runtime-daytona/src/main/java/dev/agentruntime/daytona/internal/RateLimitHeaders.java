package dev.agentruntime.daytona.internal;

import java.io.IOException;
import java.util.OptionalLong;
import okhttp3.Interceptor;
import okhttp3.Response;

/**
 * Daytona's throttlers answer 429 with {@code Retry-After-<throttler>} (as its docs write) or only
 * {@code X-RateLimit-Reset-<throttler>} (seconds until the window resets, as its code writes), where the kit's
 * error mapping reads {@code Retry-After}. This adds a {@code Retry-After} with the longest of those waits when the
 * answer has none, so retries wait what Daytona asked.
 */
final class RateLimitHeaders implements Interceptor {

    @Override
    public Response intercept(Chain chain) throws IOException {
        Response response = chain.proceed(chain.request());
        if (response.code() != 429 || response.header("Retry-After") != null) {
            return response;
        }
        OptionalLong seconds = longestWait(response);
        return seconds.isEmpty() ? response
                : response.newBuilder().header("Retry-After", Long.toString(seconds.getAsLong())).build();
    }

    static OptionalLong longestWait(Response response) {
        long longest = -1;
        for (String name : response.headers().names()) {
            String lower = name.toLowerCase(java.util.Locale.ROOT);
            if (lower.startsWith("retry-after-") || lower.startsWith("x-ratelimit-reset-")) {
                try {
                    long value = Math.round(Math.ceil(Double.parseDouble(response.header(name).strip())));
                    longest = Math.max(longest, value);
                } catch (NumberFormatException ignored) {
                    // not a number of seconds: leave it
                }
            }
        }
        return longest < 0 ? OptionalLong.empty() : OptionalLong.of(longest);
    }
}
