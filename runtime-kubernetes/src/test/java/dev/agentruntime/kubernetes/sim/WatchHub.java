package dev.agentruntime.kubernetes.sim;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.crud.AttributeSet;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;

/**
 * Watches as the API server serves them, in place of the CRUD mock's (which ignores {@code resourceVersion} and so
 * loses every change made between a client's LIST and its WATCH — fabric8's informers and {@code waitUntilCondition}
 * then miss a DELETED). A watch from a resourceVersion replays the changes after it from a bounded history, or gets
 * the recorded {@code 410 Expired} ERROR event when that is too old; a watch without one starts with an ADDED per
 * existing object and, when bookmarks are allowed, the WatchList end marker (scenario 8). Changes are fanned out in
 * store order, under the API server's lock.
 */
final class WatchHub {

    private static final int HISTORY = 20_000;

    /** One change of the store: what it was and what it became (null when created / deleted). */
    record Change(long resourceVersion, AttributeSet oldKey, String oldJson, AttributeSet newKey, String newJson) {
    }

    private final Deque<Change> history = new ArrayDeque<>();
    private final Set<Listener> listeners = new CopyOnWriteArraySet<>();
    private final java.util.concurrent.locks.Lock apiLock;
    private long oldestKept;

    /** {@code apiLock}: the API server's lock, held by every store write, so a watch starts between two writes. */
    WatchHub(java.util.concurrent.locks.Lock apiLock) {
        this.apiLock = apiLock;
    }

    /** Called for every change, under the API server's lock. */
    synchronized void changed(Change change) {
        history.addLast(change);
        while (history.size() > HISTORY) {
            oldestKept = history.removeFirst().resourceVersion();
        }
        for (Listener listener : listeners) {
            listener.deliver(change);
        }
    }

    /**
     * A watch on {@code query}: replays from {@code resourceVersion} (null: start with the current objects), or
     * answers a single ERROR event when the history does not reach back that far.
     */
    WebSocketListener open(AttributeSet query, String resourceVersion, String bookmarkKind,
                           java.util.function.Supplier<List<StoredObject>> current,
                           java.util.function.LongSupplier currentVersion) {
        return new Listener(query, resourceVersion, bookmarkKind, current, currentVersion);
    }

    /** An object as stored, for the initial events. */
    record StoredObject(AttributeSet key, String json) {
    }

    final class Listener extends WebSocketListener {
        private final AttributeSet query;
        private final String resourceVersion;
        private final String bookmarkKind;
        private final java.util.function.Supplier<List<StoredObject>> current;
        private final java.util.function.LongSupplier currentVersion;
        private volatile WebSocket socket;

        Listener(AttributeSet query, String resourceVersion, String bookmarkKind,
                 java.util.function.Supplier<List<StoredObject>> current, java.util.function.LongSupplier currentVersion) {
            this.query = query;
            this.resourceVersion = resourceVersion;
            this.bookmarkKind = bookmarkKind;
            this.current = current;
            this.currentVersion = currentVersion;
        }

        @Override
        public void onOpen(WebSocket webSocket, Response response) {
            socket = webSocket;
            apiLock.lock();
            try {
                open(webSocket);
            } finally {
                apiLock.unlock();
            }
        }

        private void open(WebSocket webSocket) {
            synchronized (WatchHub.this) {
                long from = parse(resourceVersion);
                if (from > 0 && from < oldestKept) {
                    ObjectNode status = ApiStatus.body(410, "Expired", "too old resource version: " + from + " ("
                            + currentVersion.getAsLong() + ")", null);
                    status.remove("details");
                    send("ERROR", status.toString());
                    webSocket.close(1000, "");
                    return;
                }
                if (from > 0) {
                    for (Change change : history) {
                        if (change.resourceVersion() > from) {
                            deliver(change);
                        }
                    }
                } else {
                    for (StoredObject object : current.get()) {
                        if (object.key().matches(query)) {
                            send("ADDED", object.json());
                        }
                    }
                    if (bookmarkKind != null && resourceVersion == null) {
                        send("BOOKMARK", "{\"kind\":\"" + bookmarkKind + "\",\"apiVersion\":\"v1\",\"metadata\":{"
                                + "\"resourceVersion\":\"" + currentVersion.getAsLong() + "\",\"annotations\":{"
                                + "\"k8s.io/initial-events-end\":\"true\"}}}");
                    }
                }
                listeners.add(this);
            }
        }

        void deliver(Change change) {
            boolean matchesOld = change.oldKey() != null && change.oldKey().matches(query);
            boolean matchesNew = change.newKey() != null && change.newKey().matches(query);
            if (matchesOld && matchesNew) {
                send("MODIFIED", change.newJson());
            } else if (matchesOld) {
                send("DELETED", change.oldJson());
            } else if (matchesNew) {
                send("ADDED", change.newJson());
            }
        }

        private void send(String type, String objectJson) {
            WebSocket ws = socket;
            if (ws != null) {
                ws.send("{\"type\":\"" + type + "\",\"object\":" + objectJson + "}");
            }
        }

        @Override
        public void onClosing(WebSocket webSocket, int code, String reason) {
            listeners.remove(this);
            webSocket.close(code, reason);
        }

        @Override
        public void onClosed(WebSocket webSocket, int code, String reason) {
            listeners.remove(this);
        }

        @Override
        public void onFailure(WebSocket webSocket, Throwable error, Response response) {
            listeners.remove(this);
        }
    }

    private static long parse(String resourceVersion) {
        if (resourceVersion == null || resourceVersion.isEmpty()) {
            return 0;
        }
        try {
            return Long.parseLong(resourceVersion);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    static String compact(ObjectNode node) {
        return Serialization.asJson(node);
    }
}
