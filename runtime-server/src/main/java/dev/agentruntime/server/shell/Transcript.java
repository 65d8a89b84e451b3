package dev.agentruntime.server.shell;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The output of the command currently running in the shell, fed by the PTY reader thread and watched by the
 * action thread. Completion is detected in-band: the shell prints a prompt marker
 * ({@code \u001EAR<nonce>\u001F<seq>\u001F<exit>\u001F<pid>\u001F<cwd>\u001F<python>\u001D}) when the command ends, and the
 * waiting thread is signalled the moment it arrives — no polling.
 *
 * <p>Memory is bounded: beyond {@link #MAX_CHARS} the middle of the output is dropped (the observation is
 * middle-truncated to 30,000 characters anyway), so {@code yes} cannot exhaust the heap and the end is never lost.
 */
final class Transcript {

    /** Kept per command: the first {@link #HEAD_CHARS} and the most recent characters up to this total. */
    static final int MAX_CHARS = 4 * 1024 * 1024;
    static final int HEAD_CHARS = 256 * 1024;
    static final String DROPPED_NOTE = "\n[... output dropped while the command ran: too long to keep ...]\n";

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final String markerStart;
    private final StringBuilder text = new StringBuilder();
    private long lastChangeNanos = System.nanoTime();
    private int scanFrom;
    private Marker marker;
    private boolean closed;
    private boolean dropped;
    /** The sequence number of the command whose prompt ends it; null accepts any prompt. */
    private String expectedSeq;

    /** A completed prompt marker: the command's exit code and the shell's state, plus the output before it. */
    record Marker(int exitCode, int pid, String workingDir, String pythonPath, String output) {
    }

    Transcript(String nonce) {
        this.markerStart = "\u001EAR" + nonce + "\u001F";
    }

    /** How every prompt marker of this session begins (for an output tap to hold it back). */
    String markerStart() {
        return markerStart;
    }

    /** Called by the reader thread with newly decoded output. */
    void append(CharSequence chunk) {
        lock.lock();
        try {
            text.append(chunk);
            lastChangeNanos = System.nanoTime();
            boolean found = false;
            if (marker == null) {
                findMarker();
                found = marker != null;
            }
            if (text.length() > MAX_CHARS) {
                // Also once a marker arrived: what follows it (a background job still writing, no action
                // waiting to reset the transcript) must not grow without bound either.
                dropMiddle();
            }
            // Only a marker ends a wait early. Plain output (the echo of the injected line, a command's progress)
            // needs no wake-up: a waiter watching for quiet wakes at its own quiet deadline and sees the newer
            // lastChangeNanos there. Waking it per chunk cost a thread switch per chunk on the action path.
            if (found) {
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Called when the PTY reached end of file (the shell and everything holding the terminal exited). */
    void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Starts a new command: everything before it is forgotten, except output that arrived after the previous marker
     * (background jobs writing to the terminal), which belongs to the new command like it would in a terminal.
     */
    void reset() {
        lock.lock();
        try {
            // The buffer now holds only what arrived after the last marker; consume stale markers, if any.
            marker = null;
            scanFrom = 0;
            do {
                marker = null;
                findMarker();
            } while (marker != null);
            dropped = false;
            lastChangeNanos = System.nanoTime();
        } finally {
            lock.unlock();
        }
    }

    /**
     * From now on only prompts carrying this command sequence number count as markers (null: any prompt, e.g.
     * when a key is sent to an idle shell); others are dropped from the output as they arrive.
     */
    void expect(String seq) {
        lock.lock();
        try {
            expectedSeq = seq;
        } finally {
            lock.unlock();
        }
    }

    /** Forgets everything, including a pending marker (used right after the shell starts). */
    void clear() {
        lock.lock();
        try {
            text.setLength(0);
            marker = null;
            scanFrom = 0;
            dropped = false;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until a marker arrives, the output stays unchanged for {@code quietNanos} (if positive), or
     * {@code deadlineNanos} (a {@link System#nanoTime()} value; {@code Long.MAX_VALUE} for none) passes.
     */
    Wait await(long quietNanos, long deadlineNanos) throws InterruptedException {
        lock.lock();
        try {
            while (true) {
                if (marker != null) {
                    return Wait.MARKER;
                }
                if (closed) {
                    return Wait.CLOSED;
                }
                long now = System.nanoTime();
                long untilQuiet = quietNanos > 0 ? lastChangeNanos + quietNanos - now : Long.MAX_VALUE;
                long untilDeadline = deadlineNanos == Long.MAX_VALUE ? Long.MAX_VALUE : deadlineNanos - now;
                if (untilQuiet <= 0) {
                    return Wait.QUIET;
                }
                if (untilDeadline <= 0) {
                    return Wait.DEADLINE;
                }
                changed.await(Math.min(untilQuiet, untilDeadline), TimeUnit.NANOSECONDS);
            }
        } finally {
            lock.unlock();
        }
    }

    enum Wait { MARKER, QUIET, DEADLINE, CLOSED }

    /** Restarts the "no new output" clock (an action started watching). */
    void touch() {
        lock.lock();
        try {
            lastChangeNanos = System.nanoTime();
        } finally {
            lock.unlock();
        }
    }

    /** The marker, once one arrived. */
    Marker marker() {
        lock.lock();
        try {
            return marker;
        } finally {
            lock.unlock();
        }
    }

    /** The output of the running command so far (before any marker). */
    String output() {
        lock.lock();
        try {
            return marker != null ? marker.output() : text.toString();
        } finally {
            lock.unlock();
        }
    }

    boolean droppedOutput() {
        lock.lock();
        try {
            return dropped;
        } finally {
            lock.unlock();
        }
    }

    private void findMarker() {
        while (true) {
            int start = text.indexOf(markerStart, Math.max(0, scanFrom - markerStart.length()));
            if (start < 0) {
                scanFrom = text.length();
                return;
            }
            int end = text.indexOf("\u001D", start);
            if (end < 0) {
                scanFrom = start; // marker still arriving
                return;
            }
            String[] fields = text.substring(start + markerStart.length(), end).split("\u001F", -1);
            String seq = field(fields, 0);
            if (expectedSeq != null && !expectedSeq.equals(seq)) {
                // a prompt that is not the running command's end (e.g. bash answering a key at an idle prompt)
                text.delete(start, end + 1);
                scanFrom = start;
                continue;
            }
            String output = text.substring(0, start);
            String rest = text.substring(end + 1);
            marker = new Marker(parseInt(field(fields, 1)), parseInt(field(fields, 2)), field(fields, 3),
                    emptyToNull(field(fields, 4).strip()), output);
            text.setLength(0);
            text.append(rest); // output after the prompt (e.g. a background job) waits for the next command
            scanFrom = 0;
            return;
        }
    }

    private void dropMiddle() {
        int tailStart = text.length() - (MAX_CHARS / 2);
        text.replace(HEAD_CHARS, tailStart, DROPPED_NOTE);
        scanFrom = Math.max(0, Math.min(scanFrom - (tailStart - HEAD_CHARS) + DROPPED_NOTE.length(), text.length()));
        dropped = true;
    }

    private static String field(String[] fields, int index) {
        return index < fields.length ? fields[index] : "";
    }

    private static String emptyToNull(String value) {
        return value.isEmpty() ? null : value;
    }

    private static int parseInt(String value) {
        try {
            return (int) Double.parseDouble(value.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
