package dev.agentruntime.server.os;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the server does to its own process: hide its memory and environment from the sandbox user, adopt every
 * process the session starts, drop root, and at the end leave nothing running.
 */
public final class ProcessControl {

    private static final Logger log = LoggerFactory.getLogger(ProcessControl.class);

    private ProcessControl() {
    }

    /**
     * Marks the process not dumpable: {@code /proc/<pid>/environ}, {@code /mem}, {@code /maps} and ptrace are then
     * closed to other processes of the same user (root keeps them), so the shell cannot read the session key the
     * server was started with from {@code /proc/$PPID/environ}. Children are unaffected (exec resets the flag).
     *
     * @return whether it took effect
     */
    public static boolean hideFromSameUser() {
        Libc libc = Libc.get();
        if (libc == null) {
            return false;
        }
        try {
            libc.prctl(Libc.PR_SET_DUMPABLE, 0, 0, 0, 0);
            return true;
        } catch (LastErrorException e) {
            log.warn("cannot mark the server non-dumpable (errno {}): its environment stays readable to its user",
                    e.getErrorCode());
            return false;
        }
    }

    /**
     * Makes the server a child subreaper: a process the session starts that outlives its parent ({@code (cmd &)},
     * {@code setsid cmd}, a daemon that double-forks) is re-parented to the server instead of to init, so it stays a
     * {@linkplain ProcessHandle#descendants() descendant} and is killed with the session.
     */
    public static boolean becomeSubreaper() {
        Libc libc = Libc.get();
        if (libc == null) {
            return false;
        }
        try {
            libc.prctl(Libc.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
            return true;
        } catch (LastErrorException e) {
            log.warn("cannot become a child subreaper (errno {}): orphaned processes may outlive the session",
                    e.getErrorCode());
            return false;
        }
    }

    /** A user's ids and home, as {@code id} and {@code /etc/passwd} report them. */
    public record Account(String name, int uid, int gid, String home, String shell) {
    }

    public static Account account(String name) throws IOException, InterruptedException {
        int uid = Integer.parseInt(run("id", "-u", name).strip());
        int gid = Integer.parseInt(run("id", "-g", name).strip());
        String home = "/";
        String shell = "/bin/bash";
        try {
            for (String line : Files.readAllLines(Path.of("/etc/passwd"), StandardCharsets.UTF_8)) {
                String[] f = line.split(":", -1);
                if (f.length >= 7 && f[0].equals(name)) {
                    home = f[5].isEmpty() ? "/" : f[5];
                    shell = f[6].isEmpty() ? shell : f[6];
                    break;
                }
            }
        } catch (IOException ignored) {
            // defaults above
        }
        return new Account(name, uid, gid, home, shell);
    }

    /**
     * Drops from root to {@code account} for good: supplementary groups, then gid, then uid (real, effective and
     * saved), then checks that root cannot be regained. Every thread of the JVM changes with it.
     *
     * @throws IllegalStateException when any step fails: the server must not go on as root
     */
    public static void dropTo(Account account) {
        Libc libc = Libc.get();
        if (libc == null) {
            throw new IllegalStateException("cannot drop root privileges: libc is not available through JNA");
        }
        try {
            libc.initgroups(account.name(), account.gid());
            libc.setgid(account.gid());
            libc.setuid(account.uid());
        } catch (LastErrorException e) {
            throw new IllegalStateException("cannot drop root privileges to " + account.name() + " (uid "
                    + account.uid() + "): errno " + e.getErrorCode(), e);
        }
        if (libc.getuid() != account.uid() || libc.geteuid() != account.uid() || libc.getgid() != account.gid()) {
            throw new IllegalStateException("dropping privileges to " + account.name() + " did not take effect");
        }
        try {
            libc.setuid(0);
            throw new IllegalStateException("dropped privileges to " + account.name() + " but could regain root");
        } catch (LastErrorException expected) {
            // EPERM: as it must be
        }
        System.setProperty("user.name", account.name());
        System.setProperty("user.home", account.home());
    }

    public static boolean isRoot() {
        Libc libc = Libc.get();
        return libc != null ? libc.geteuid() == 0 : "root".equals(System.getProperty("user.name"));
    }

    /**
     * Reaps orphans re-parented to us that have exited (zombies nobody else waits for): every few seconds, a child that
     * was already a zombie at the previous look is waited for. Children the JVM or pty4j started are never zombies for
     * that long (their own reaper threads wait for them at once), so their exit codes are not stolen.
     */
    public static void startOrphanReaper(Duration every) {
        Libc libc = Libc.get();
        if (libc == null) {
            return;
        }
        long self = ProcessHandle.current().pid();
        Thread reaper = new Thread(() -> {
            Set<Long> seen = new HashSet<>();
            while (true) {
                try {
                    Thread.sleep(every.toMillis()); // a period, not a wait for a condition
                } catch (InterruptedException e) {
                    return;
                }
                Set<Long> zombies = zombieChildren(self);
                for (long pid : zombies) {
                    if (seen.contains(pid)) {
                        try {
                            libc.waitpid((int) pid, new int[1], Libc.WNOHANG);
                        } catch (LastErrorException ignored) {
                            // already reaped
                        }
                    }
                }
                seen = zombies;
            }
        }, "agent-runtime-orphan-reaper");
        reaper.setDaemon(true);
        reaper.start();
    }

    private static Set<Long> zombieChildren(long parent) {
        Set<Long> out = new HashSet<>();
        ProcessHandle.current().children().forEach(child -> {
            try {
                String stat = Files.readString(Path.of("/proc/" + child.pid() + "/stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                if (f[0].equals("Z") && Long.parseLong(f[1]) == parent) {
                    out.add(child.pid());
                }
            } catch (IOException | RuntimeException ignored) {
                // gone already
            }
        });
        return out;
    }

    /**
     * Kills every descendant (the shell, its jobs, orphans we adopted) and waits, within {@code within}, until none is
     * left; repeats while killed processes had started new ones. Returns how many were still alive at the end.
     */
    public static int killAllDescendants(Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        int rounds = 0;
        while (true) {
            List<ProcessHandle> alive = new ArrayList<>();
            ProcessHandle.current().descendants().filter(ProcessControl::running).forEach(alive::add);
            if (alive.isEmpty()) {
                return 0;
            }
            if (System.nanoTime() - deadline > 0 || rounds++ > 100) {
                return alive.size();
            }
            if (rounds == 1) {
                // SIGTERM first, so scripts' EXIT traps run (lock files, temp files); what is left gets SIGKILL
                alive.forEach(ProcessHandle::destroy);
                long grace = Math.min(deadline, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500));
                for (ProcessHandle p : alive) {
                    long left = grace - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    try {
                        p.onExit().get(left, TimeUnit.NANOSECONDS);
                    } catch (Exception ignored) {
                        // SIGKILL below
                    }
                }
            }
            alive.forEach(ProcessHandle::destroyForcibly);
            for (ProcessHandle p : alive) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    p.onExit().get(left, TimeUnit.NANOSECONDS);
                } catch (Exception ignored) {
                    // a zombie completes only when reaped: checked by running() next round
                }
            }
        }
    }

    /** Alive and not a zombie (a zombie has exited; it only waits to be reaped). */
    private static boolean running(ProcessHandle p) {
        if (!p.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc/" + p.pid() + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out.strip());
        }
        return out;
    }
}
