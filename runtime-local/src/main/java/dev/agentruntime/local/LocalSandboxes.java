package dev.agentruntime.local;

import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import dev.agentruntime.spi.SandboxOwner;
import dev.agentruntime.spi.ServerLaunch;
import dev.agentruntime.spi.SessionLabels;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Housekeeping for local sandboxes: their servers are java processes of this user whose command line names the
 * session ({@code -Dagent.runtime.session=<id>}, see {@link ServerLaunch#SESSION_PROPERTY}) and, for keep-alive ones,
 * {@code -Dagent.runtime.keep-alive=true}; the owner is the server's parent. A server whose parent died exits by
 * itself when its stdin ends (keep-alive ones after their idle timeout), so {@link #reap()} finds something only when
 * that failed.
 */
final class LocalSandboxes implements SandboxHousekeeping {

    private static final String SESSION_ARGUMENT = "-D" + ServerLaunch.SESSION_PROPERTY + "=";
    private static final String KEEP_ALIVE_ARGUMENT = "-D" + ServerLaunch.KEEP_ALIVE_PROPERTY + "=true";

    /** A server process of this user and its command line. */
    record Server(ProcessHandle process, String sessionId, List<String> arguments) {

        boolean keepAlive() {
            return arguments.contains(KEEP_ALIVE_ARGUMENT);
        }

        /** The session and the caller's labels, as the command line names them. */
        Map<String, String> labels() {
            Map<String, String> labels = new java.util.LinkedHashMap<>();
            labels.put(ServerLaunch.SESSION_PROPERTY, sessionId);
            String prefix = "-D" + ServerLaunch.LABEL_PROPERTY_PREFIX;
            for (String argument : arguments) {
                int eq = argument.indexOf('=');
                if (argument.startsWith(prefix) && eq > prefix.length()) {
                    labels.put(SessionLabels.USER_PREFIX + argument.substring(prefix.length(), eq),
                            argument.substring(eq + 1));
                }
            }
            return labels;
        }

        /** The value after {@code option}, or after the jar for the port. */
        Optional<String> argument(String option) {
            int at = arguments.indexOf(option);
            return at >= 0 && at + 1 < arguments.size() ? Optional.of(arguments.get(at + 1)) : Optional.empty();
        }

        /** The port: the argument after {@code -jar <jar>}. */
        Optional<Integer> port() {
            int jar = arguments.indexOf("-jar");
            try {
                return jar >= 0 && jar + 2 < arguments.size() ? Optional.of(Integer.parseInt(arguments.get(jar + 2)))
                        : Optional.empty();
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
    }

    /** Every running server of this user. */
    static List<Server> servers() {
        String user = ProcessHandle.current().info().user().orElse("");
        List<Server> servers = new ArrayList<>();
        ProcessHandle.allProcesses().forEach(process -> server(process, user).ifPresent(servers::add));
        return servers;
    }

    /** The running server of {@code sessionId}, if any. */
    static Optional<Server> server(String sessionId) {
        return servers().stream().filter(s -> s.sessionId().equals(sessionId)).findFirst();
    }

    @Override
    public List<SandboxInfo> list() {
        String host = SandboxOwner.current().host();
        List<SandboxInfo> sandboxes = new ArrayList<>();
        for (Server server : servers()) {
            Optional<ProcessHandle> parent = server.process().parent();
            long ownerPid = parent.map(ProcessHandle::pid).orElse(-1L);
            boolean ownerGone = parent.isEmpty() || !parent.get().isAlive() || ownerPid == 1;
            sandboxes.add(new SandboxInfo("local", server.sessionId(), Long.toString(server.process().pid()),
                    server.process().isAlive() ? "running" : "exited", host, ownerPid, ownerGone, server.keepAlive(),
                    server.process().info().startInstant(), server.labels()));
        }
        return sandboxes;
    }

    /** Ends the session's server and everything it started. */
    @Override
    public boolean delete(String sessionId) {
        List<Server> matching = servers().stream().filter(s -> s.sessionId().equals(sessionId)).toList();
        matching.forEach(server -> end(server.process(), Duration.ofSeconds(2)));
        return !matching.isEmpty();
    }

    /**
     * Ends a server: SIGTERM (it then kills its shell's process tree), and after {@code grace} SIGKILL for whatever
     * of the tree is left.
     */
    static void end(ProcessHandle server, Duration grace) {
        List<ProcessHandle> tree = server.descendants().toList();
        server.destroy();
        try {
            server.onExit().get(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception stillRunning) {
            server.destroyForcibly();
        }
        tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }

    @Override
    public void close() {
        // nothing held
    }

    private static Optional<Server> server(ProcessHandle process, String user) {
        ProcessHandle.Info info = process.info();
        if (!info.user().orElse("").equals(user)) {
            return Optional.empty();
        }
        List<String> arguments = Arrays.asList(info.arguments().orElse(new String[0]));
        if (!arguments.contains("-jar")) {
            return Optional.empty();
        }
        return arguments.stream().filter(a -> a.startsWith(SESSION_ARGUMENT)).findFirst()
                .map(a -> new Server(process, a.substring(SESSION_ARGUMENT.length()), arguments));
    }
}
