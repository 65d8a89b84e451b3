package dev.agentruntime.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The server's command line and environment, parsed once. Accepts OpenHands' command line
 * ({@code <port> --working-dir D [--plugins ...] [--username U] [--user-id N] [--enable-browser|--no-enable-browser]
 * [--browsergym-eval-env ...]}) so the same launch command works for both servers.
 */
record ServerOptions(int port, Path workingDir, String username, Integer userId, String sessionApiKey,
                     Duration noChangeTimeout, Duration idleTimeout, boolean exitOnStdinEof, String bindAddress,
                     Path sessionApiKeyFile, boolean sessionApiKeyOnStdin, boolean removeWorkingDirOnExit,
                     ServerLimits limits) {

    static final String USAGE = "usage: java -jar runtime-server.jar <port> --working-dir <dir> [--username <user>]"
            + " [--user-id <uid>] [--bind <address>] [--session-api-key-file <path> | --session-api-key-stdin]"
            + " [--remove-working-dir-on-exit]\n"
            + "env: SESSION_API_KEY, NO_CHANGE_TIMEOUT_SECONDS (default 10), AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS"
            + " (exit after that long without requests; default: never), AGENT_RUNTIME_EXIT_ON_STDIN_EOF=1 (exit when"
            + " the parent closes our stdin), AGENT_RUNTIME_MAX_* limits (docs/PROTOCOL.md, Limits)";

    static ServerOptions parse(String[] args, Map<String, String> env) {
        Integer port = null;
        Path workingDir = null;
        String username = null;
        Integer userId = null;
        String bind = "0.0.0.0";
        Path keyFile = null;
        boolean keyOnStdin = false;
        boolean removeWorkingDir = false;
        List<String> rest = new ArrayList<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 2) {
                rest.add(arg.substring(0, eq)); // argparse's --option=value form
                rest.add(arg.substring(eq + 1));
            } else {
                rest.add(arg);
            }
        }
        for (int i = 0; i < rest.size(); i++) {
            String arg = rest.get(i);
            switch (arg) {
                case "--working-dir" -> workingDir = Path.of(value(rest, ++i, arg));
                case "--username" -> username = value(rest, ++i, arg);
                case "--user-id" -> userId = integer(value(rest, ++i, arg), arg);
                case "--bind" -> bind = value(rest, ++i, arg);
                case "--session-api-key-file" -> keyFile = Path.of(value(rest, ++i, arg));
                case "--session-api-key-stdin" -> keyOnStdin = true;
                case "--remove-working-dir-on-exit" -> removeWorkingDir = true;
                case "--plugins", "--browsergym-eval-env" -> {
                    // OpenHands plugin and browser options: accepted for compatibility, nothing to start here.
                    while (i + 1 < rest.size() && !rest.get(i + 1).startsWith("--")) {
                        i++;
                    }
                }
                case "--enable-browser", "--no-enable-browser" -> { }
                case "-h", "--help" -> throw new IllegalArgumentException(USAGE);
                default -> {
                    if (arg.startsWith("--")) {
                        throw new IllegalArgumentException("unknown option " + arg + "\n" + USAGE);
                    }
                    if (port != null) {
                        throw new IllegalArgumentException("unexpected argument '" + arg + "'\n" + USAGE);
                    }
                    port = integer(arg, "port");
                    if (port < 0 || port > 65535) {
                        throw new IllegalArgumentException("port must be 0-65535, was " + port);
                    }
                }
            }
        }
        if (port == null) {
            throw new IllegalArgumentException("missing <port>\n" + USAGE);
        }
        if (workingDir == null) {
            workingDir = Path.of(System.getProperty("user.dir"));
        }
        Duration noChange = seconds(env.getOrDefault("NO_CHANGE_TIMEOUT_SECONDS", "10"), "NO_CHANGE_TIMEOUT_SECONDS");
        String idle = env.get("AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS");
        Duration idleTimeout = idle == null || idle.isBlank() || idle.equals("0") ? null
                : seconds(idle, "AGENT_RUNTIME_IDLE_TIMEOUT_SECONDS");
        String key = env.get("SESSION_API_KEY");
        if (key != null && key.isBlank()) {
            throw new IllegalArgumentException("SESSION_API_KEY is set but " + (key.isEmpty() ? "empty" : "blank")
                    + ": that would turn authentication off. Set a key (or unset the variable to accept every"
                    + " request, e.g. for a loopback-only test).");
        }
        int keySources = (key != null ? 1 : 0) + (keyFile != null ? 1 : 0) + (keyOnStdin ? 1 : 0);
        if (keySources > 1) {
            throw new IllegalArgumentException("give the session key one way: SESSION_API_KEY,"
                    + " --session-api-key-file or --session-api-key-stdin\n" + USAGE);
        }
        Path dir = workingDir.toAbsolutePath().normalize();
        if (removeWorkingDir && (dir.getNameCount() < 2 || dir.equals(Path.of(System.getProperty("user.home"))))) {
            throw new IllegalArgumentException("--remove-working-dir-on-exit refuses to remove " + dir
                    + " (the root, a top-level directory or the home directory)");
        }
        return new ServerOptions(port, dir, username, userId, key, noChange, idleTimeout,
                "1".equals(env.get("AGENT_RUNTIME_EXIT_ON_STDIN_EOF")), bind, keyFile, keyOnStdin, removeWorkingDir,
                ServerLimits.fromEnvironment(env));
    }

    /** The same options with the session key read from its file or stdin. */
    ServerOptions withSessionApiKey(String key) {
        return new ServerOptions(port, workingDir, username, userId, key, noChangeTimeout, idleTimeout, exitOnStdinEof,
                bindAddress, sessionApiKeyFile, sessionApiKeyOnStdin, removeWorkingDirOnExit, limits);
    }

    private static String value(List<String> args, int index, String option) {
        if (index >= args.size()) {
            throw new IllegalArgumentException(option + " needs a value\n" + USAGE);
        }
        return args.get(index);
    }

    private static int integer(String text, String what) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " must be an integer, was '" + text + "'\n" + USAGE);
        }
    }

    private static Duration seconds(String text, String what) {
        try {
            double value = Double.parseDouble(text);
            long millis = Math.round(value * 1000);
            // NaN and values under half a millisecond would become a zero duration, which means "no timeout"
            if (!(value > 0) || Double.isInfinite(value) || millis < 1) {
                throw new IllegalArgumentException(what + " must be a positive number of seconds (at least 0.001),"
                        + " was " + text);
            }
            return Duration.ofMillis(millis);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " must be a number of seconds, was '" + text + "'");
        }
    }

    @Override
    public String toString() {
        return "ServerOptions[port=" + port + ", workingDir=" + workingDir + ", username=" + username + ", userId="
                + userId + ", sessionApiKey=" + (sessionApiKey == null ? "none" : "REDACTED") + ", noChangeTimeout="
                + noChangeTimeout + ", idleTimeout=" + idleTimeout + ", exitOnStdinEof=" + exitOnStdinEof
                + ", bind=" + bindAddress + ", sessionApiKeyFile=" + sessionApiKeyFile + ", sessionApiKeyOnStdin="
                + sessionApiKeyOnStdin + ", removeWorkingDirOnExit=" + removeWorkingDirOnExit + ", limits=" + limits
                + "]";
    }
}
