package dev.agentruntime.fake.http;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The faults a test injects into a fake, the same way for every fake: the first pending fault matching a request
 * takes it.
 *
 * <pre>{@code
 * faults.on("POST", "/v2/sandboxes").times(2).header("Retry-After", "1").respond(429, Map.of("code", 429));
 * faults.on("GET", "/files").hold(Duration.ofMillis(500));
 * faults.on(null, "/process\\.Process/.*").drop();
 * }</pre>
 *
 * {@link FakeHttpServer} applies them in front of the fake's handler; a non-HTTP fake calls {@link #take} itself.
 */
public final class Faults {

    private static final Logger log = LoggerFactory.getLogger(Faults.class);

    private final List<Fault> faults = new CopyOnWriteArrayList<>();

    /** Requests with this method (null = any) whose path matches the regular expression. */
    public Fault.Builder on(String method, String pathRegex) {
        return new Fault.Builder(this, (method == null ? "*" : method) + " " + pathRegex,
                Fault.Builder.methodAndPath(method, pathRegex));
    }

    /** Requests the predicate accepts. */
    public Fault.Builder on(String description, Predicate<FaultRequest> matcher) {
        return new Fault.Builder(this, description, matcher);
    }

    Fault add(Fault fault) {
        faults.add(fault);
        return fault;
    }

    /** The fault that takes this request, if any (its use is counted). */
    public Optional<Fault> take(FaultRequest request) {
        for (Fault fault : faults) {
            if (fault.take(request)) {
                if (!fault.pending()) {
                    faults.remove(fault);
                }
                log.debug("fault {} hit {} {}", fault, request.method(), request.path());
                return Optional.of(fault);
            }
        }
        return Optional.empty();
    }

    /** Faults still waiting for requests. */
    public List<Fault> pending() {
        return faults.stream().filter(Fault::pending).toList();
    }

    public void clear() {
        faults.clear();
    }

    /** Applies the faults in front of {@code next}. */
    public Handler.Wrapper handler(Handler next) {
        Handler.Wrapper wrapper = new Handler.Wrapper(next) {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                if (faults.isEmpty()) {
                    return super.handle(request, response, callback);
                }
                Optional<Fault> hit = take(view(request));
                if (hit.isEmpty()) {
                    return super.handle(request, response, callback);
                }
                Fault fault = hit.get();
                if (fault.delay().isZero()) {
                    act(fault, this, request, response, callback);
                } else {
                    request.getComponents().getScheduler().schedule(() -> request.getContext().execute(
                            () -> act(fault, this, request, response, callback)),
                            fault.delay().toMillis(), TimeUnit.MILLISECONDS);
                }
                return true;
            }
        };
        return wrapper;
    }

    private static void act(Fault fault, Handler.Wrapper wrapper, Request request, Response response,
            Callback callback) {
        switch (fault.action()) {
            case HOLD -> {
                try {
                    if (!wrapper.getHandler().handle(request, response, callback)) {
                        Response.writeError(request, response, callback, 404);
                    }
                } catch (Throwable t) {
                    callback.failed(t);
                }
            }
            case DROP -> {
                request.getConnectionMetaData().getConnection().getEndPoint().close();
                callback.failed(new EofException("connection dropped by an injected fault"));
            }
            case RESPOND, FAIL -> fault.asHttpError().write(request, response, callback);
            default -> throw new IllegalStateException(fault.action().toString());
        }
    }

    static FaultRequest view(Request request) {
        Map<String, String> headers = new TreeMap<>();
        for (HttpField field : request.getHeaders()) {
            headers.putIfAbsent(field.getLowerCaseName(), field.getValue());
        }
        return new FaultRequest(request.getMethod(), request.getHttpURI().getPath(), headers);
    }

    @Override
    public String toString() {
        return "Faults" + faults;
    }
}
