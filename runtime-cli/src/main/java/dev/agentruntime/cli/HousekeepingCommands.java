package dev.agentruntime.cli;

import dev.agentruntime.AgentRuntimeException;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.SandboxHousekeeping;
import dev.agentruntime.SandboxInfo;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code list}, {@code rm SESSION} and {@code reap}: the backend kit's housekeeping, for any backend type. */
final class HousekeepingCommands {

    private HousekeepingCommands() {
    }

    /** The options the housekeeping commands share: which backend, and where its sandboxes live. */
    static final class Target {
        @Option(names = {"-t", "--type"}, defaultValue = "local",
                description = "Backend type (default: ${DEFAULT-VALUE}): ${COMPLETION-CANDIDATES}.",
                completionCandidates = SandboxOptions.Backends.class)
        String type;

        @Option(names = {"-o", "--option"}, description = "Backend option, key=value (repeatable), e.g. "
                + "docker.host=tcp://build:2376.")
        Map<String, String> options = new LinkedHashMap<>();

        SandboxHousekeeping open() {
            return RuntimeFactory.housekeeping(RuntimeConfig.builder().type(type).options(options).build());
        }
    }

    /** Shared plumbing: open the housekeeping, run, map failures to exit code 125 with a message. */
    abstract static class Base implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Target target = new Target();

        @Spec
        CommandSpec spec;

        abstract int run(SandboxHousekeeping sandboxes, PrintWriter out, PrintWriter err);

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try (SandboxHousekeeping sandboxes = target.open()) {
                return run(sandboxes, out, err);
            } catch (AgentRuntimeException e) {
                err.println("agent-runtime: " + e.getMessage());
                return 125;
            } finally {
                out.flush();
                err.flush();
            }
        }
    }

    static void print(PrintWriter out, List<SandboxInfo> sandboxes) {
        out.printf("%-24s %-14s %-14s %-22s %s%n", "SESSION", "STATE", "ID", "OWNER", "NOTE");
        for (SandboxInfo info : sandboxes) {
            String id = info.sandboxId().length() > 12 ? info.sandboxId().substring(0, 12) : info.sandboxId();
            String owner = info.ownerHost() + (info.ownerPid() > 0 ? ":" + info.ownerPid() : "");
            String note = (info.keepAlive() ? "keep-alive " : "") + (info.ownerGone() ? "owner gone" : "");
            out.printf("%-24s %-14s %-14s %-22s %s%n", info.sessionId(), info.state(), id, owner, note.strip());
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List the sandboxes a backend manages (found by their labels).")
    static final class List_ extends Base {
        @Option(names = "--json", description = "Print a JSON array of the sandboxes, for scripts.")
        boolean json;

        @Override
        int run(SandboxHousekeeping sandboxes, PrintWriter out, PrintWriter err) {
            if (json) {
                out.println(toJson(sandboxes.list()));
            } else {
                print(out, sandboxes.list());
            }
            return 0;
        }
    }

    static String toJson(List<SandboxInfo> sandboxes) {
        com.fasterxml.jackson.databind.node.ArrayNode array = ExecCommand.JSON.createArrayNode();
        for (SandboxInfo info : sandboxes) {
            com.fasterxml.jackson.databind.node.ObjectNode node = array.addObject();
            node.put("type", info.type());
            node.put("session", info.sessionId());
            node.put("sandbox", info.sandboxId());
            node.put("state", info.state());
            node.put("owner_host", info.ownerHost());
            node.put("owner_pid", info.ownerPid());
            node.put("owner_gone", info.ownerGone());
            node.put("keep_alive", info.keepAlive());
            if (info.createdAt().isPresent()) {
                node.put("created_at", info.createdAt().get().toString());
            } else {
                node.putNull("created_at");
            }
        }
        return array.toString();
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Remove the sandbox of a session, running or not.")
    static final class Remove extends Base {
        @Parameters(arity = "1..*", paramLabel = "SESSION", description = "Session ids.")
        List<String> sessions;

        @Override
        int run(SandboxHousekeeping sandboxes, PrintWriter out, PrintWriter err) {
            int missing = 0;
            for (String session : sessions) {
                if (sandboxes.delete(session)) {
                    out.println("removed " + session);
                } else {
                    err.println("agent-runtime: no " + target.type + " sandbox of session " + session);
                    missing++;
                }
            }
            return missing == 0 ? 0 : 1;
        }
    }

    @Command(name = "reap", mixinStandardHelpOptions = true,
            description = "Remove the sandboxes whose owning process is gone (keep-alive ones are kept).")
    static final class Reap extends Base {
        @Override
        int run(SandboxHousekeeping sandboxes, PrintWriter out, PrintWriter err) {
            List<SandboxInfo> reaped = sandboxes.reap();
            if (reaped.isEmpty()) {
                out.println("nothing to reap");
            } else {
                out.println("reaped " + reaped.size() + ":");
                print(out, reaped);
            }
            return 0;
        }
    }
}
