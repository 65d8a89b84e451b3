package dev.agentruntime.server.files;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * The editor's undo stack: for every file, the contents before each of its last edits (at most
 * {@code maxPerFile}, oldest dropped first). Kept in memory; OpenHands keeps it in a file-backed cache, which
 * only matters if the server restarts, and then the sandbox's editor state is gone anyway.
 */
final class EditHistory {

    private final int maxPerFile;
    private final Map<String, Deque<String>> entries = new HashMap<>();

    EditHistory(int maxPerFile) {
        this.maxPerFile = maxPerFile;
    }

    synchronized void add(String path, String previousContent) {
        Deque<String> stack = entries.computeIfAbsent(path, p -> new ArrayDeque<>());
        stack.addLast(previousContent);
        while (stack.size() > maxPerFile) {
            stack.removeFirst();
        }
    }

    /** The most recent entry, removed; null when there is none. */
    synchronized String pop(String path) {
        Deque<String> stack = entries.get(path);
        if (stack == null) {
            return null;
        }
        String last = stack.pollLast();
        if (stack.isEmpty()) {
            entries.remove(path);
        }
        return last;
    }
}
