package dev.agentruntime.server.os;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * The few libc calls the server needs and the JDK does not offer, through JNA (which pty4j already brings, so no new
 * dependency). glibc's {@code setuid}/{@code setgid}/{@code setgroups} apply to every thread of the process, the
 * JVM's own included.
 */
interface Libc extends Library {

    int PR_SET_DUMPABLE = 4;
    int PR_SET_CHILD_SUBREAPER = 36;
    int WNOHANG = 1;

    int prctl(int option, long arg2, long arg3, long arg4, long arg5) throws LastErrorException;

    int getuid();

    int geteuid();

    int getgid();

    int setuid(int uid) throws LastErrorException;

    int setgid(int gid) throws LastErrorException;

    int initgroups(String user, int group) throws LastErrorException;

    int setgroups(long size, int[] groups) throws LastErrorException;

    int waitpid(int pid, int[] status, int options) throws LastErrorException;

    /** Loaded on first use; null where there is no libc to load (then the features that need it are off). */
    static Libc get() {
        return Holder.LIBC;
    }

    final class Holder {
        static final Libc LIBC = load();

        private Holder() {
        }

        private static Libc load() {
            try {
                return Native.load("c", Libc.class);
            } catch (Throwable e) {
                return null;
            }
        }
    }
}
