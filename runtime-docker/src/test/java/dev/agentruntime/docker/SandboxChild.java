package dev.agentruntime.docker;

import dev.agentruntime.CmdOutputObservation;
import dev.agentruntime.RuntimeConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The other JVM of the multi-process tests, started by {@link ChildJvm}. Talks to the test on stdout (one line per
 * event) and reads instructions from stdin.
 *
 * <ul>
 *   <li>{@code keep <session>}: create a keep-alive sandbox, write /tmp/from-child, close it, exit.</li>
 *   <li>{@code hold <session> <idleSeconds>}: create a sandbox with that idle timeout, print {@code READY <id>}, then
 *       block until killed.</li>
 *   <li>{@code many <count> <prefix>}: print {@code WAITING}, wait for a line on stdin, create {@code count} sandboxes
 *       at once, run echo in each, print {@code OK <session> <port>} or {@code FAIL <session> <error>}, close them,
 *       exit with the number of failures.</li>
 * </ul>
 */
public final class SandboxChild {

    private SandboxChild() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "keep" -> keep(args[1]);
            case "hold" -> hold(args[1], Integer.parseInt(args[2]));
            case "many" -> System.exit(many(Integer.parseInt(args[1]), args[2]));
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    static RuntimeConfig.Builder config(String session, DockerRuntimeConfig.Builder docker) {
        return RuntimeConfig.builder().type("docker").sessionId(session)
                .sessionApiKey("test-key-" + session) // attach needs the session's key: it is in no container config
                .startupTimeout(Duration.ofMinutes(4))
                .backendConfig(docker.image(TestImages.DEBIAN).pullPolicy(PullPolicy.NEVER).build());
    }

    private static void keep(String session) {
        try (DockerRuntime sandbox = new DockerRuntime(config(session, DockerRuntimeConfig.builder())
                .keepAlive(true).build())) {
            sandbox.connect();
            sandbox.run("echo written-by-the-child > /tmp/from-child");
            System.out.println("CREATED " + sandbox.containerId().orElseThrow());
        }
        System.out.println("CLOSED");
        System.exit(0);
    }

    private static void hold(String session, int idleSeconds) throws Exception {
        DockerRuntime sandbox = new DockerRuntime(config(session, DockerRuntimeConfig.builder()
                .idleTimeout(Duration.ofSeconds(idleSeconds))).build());
        sandbox.connect();
        System.out.println("READY " + sandbox.containerId().orElseThrow());
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        sandbox.close();
    }

    private static int many(int count, String prefix) throws Exception {
        System.out.println("WAITING");
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        List<String> results = runMany(count, prefix);
        results.forEach(System.out::println);
        System.out.flush();
        return (int) results.stream().filter(r -> r.startsWith("FAIL")).count();
    }

    /** Creates {@code count} sandboxes concurrently; one result line per sandbox. */
    static List<String> runMany(int count, String prefix) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(count);
        try {
            List<Future<String>> futures = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                String session = prefix + "-" + i;
                futures.add(pool.submit(() -> {
                    try (DockerRuntime sandbox = new DockerRuntime(config(session, DockerRuntimeConfig.builder())
                            .build())) {
                        sandbox.connect();
                        CmdOutputObservation out = sandbox.run("echo alive-" + session);
                        if (!out.content().contains("alive-" + session) || out.exitCode() != 0) {
                            return "FAIL " + session + " unexpected output: " + out.content();
                        }
                        return "OK " + session + " " + sandbox.publishedPorts().get(SandboxImage.SERVER_PORT);
                    } catch (RuntimeException e) {
                        return "FAIL " + session + " " + e.toString().replace('\n', ' ');
                    }
                }));
            }
            List<String> results = new ArrayList<>();
            for (Future<String> f : futures) {
                results.add(f.get());
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }
}
