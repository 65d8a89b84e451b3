package dev.agentruntime.bench;

import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.CmdRunAction;
import dev.agentruntime.Runtime;
import dev.agentruntime.RuntimeConfig;
import dev.agentruntime.RuntimeFactory;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.spi.ActionServerRuntime;
import dev.agentruntime.spi.ServerEndpoint;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;

/**
 * Issue 14: commands measured the way an agent sends them — one at a time, after an idle gap (the agent waits for
 * its model between two actions) — beside the raw limit measured in the same run, interleaved: a persistent
 * {@code bash} over a pipe ({@link RawShell}). Also the agent-step workload against {@code execInContainer}, and a
 * round trip taken apart.
 */
final class AgentScenarios {

    private final Bench bench;

    AgentScenarios(Bench bench) {
        this.bench = bench;
    }

    /** The idle gap an agent leaves between two actions (its model thinking); the workload, not a wait for a condition. */
    private void gap() {
        Bench.sleep(bench.options.gapMillis());
    }

    /**
     * Warms this JVM's client path (the agent framework's JVM is long-lived; the sandbox's server never is) on a
     * throw-away sandbox of the same backend, so the idle scenarios that follow meet a client whose code is compiled
     * and a server as fresh as any new sandbox's. Without it the first scenario of a run pays this JVM's interpreter
     * (~1 ms of client CPU per action for the first few hundred actions, measured here) and later ones do not.
     */
    void warmClient(String prefix, RuntimeConfig config) {
        int n = bench.options.warmup() * 10;
        long start = System.nanoTime();
        try (Runtime throwAway = RuntimeFactory.connect(config)) {
            for (int i = 0; i < n; i++) {
                Workloads.run(throwAway, Workloads.ECHO);
            }
        }
        bench.log("  %s: client warmed with %d actions on a throw-away sandbox in %s ms", prefix, n,
                Report.number(Bench.ms(System.nanoTime() - start)));
    }

    /**
     * {@code echo} and {@code ls /} after an idle gap, through the sandbox and through the raw shell, interleaved
     * (which goes first alternates), so both see the same machine.
     *
     * @param prefix {@code local} or {@code docker}
     */
    void idle(String prefix, String what, Runtime sandbox, RawShell raw) {
        int n = bench.options.idleIterations();
        long gap = bench.options.gapMillis();
        bench.log("  %s: %d x (echo, ls) after a %d ms gap, sandbox and raw pipe interleaved", prefix, n, gap);
        for (String command : List.of(Workloads.ECHO, Workloads.LS)) {
            List<Double> ours = new ArrayList<>();
            List<Double> pipe = new ArrayList<>();
            int failures = 0;
            for (int w = 0; w < 3; w++) { // untimed: both paths warm once
                Workloads.run(sandbox, command);
                raw.run(command);
            }
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < 2; k++) {
                    boolean sandboxTurn = (i + k) % 2 == 0;
                    gap();
                    long start = System.nanoTime();
                    boolean ok;
                    try {
                        ok = sandboxTurn ? Workloads.run(sandbox, command)
                                : Workloads.expected(command, raw.run(command));
                    } catch (RuntimeException e) {
                        ok = false;
                    }
                    double ms = Bench.ms(System.nanoTime() - start);
                    if (!ok) {
                        failures++;
                    } else {
                        (sandboxTurn ? ours : pipe).add(ms);
                    }
                }
            }
            String key = DockerScenarios.key(command);
            String note = "after a " + gap + " ms idle gap, interleaved with the raw pipe"
                    + (failures > 0 ? "; " + failures + " failed" : "");
            Stats sandboxStats = Stats.of(ours);
            Stats pipeStats = Stats.of(pipe);
            bench.add(prefix + ".idle." + key, "`" + command + "` after an idle gap, " + what + " backend", "ms",
                    sandboxStats, note);
            bench.add(prefix + ".raw." + key, "`" + command + "` after an idle gap, raw persistent bash over a pipe ("
                    + what + ")", "ms", pipeStats, prefix.equals("docker") ? "docker exec -i <container> bash, sentinel line"
                    : "host bash over a pipe, sentinel line");
            bench.add(prefix + ".idle." + key + ".vs_raw", "`" + command + "` after a gap: " + what
                    + " backend p50 / raw pipe p50", "x", Stats.single(sandboxStats.p50() / pipeStats.p50()), "same run");
        }
    }

    /**
     * What one thread wake costs after an idle gap on this machine: this thread hands a token to a parked thread,
     * which hands it back (two wakes), after the same gap as the idle scenarios. The number of wakes on a path times
     * this is what the path pays beyond the work itself.
     */
    void wakeFloor() {
        int n = bench.options.idleIterations();
        java.util.concurrent.SynchronousQueue<Long> there = new java.util.concurrent.SynchronousQueue<>();
        java.util.concurrent.SynchronousQueue<Long> back = new java.util.concurrent.SynchronousQueue<>();
        Thread echo = new Thread(() -> {
            try {
                while (true) {
                    back.put(there.take());
                }
            } catch (InterruptedException e) {
                // done
            }
        }, "agent-runtime-bench-wake");
        echo.setDaemon(true);
        echo.start();
        List<Double> samples = new ArrayList<>();
        try {
            for (int i = -3; i < n; i++) {
                gap();
                long start = System.nanoTime();
                there.put(start);
                back.take();
                if (i >= 0) {
                    samples.add(Bench.ms(System.nanoTime() - start) / 2);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            echo.interrupt();
        }
        bench.add("floor.wake.idle", "one thread wake after an idle gap (half a ping-pong)", "ms", Stats.of(samples),
                "after a " + bench.options.gapMillis() + " ms gap; SynchronousQueue hand-off to a parked thread and back");
    }

    /**
     * The agent-step workload ({@link Workloads#AGENT_STEPS}) through the Docker sandbox and through
     * {@code execInContainer("bash","-c",…)} on a Testcontainers container of the same image, step by step
     * interleaved, each after the idle gap.
     */
    void steps(Runtime sandbox, GenericContainer<?> container) {
        int rounds = bench.options.stepRounds();
        List<Workloads.Step> steps = Workloads.AGENT_STEPS;
        bench.log("  %d rounds x %d steps, sandbox and execInContainer interleaved, %d ms gap", rounds, steps.size(),
                bench.options.gapMillis());
        List<Double> ours = new ArrayList<>();
        List<Double> theirs = new ArrayList<>();
        Map<String, List<Double>> oursByStep = new LinkedHashMap<>();
        int[] failures = new int[2];
        String[] firstFailure = {"", ""};
        for (int round = -1; round < rounds; round++) { // round -1: untimed warm-up
            for (Workloads.Step step : steps) {
                for (int k = 0; k < 2; k++) {
                    boolean sandboxTurn = (round + k) % 2 == 0;
                    gap();
                    long start = System.nanoTime();
                    boolean ok;
                    String why = "wrong answer";
                    try {
                        if (sandboxTurn) {
                            CmdOutputObservation out = sandbox.run(step.command());
                            ok = step.ok(out.exitCode(), out.content());
                            why = "exit " + out.exitCode() + ": " + out.content();
                        } else {
                            ExecResult result = container.execInContainer("bash", "-c", step.stateless());
                            ok = step.ok(result.getExitCode(), result.getStdout() + result.getStderr());
                            why = "exit " + result.getExitCode() + ": " + result.getStdout() + result.getStderr();
                        }
                    } catch (Exception e) {
                        ok = false;
                        why = e.toString();
                    }
                    double ms = Bench.ms(System.nanoTime() - start);
                    if (round < 0) {
                        continue;
                    }
                    int side = sandboxTurn ? 0 : 1;
                    if (!ok) {
                        if (failures[side]++ == 0) {
                            firstFailure[side] = step.name() + ": " + why;
                        }
                    } else if (sandboxTurn) {
                        ours.add(ms);
                        oursByStep.computeIfAbsent(step.name(), s -> new ArrayList<>()).add(ms);
                    } else {
                        theirs.add(ms);
                    }
                }
            }
        }
        StringBuilder perStep = new StringBuilder("p50 per step:");
        oursByStep.forEach((name, samples) -> perStep.append(' ').append(name).append(' ')
                .append(Report.number(Stats.of(samples).p50())));
        Stats a = Stats.of(ours);
        Stats b = Stats.of(theirs);
        String steps9 = steps.size() + " steps x " + rounds;
        bench.add("docker.steps.sandbox", "agent-step workload, Docker backend (per step)", "ms", a,
                steps9 + "; " + perStep + (failures[0] > 0 ? "; " + failures[0] + " failed, first " + firstFailure[0] : ""));
        bench.add("tc.steps.exec", "agent-step workload, execInContainer(\"bash\",\"-c\",...) (per step)", "ms", b,
                steps9 + "; state replayed per command" + (failures[1] > 0 ? "; " + failures[1] + " failed, first "
                        + firstFailure[1] : ""));
        bench.add("docker.steps.speedup_vs_tc", "agent steps: execInContainer p50 / Docker backend p50", "x",
                Stats.single(b.p50() / a.p50()), "same run, interleaved");
    }

    /**
     * One {@code echo} round trip taken apart, all parts interleaved per iteration on the same sandbox (no idle gap:
     * the parts run back to back): the full {@code run()}; the same request as hand-written HTTP on one socket (the
     * server side alone); {@code GET /alive} by hand (network + HTTP handling, no action) and through the client's
     * OkHttp; the client's JSON encoding and decoding; and the raw pipe (bash alone).
     */
    void breakdown(String prefix, String what, ActionServerRuntime sandbox, RawShell raw) {
        breakdown(prefix, what, sandbox, raw, false);
    }

    /**
     * @param afterGap each part after the idle gap (the agent's way: what the first action after a pause pays, part
     *                 by part), with the idle scenarios' iteration count; otherwise back to back
     */
    void breakdown(String prefix, String what, ActionServerRuntime sandbox, RawShell raw, boolean afterGap) {
        ServerEndpoint endpoint = sandbox.serverEndpoint().orElseThrow();
        int n = afterGap ? bench.options.idleIterations() : Math.max(20, bench.options.iterations() / 2);
        CmdRunAction action = CmdRunAction.of(Workloads.ECHO);
        byte[] request = requestJson(action).getBytes(StandardCharsets.UTF_8);
        bench.log("  %s breakdown%s: %d interleaved iterations", prefix, afterGap ? " after the gap" : "", n);
        Map<String, List<Double>> parts = new LinkedHashMap<>();
        try (RawHttp http = new RawHttp(endpoint)) {
            String[] lastBody = {""};
            List<Map.Entry<String, Callable<Boolean>>> steps = List.of(
                    Map.entry("run", () -> Workloads.run(sandbox, Workloads.ECHO)),
                    Map.entry("raw_execute", () -> {
                        RawHttp.Answer answer = http.post("/execute_action", request);
                        lastBody[0] = answer.body();
                        return answer.status() == 200 && answer.body().contains("\"x");
                    }),
                    Map.entry("raw_alive", () -> http.get("/alive").status() == 200),
                    Map.entry("okhttp_alive", sandbox::isHealthy),
                    Map.entry("codec", () -> {
                        String json = requestJson(action);
                        var observation = WireCodec.decodeObservation(WireCodec.parse(lastBody[0]));
                        return !json.isEmpty() && observation.content().equals("x");
                    }),
                    Map.entry("bash", () -> Workloads.expected(Workloads.ECHO, raw.run(Workloads.ECHO))));
            int warmup = afterGap ? 3 : Math.max(10, bench.options.warmup() / 2);
            for (int i = -warmup; i < n; i++) {
                for (var step : steps) {
                    if (afterGap) {
                        gap();
                    }
                    long start = System.nanoTime();
                    boolean ok;
                    try {
                        ok = step.getValue().call();
                    } catch (Exception e) {
                        throw new IllegalStateException(prefix + " breakdown, " + step.getKey() + ": " + e, e);
                    }
                    double ms = Bench.ms(System.nanoTime() - start);
                    if (!ok) {
                        throw new IllegalStateException(prefix + " breakdown, " + step.getKey()
                                + " answered wrongly" + (step.getKey().equals("raw_execute") ? ": " + lastBody[0] : ""));
                    }
                    if (i >= 0) {
                        parts.computeIfAbsent(step.getKey(), k -> new ArrayList<>()).add(ms);
                    }
                }
            }
        }
        double run = p50(parts, "run");
        double rawExecute = p50(parts, "raw_execute");
        double rawAlive = p50(parts, "raw_alive");
        double okAlive = p50(parts, "okhttp_alive");
        double codec = p50(parts, "codec");
        double bashOnly = p50(parts, "bash");
        String b = prefix + (afterGap ? ".breakdown_gap." : ".breakdown.");
        String base = "p50s of parts measured interleaved" + (afterGap ? ", each after the gap" : "") + "; " + what;
        bench.add(b + "total", "round trip: `echo x` via run(), " + what + (afterGap ? ", each part after the gap" : ""),
                "ms", Stats.of(parts.get("run")), afterGap ? "everything below, each after a " + bench.options.gapMillis()
                        + " ms idle gap" : "everything below, back to back (no gap)");
        bench.add(b + "client", "  client side: run() minus the same request by hand", "ms",
                Stats.single(run - rawExecute), base + ": API, OkHttp, Jackson, interceptor");
        bench.add(b + "client.jackson", "    of which Jackson: encode action + decode observation", "ms",
                Stats.of(parts.get("codec")), "in process, WireCodec");
        bench.add(b + "client.okhttp", "    OkHttp per call: GET /alive via OkHttp minus by hand", "ms",
                Stats.single(okAlive - rawAlive), base + "; what a call through OkHttp adds (execute_action on plain"
                        + " HTTP goes through the lean client)");
        bench.add(b + "network_http", "  network + server HTTP: GET /alive by hand", "ms", Stats.of(parts.get("raw_alive")),
                "socket write to answer read; the HTTP server's selector, worker hand-off, no action"
                        + (prefix.equals("docker") ? "; through docker-proxy" : ""));
        bench.add(b + "server_action", "  server action path: execute_action minus /alive, by hand", "ms",
                Stats.single(rawExecute - rawAlive), base + ": JSON, executor, command file, PTY, bash, reader thread");
        bench.add(b + "bash", "    of which bash itself: raw pipe round trip", "ms", Stats.of(parts.get("bash")),
                prefix.equals("docker") ? "docker exec -i pipe (includes Docker's stdio relay)" : "host bash pipe");
        bench.add(b + "pty_server", "    of which PTY + server threads: the rest", "ms",
                Stats.single(rawExecute - rawAlive - bashOnly), base);
        bench.log("  %s breakdown%s: run %s = client %s (jackson %s, okhttp %s) + http %s + action %s (bash %s)",
                prefix, afterGap ? " after the gap" : "", Report.number(run), Report.number(run - rawExecute), Report.number(codec),
                Report.number(okAlive - rawAlive), Report.number(rawAlive), Report.number(rawExecute - rawAlive),
                Report.number(bashOnly));
    }

    /**
     * Thread switches per action, counted by the kernel and so independent of the machine's load: the voluntary
     * context switches of every thread of the server's JVM and of this (the client's) JVM across a run of
     * {@code echo} actions. Each one is a thread that blocked and had to be woken: the hand-offs of the path.
     *
     * @param serverPid the host pid of the server's {@code java} process
     */
    void switches(String prefix, String what, Runtime sandbox, long serverPid) {
        int n = Math.max(50, bench.options.iterations() / 5);
        for (int i = 0; i < 20; i++) {
            Workloads.run(sandbox, Workloads.ECHO);
        }
        long server0 = voluntarySwitches(serverPid);
        long client0 = voluntarySwitches(ProcessHandle.current().pid());
        for (int i = 0; i < n; i++) {
            Workloads.run(sandbox, Workloads.ECHO);
        }
        long server1 = voluntarySwitches(serverPid);
        long client1 = voluntarySwitches(ProcessHandle.current().pid());
        bench.add(prefix + ".switches.server", "thread switches per `echo x` action: server JVM (" + what + ")",
                "count", Stats.single((server1 - server0) / (double) n),
                "voluntary_ctxt_switches of all its threads over " + n + " actions, /proc; load-independent");
        bench.add(prefix + ".switches.client", "thread switches per `echo x` action: client JVM (" + what + ")",
                "count", Stats.single((client1 - client0) / (double) n),
                "this JVM, all threads, same actions");
    }

    /** The sum of {@code voluntary_ctxt_switches} over a process's threads. */
    static long voluntarySwitches(long pid) {
        long total = 0;
        try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc", Long.toString(pid), "task"))) {
            for (java.nio.file.Path task : tasks.toList()) {
                try {
                    for (String line : java.nio.file.Files.readAllLines(task.resolve("status"))) {
                        if (line.startsWith("voluntary_ctxt_switches:")) {
                            total += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                        }
                    }
                } catch (java.io.IOException | RuntimeException e) {
                    // a thread that ended meanwhile
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot read the threads of pid " + pid, e);
        }
        return total;
    }

    /** The {@code java} process among {@code pid}'s descendants (a container's init and its children). */
    static long javaDescendant(long pid) {
        return ProcessHandle.of(pid).stream().flatMap(p -> java.util.stream.Stream.concat(java.util.stream.Stream.of(p),
                        p.descendants()))
                .filter(p -> comm(p.pid()).equals("java")).map(ProcessHandle::pid).findFirst()
                .orElseThrow(() -> new IllegalStateException("no java process under pid " + pid));
    }

    private static String comm(long pid) {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "comm")).strip();
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static double p50(Map<String, List<Double>> parts, String key) {
        return Stats.of(parts.get(key)).p50();
    }

    /** The body the client sends for {@code action} (see {@code ActionServerClient.execute}). */
    private static String requestJson(CmdRunAction action) {
        var actionJson = WireCodec.encodeAction(action);
        actionJson.put("timeout", 120.0);
        var body = WireCodec.MAPPER.createObjectNode();
        body.set("action", actionJson);
        return WireCodec.toJson(body);
    }
}
