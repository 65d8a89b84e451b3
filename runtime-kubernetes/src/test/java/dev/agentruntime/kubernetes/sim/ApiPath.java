package dev.agentruntime.kubernetes.sim;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A request path of the Kubernetes API, taken apart: {@code /api/v1/namespaces/ref/pods/x/status?dryRun=All} is group
 * "", version v1, namespace ref, resource pods, name x, subresource status. Query parameters may repeat (exec's
 * {@code command}).
 */
record ApiPath(String group, String version, String namespace, String resource, String name, String subresource,
               Map<String, List<String>> query) {

    static Optional<ApiPath> parse(String pathAndQuery) {
        int q = pathAndQuery.indexOf('?');
        String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
        Map<String, List<String>> query = q < 0 ? Map.of() : parseQuery(pathAndQuery.substring(q + 1));
        List<String> parts = new ArrayList<>();
        for (String part : path.split("/")) {
            if (!part.isEmpty()) {
                parts.add(URLDecoder.decode(part, StandardCharsets.UTF_8));
            }
        }
        int i;
        String group;
        String version;
        if (parts.size() >= 2 && parts.get(0).equals("api")) {
            group = "";
            version = parts.get(1);
            i = 2;
        } else if (parts.size() >= 3 && parts.get(0).equals("apis")) {
            group = parts.get(1);
            version = parts.get(2);
            i = 3;
        } else {
            return Optional.empty();
        }
        String namespace = null;
        if (parts.size() > i + 1 && parts.get(i).equals("namespaces") && parts.size() > i + 2) {
            namespace = parts.get(i + 1);
            i += 2;
        }
        if (parts.size() <= i) {
            return Optional.empty();
        }
        String resource = parts.get(i);
        String name = parts.size() > i + 1 ? parts.get(i + 1) : null;
        String sub = parts.size() > i + 2 ? parts.get(i + 2) : null;
        return Optional.of(new ApiPath(group, version, namespace, resource, name, sub, query));
    }

    private static Map<String, List<String>> parseQuery(String raw) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            out.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
        }
        return Collections.unmodifiableMap(out);
    }

    boolean core() {
        return group.isEmpty();
    }

    boolean is(String group, String resource) {
        return this.group.equals(group) && this.resource.equals(resource);
    }

    Optional<String> param(String key) {
        List<String> values = query.get(key);
        return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
    }

    List<String> params(String key) {
        return query.getOrDefault(key, List.of());
    }

    boolean flag(String key) {
        return param(key).map(v -> v.isEmpty() || v.equals("true") || v.equals("1")).orElse(false);
    }

    boolean watch() {
        return flag("watch");
    }

    /** The collection path of this request's resource (no name), as the CRUD store keys it. */
    String collectionPath() {
        String prefix = core() ? "/api/" + version : "/apis/" + group + "/" + version;
        return prefix + (namespace == null ? "" : "/namespaces/" + namespace) + "/" + resource;
    }

    /** The path of one named object of this request's resource. */
    String objectPath(String objectName) {
        return collectionPath() + "/" + objectName;
    }
}
