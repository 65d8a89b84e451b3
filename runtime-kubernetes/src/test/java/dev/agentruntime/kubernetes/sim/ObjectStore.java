package dev.agentruntime.kubernetes.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.crud.AttributeSet;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * fabric8's CRUD store (objects keyed by their attributes, watch listeners notified on every change), opened up for
 * the simulated API server's own write paths: it writes pods itself (graceful deletion, finalizers, immutable
 * fields, no {@code metadata.generation}) through the same store and watch fan-out the CRUD handlers use.
 * Callers hold {@link SimulatedApiServer}'s lock.
 */
final class ObjectStore extends KubernetesCrudDispatcher {

    /** A stored object: its store key and its JSON. */
    record Stored(AttributeSet key, ObjectNode object) {
    }

    Stored get(String objectPath) {
        Map.Entry<AttributeSet, String> entry = findResource(getKey(objectPath));
        return entry == null ? null : new Stored(entry.getKey(), parse(entry.getValue()));
    }

    /** Every stored object a list request on {@code collectionPathWithQuery} would return (selectors honoured). */
    List<ObjectNode> list(String collectionPathWithQuery) {
        JsonNode list = parse(new String(handleGet(collectionPathWithQuery).getBody().getBytes(),
                java.nio.charset.StandardCharsets.UTF_8));
        List<ObjectNode> items = new ArrayList<>();
        list.path("items").forEach(i -> items.add((ObjectNode) i));
        return items;
    }

    /** Creates or replaces an object with a fresh resourceVersion: ADDED or MODIFIED to watchers. */
    ObjectNode write(String objectPath, Stored previous, ObjectNode object) {
        ((ObjectNode) object.path("metadata")).put("resourceVersion", String.valueOf(requestResourceVersion()));
        processEvent(objectPath, getKey(objectPath), previous == null ? null : previous.key(), null, object.toString());
        return object;
    }

    /**
     * Removes an object; watchers get DELETED carrying {@code finalState} with a fresh resourceVersion, as the API
     * server sends it.
     */
    ObjectNode remove(String objectPath, Stored previous, ObjectNode finalState) {
        ((ObjectNode) finalState.path("metadata")).put("resourceVersion", String.valueOf(requestResourceVersion()));
        synchronized (map) {
            map.put(previous.key(), finalState.toString());
        }
        processEvent(objectPath, getKey(objectPath), previous.key(), null, null);
        return finalState;
    }

    static ObjectNode parse(String json) {
        try {
            return (ObjectNode) Serialization.jsonMapper().readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
