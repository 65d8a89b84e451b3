package dev.agentruntime.gateway.internal;

import dev.agentruntime.proxy.SandboxProxy;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.RequestLog;
import org.eclipse.jetty.server.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per request on logger {@code dev.agentruntime.gateway.access}: method, path (no query), status, time and
 * the API key's name — never a key. Health and metrics scrapes are logged at DEBUG.
 */
public final class AccessLog implements RequestLog {

    private static final Logger log = LoggerFactory.getLogger("dev.agentruntime.gateway.access");

    @Override
    public void log(Request request, Response response) {
        String path = request.getHttpURI().getPath();
        Object tenant = request.getAttribute(Api.TENANT);
        if (tenant == null) {
            tenant = SandboxProxy.routeOf(request).map(SandboxProxy.Route::tenant).orElse("-");
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - request.getBeginNanoTime());
        if (path.equals("/health") || path.equals("/metrics")) {
            log.debug("{} {} {} {}ms key={}", request.getMethod(), path, response.getStatus(), millis, tenant);
        } else {
            log.info("{} {} {} {}ms key={}", request.getMethod(), path, response.getStatus(), millis, tenant);
        }
    }
}
