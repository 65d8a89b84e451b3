package dev.agentruntime.server.shell;

import dev.agentruntime.OutputListener;

/**
 * Passes the output of one action to an {@link OutputListener} as the PTY reader decodes it, without what the
 * session itself put into the terminal: the echo of the line typed to start the command is skipped, and everything
 * from the command's prompt marker on is held back (a marker split across reads is held until it is complete or
 * proves to be output). Runs on the reader thread; the listener must not block (the server's one queues).
 */
final class OutputTap {

    private final OutputListener listener;
    private final String markerStart;
    /** The echo still to be skipped at the start, or null once it was skipped or cannot come. */
    private String echo;
    private final StringBuilder held = new StringBuilder();
    private boolean ended;

    /**
     * @param echo        the line typed to start the command (its echo is not output), or null when nothing was typed
     * @param markerStart the start of the session's prompt marker
     */
    OutputTap(OutputListener listener, String echo, String markerStart) {
        this.listener = listener;
        this.echo = echo == null || echo.isEmpty() ? null : echo;
        this.markerStart = markerStart;
    }

    synchronized void feed(CharSequence chunk) {
        if (ended) {
            return;
        }
        held.append(chunk);
        if (echo != null && !skipEcho()) {
            return; // the echo may still be arriving
        }
        int marker = held.indexOf(markerStart);
        if (marker >= 0) {
            emit(0, marker);
            ended = true; // the command ended: what follows is the shell's, not the action's
            held.setLength(0);
            return;
        }
        int keep = partialMarkerAtEnd();
        emit(0, held.length() - keep);
        held.delete(0, held.length() - keep);
    }

    /** True when the echo question is settled (skipped or absent); false while the held text may be its beginning. */
    private boolean skipEcho() {
        for (String form : new String[] {echo + "\n", echo + "\r\n"}) {
            if (startsWith(held, form)) {
                held.delete(0, form.length());
                echo = null;
                return true;
            }
        }
        String sofar = held.toString();
        if ((echo + "\r\n").startsWith(sofar) || (echo + "\n").startsWith(sofar)) {
            return false;
        }
        echo = null; // something else came first: pass it on as it is
        return true;
    }

    private static boolean startsWith(StringBuilder text, String prefix) {
        if (text.length() < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (text.charAt(i) != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** The length of the longest end of the held text that is a beginning of the marker. */
    private int partialMarkerAtEnd() {
        int max = Math.min(held.length(), markerStart.length() - 1);
        for (int n = max; n > 0; n--) {
            boolean match = true;
            for (int i = 0; i < n; i++) {
                if (held.charAt(held.length() - n + i) != markerStart.charAt(i)) {
                    match = false;
                    break;
                }
            }
            if (match) {
                return n;
            }
        }
        return 0;
    }

    private void emit(int from, int to) {
        if (to > from) {
            String text = held.substring(from, to);
            try {
                listener.onOutput(text);
            } catch (RuntimeException e) {
                ended = true; // a failing listener stops getting output; the action is unaffected
            }
        }
    }
}
