package dev.agentruntime.server.files;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The zero-context unified diff OpenHands attaches to edit observations ({@code openhands_aci.utils.diff.get_diff}):
 * both texts split on {@code \n}, compared line by line, hunks without context, every output line right-stripped,
 * lines joined with {@code \n}, empty when nothing changed.
 *
 * <p>The hunks come from the same matching algorithm as Python's {@code difflib.SequenceMatcher} (longest
 * contiguous matching block first, then recursively left and right of it, with its "popular line" heuristic for
 * inputs of 200 lines or more), so the hunk boundaries agree with OpenHands' output, not just some valid diff.
 * Inputs beyond {@link #MAX_EXACT_LINES} lines get a single hunk around the changed middle instead.
 */
final class UnifiedDiff {

    static final int MAX_EXACT_LINES = 20_000;

    private UnifiedDiff() {
    }

    static String of(String oldText, String newText, String path) {
        String[] a = oldText.split("\n", -1);
        String[] b = newText.split("\n", -1);
        List<int[]> hunks = Math.max(a.length, b.length) > MAX_EXACT_LINES ? trimmedHunk(a, b) : changes(a, b);
        if (hunks.isEmpty()) {
            return "";
        }
        List<String> lines = new ArrayList<>();
        lines.add("--- " + path);
        lines.add("+++ " + path);
        for (int[] h : hunks) {
            lines.add("@@ -" + range(h[0], h[1]) + " +" + range(h[2], h[3]) + " @@");
            for (int i = h[0]; i < h[1]; i++) {
                lines.add("-" + a[i]);
            }
            for (int j = h[2]; j < h[3]; j++) {
                lines.add("+" + b[j]);
            }
        }
        StringBuilder out = new StringBuilder();
        for (String line : lines) {
            if (out.length() > 0) {
                out.append('\n');
            }
            out.append(stripTrailing(line));
        }
        return out.toString();
    }

    /** difflib's {@code _format_range_unified}. */
    private static String range(int start, int stop) {
        int beginning = start + 1;
        int length = stop - start;
        if (length == 1) {
            return Integer.toString(beginning);
        }
        if (length == 0) {
            beginning--;
        }
        return beginning + "," + length;
    }

    /** {@code str.rstrip()}. */
    private static String stripTrailing(String s) {
        int end = s.length();
        while (end > 0 && Py.isSpace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }

    /** The non-equal opcodes, as {@code {i1, i2, j1, j2}}: with zero context every one is its own hunk. */
    private static List<int[]> changes(String[] a, String[] b) {
        List<int[]> out = new ArrayList<>();
        int i = 0;
        int j = 0;
        for (int[] m : new Matcher(a, b).matchingBlocks()) {
            if (i < m[0] || j < m[1]) {
                out.add(new int[] {i, m[0], j, m[1]});
            }
            i = m[0] + m[2];
            j = m[1] + m[2];
        }
        return out;
    }

    private static List<int[]> trimmedHunk(String[] a, String[] b) {
        int prefix = 0;
        while (prefix < a.length && prefix < b.length && a[prefix].equals(b[prefix])) {
            prefix++;
        }
        int suffix = 0;
        while (suffix < a.length - prefix && suffix < b.length - prefix
                && a[a.length - 1 - suffix].equals(b[b.length - 1 - suffix])) {
            suffix++;
        }
        if (prefix == a.length && prefix == b.length) {
            return List.of();
        }
        return List.of(new int[] {prefix, a.length - suffix, prefix, b.length - suffix});
    }

    /** difflib.SequenceMatcher without a junk function (autojunk on), reduced to what get_opcodes needs. */
    private static final class Matcher {
        private final String[] a;
        private final String[] b;
        private final Map<String, int[]> b2j = new HashMap<>();

        Matcher(String[] a, String[] b) {
            this.a = a;
            this.b = b;
            Map<String, List<Integer>> index = new HashMap<>();
            for (int j = 0; j < b.length; j++) {
                index.computeIfAbsent(b[j], k -> new ArrayList<>()).add(j);
            }
            int popularAbove = b.length >= 200 ? b.length / 100 + 1 : Integer.MAX_VALUE;
            index.forEach((line, js) -> {
                if (js.size() <= popularAbove) {
                    b2j.put(line, js.stream().mapToInt(Integer::intValue).toArray());
                }
            });
        }

        /** {@code find_longest_match}: the longest block, earliest in a, then earliest in b. */
        private int[] longestMatch(int alo, int ahi, int blo, int bhi) {
            int besti = alo;
            int bestj = blo;
            int bestSize = 0;
            Map<Integer, Integer> j2len = new HashMap<>();
            for (int i = alo; i < ahi; i++) {
                Map<Integer, Integer> next = new HashMap<>();
                int[] js = b2j.get(a[i]);
                if (js != null) {
                    for (int j : js) {
                        if (j < blo) {
                            continue;
                        }
                        if (j >= bhi) {
                            break;
                        }
                        int k = j2len.getOrDefault(j - 1, 0) + 1;
                        next.put(j, k);
                        if (k > bestSize) {
                            besti = i - k + 1;
                            bestj = j - k + 1;
                            bestSize = k;
                        }
                    }
                }
                j2len = next;
            }
            // Popular lines were left out of the index; grow the match over equal lines on both ends.
            while (besti > alo && bestj > blo && a[besti - 1].equals(b[bestj - 1])) {
                besti--;
                bestj--;
                bestSize++;
            }
            while (besti + bestSize < ahi && bestj + bestSize < bhi && a[besti + bestSize].equals(b[bestj + bestSize])) {
                bestSize++;
            }
            return new int[] {besti, bestj, bestSize};
        }

        /** {@code get_matching_blocks}: sorted, adjacent blocks merged, ending with the {@code (len a, len b, 0)} sentinel. */
        List<int[]> matchingBlocks() {
            List<int[]> blocks = new ArrayList<>();
            Deque<int[]> queue = new ArrayDeque<>();
            queue.push(new int[] {0, a.length, 0, b.length});
            while (!queue.isEmpty()) {
                int[] q = queue.pop();
                int[] m = longestMatch(q[0], q[1], q[2], q[3]);
                if (m[2] == 0) {
                    continue;
                }
                blocks.add(m);
                if (q[0] < m[0] && q[2] < m[1]) {
                    queue.push(new int[] {q[0], m[0], q[2], m[1]});
                }
                if (m[0] + m[2] < q[1] && m[1] + m[2] < q[3]) {
                    queue.push(new int[] {m[0] + m[2], q[1], m[1] + m[2], q[3]});
                }
            }
            blocks.sort(Comparator.<int[]>comparingInt(m -> m[0]).thenComparingInt(m -> m[1]));
            List<int[]> merged = new ArrayList<>();
            int[] current = null;
            for (int[] m : blocks) {
                if (current != null && current[0] + current[2] == m[0] && current[1] + current[2] == m[1]) {
                    current[2] += m[2];
                } else {
                    if (current != null) {
                        merged.add(current);
                    }
                    current = Arrays.copyOf(m, 3);
                }
            }
            if (current != null) {
                merged.add(current);
            }
            merged.add(new int[] {a.length, b.length, 0});
            return merged;
        }
    }
}
