package dev.agentruntime;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/** Opens a URL in the sandbox's browser (wire type {@code browse}); runtimes without a browser answer with an error observation. */
public record BrowseUrlAction(String url, String thought, boolean returnAxtree, Duration hardTimeout) implements Action {

    public BrowseUrlAction {
        Objects.requireNonNull(url, "url");
        thought = thought == null ? "" : thought;
    }

    public static BrowseUrlAction of(String url) {
        return new BrowseUrlAction(url, "", false, null);
    }

    @Override
    public String type() {
        return "browse";
    }

    @Override
    public Optional<Duration> timeout() {
        return Optional.ofNullable(hardTimeout);
    }

    @Override
    public String message() {
        return "I am browsing the URL: " + url;
    }
}
