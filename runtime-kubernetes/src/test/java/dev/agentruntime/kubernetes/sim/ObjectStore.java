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

    private WatchHub hub;

    void hub(WatchHub watchHub) {
        this.hub = watchHub;
    }

    /** Every change (ours and the CRUD handlers') also goes to the {@link WatchHub}, with its old and new key. */
    @Override
    public void processEvent(String path, AttributeSet pathAttributes, AttributeSet oldAttributes,
                             io.fabric8.kubernetes.api.model.GenericKubernetesResource resource, String newState) {
        String oldJson = oldAttributes == null ? null : map.get(oldAttributes);
        super.processEvent(path, pathAttributes, oldAttributes, resource, newState);
        if (hub == null || java.util.Objects.equals(oldJson, newState)) {
            return;
        }
        AttributeSet newKey = null;
        if (newState != null) {
            newKey = resource != null
                    ? ((io.fabric8.kubernetes.client.server.mock.KubernetesAttributesExtractor) attributeExtractor).extract(resource)
                    : attributeExtractor.fromResource(newState);
            if (!newKey.containsKey(io.fabric8.kubernetes.client.server.mock.KubernetesAttributesExtractor.PLURAL)) {
                newKey = AttributeSet.merge(pathAttributes, newKey);
            }
        }
        String versioned = newState != null ? newState : oldJson;
        long rv = versioned == null ? requestResourceVersion()
                : parse(versioned).path("metadata").path("resourceVersion").asLong(0);
        hub.changed(new WatchHub.Change(rv, oldAttributes, oldJson, newKey, newState));
    }

    /** Every stored object with its key, for the first events of a watch. */
    List<WatchHub.StoredObject> snapshot() {
        List<WatchHub.StoredObject> out = new ArrayList<>();
        synchronized (map) {
            map.forEach((key, json) -> out.add(new WatchHub.StoredObject(key, json)));
        }
        out.sort(java.util.Comparator.comparingLong(o -> parse(o.json()).path("metadata").path("resourceVersion").asLong(0)));
        return out;
    }

    long currentVersion() {
        return parse(new String(handleGet("/api/v1/namespaces").getBody().getBytes(),
                java.nio.charset.StandardCharsets.UTF_8)).path("metadata").path("resourceVersion").asLong(0);
    }

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
