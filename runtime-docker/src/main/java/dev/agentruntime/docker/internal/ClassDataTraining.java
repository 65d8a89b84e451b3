package dev.agentruntime.docker.internal;

import dev.agentruntime.Secret;
import dev.agentruntime.docker.SandboxImage;
import dev.agentruntime.spi.ServerLaunch;
import java.util.List;
import java.util.Map;

/**
 * The class-data (AppCDS) training step of a sandbox image build: one {@code RUN} that starts the action server as
 * every container will start it (the same java, jar path and {@link ServerLaunch#JVM_FLAGS}) plus
 * {@code -XX:ArchiveClassesAtExit}, drives it through what a sandbox's first seconds load (the readiness probe, two
 * commands, a file write and read, a listing, the server info, as {@code ServerClassData}'s host-side training does),
 * closes its stdin so it exits, and keeps the archive the JVM writes on the way out at {@link #ARCHIVE}. Containers
 * then start with {@code -XX:SharedArchiveFile=}{@link #ARCHIVE}: classes arrive parsed, verified and laid out,
 * which is most of the server JVM's start-up CPU.
 *
 * <p>The requests go over bash's {@code /dev/tcp} (bash is required of every base image; curl or python are not).
 * The server listens on a free loopback port of the build container and is handed a fixed, build-only key: it lives
 * only for the seconds of the build.
 *
 * <p>The step never fails the build. When the training cannot make an archive (a Java without a base CDS archive, a
 * server that does not come up), {@link #ARCHIVE} becomes a link to the JVM's default CDS archive, so the flag the
 * containers start with maps what the JVM would have mapped without it: a missing {@code SharedArchiveFile} would
 * also turn the default archive off. The outcome is printed on lines starting with {@link #MARKER}, which the build
 * log shows. A bundled (jlinked) runtime without a default archive gets one with {@code -Xshare:dump} first.
 */
public final class ClassDataTraining {

    /** Where the image keeps the archive. */
    public static final String ARCHIVE = SandboxImage.CLASS_DATA_ARCHIVE;
    /** The first word of the lines the training prints about its outcome. */
    public static final String MARKER = "agent-runtime-class-data:";
    /** How long the training server may take to print its ready line, and to exit (each), in seconds. */
    static final int READY_SECONDS = 120;
    private static final String WORK = "/tmp/agent-runtime-class-data-training";
    private static final String KEY = "class-data-training";

    private ClassDataTraining() {
    }

    /** The JVM options a container's server starts with to map the archive. */
    public static List<String> containerOptions() {
        return List.of("-XX:SharedArchiveFile=" + ARCHIVE);
    }

    /**
     * The Dockerfile instructions of the step: {@code USER 0} around the {@code RUN} when the base image names
     * another user (the archive goes into root's {@link SandboxImage#HOME}), the base's user restored after it.
     *
     * @param bash       bash in the base image (the probe found it)
     * @param java       the java every container starts the server with
     * @param bundledJre whether {@code java} is our jlinked runtime (then a missing default archive is dumped)
     * @param baseUser   the base image's {@code USER}, empty for root or none
     */
    public static String dockerfileStep(String bash, String java, boolean bundledJre, String baseUser) {
        boolean switchUser = !isRoot(baseUser);
        StringBuilder step = new StringBuilder();
        if (switchUser) {
            step.append("USER 0:0\n");
        }
        step.append("RUN ").append(jsonArray(List.of(bash, "-c", script(java, bundledJre)))).append('\n');
        if (switchUser) {
            step.append("USER ").append(baseUser.strip()).append('\n');
        }
        return step.toString();
    }

    /** The training as a bash script (exits 0 whatever happens; see the class comment). */
    static String script(String java, boolean bundledJre) {
        ServerLaunch launch = ServerLaunch.builder().java(java).jar(SandboxImage.SERVER_JAR).port(0)
                .workingDir(WORK + "/workspace").bindAddress("127.0.0.1").sessionId("class-data-training")
                .sessionApiKey(Secret.of(KEY)).exitOnStdinEof(true).sourceBashrc(false)
                .shellEnvironment(Map.of("HOME", WORK + "/home"))
                .classDataOptions(List.of("-XX:ArchiveClassesAtExit=" + WORK + "/archive.jsa"))
                .build();
        String file = WORK + "/workspace/training.txt";
        String q = ServerLaunch.shellQuote(java);
        return String.join("\n",
                "m=" + ServerLaunch.shellQuote(MARKER),
                "w=" + WORK,
                "a=" + ARCHIVE,
                "j=" + q,
                "rm -rf \"$w\" \"$a\"",
                "mkdir -p \"$w/home\" \"$w/workspace\" || exit 0",
                // where this java keeps its default archive: it says so when it maps it
                "default_archive() { \"$j\" -Xshare:auto -Xlog:cds=info -version 2>&1 | sed -n 's/.*trying to map //p' "
                        + "| head -n 1; }",
                // a jlinked runtime made without --generate-cds-archive has no default archive to build on
                bundledJre ? "[ -e \"${j%/bin/java}/lib/server/classes.jsa\" ] || { \"$j\" -Xshare:dump >/dev/null 2>&1 "
                        + "&& echo \"$m dumped the runtime's default archive\"; }" : ":",
                "fallback() {",
                "  echo \"$m no archive made ($1); containers map the JVM's default archive\"",
                "  d=$(default_archive); if [ -n \"$d\" ]; then ln -sf \"$d\" \"$a\"; fi",
                "}",
                "train() {",
                "  mkfifo \"$w/stdin\" || { fallback 'mkfifo failed'; return; }",
                "  (cd \"$w/workspace\" && " + launch.shellCommand() + ") <\"$w/stdin\" >\"$w/out\" 2>\"$w/err\" &",
                "  pid=$!",
                "  exec 3>\"$w/stdin\"",
                "  port=; i=0",
                "  while [ $i -lt " + READY_SECONDS * 10 + " ]; do",
                "    port=$(sed -n 's/^" + ServerLaunch.READY_LINE_PREFIX + "//p' \"$w/out\" | head -n 1)",
                "    [ -n \"$port\" ] && break",
                "    kill -0 $pid 2>/dev/null || break",
                "    sleep 0.1; i=$((i+1))",
                "  done",
                "  ok=0",
                "  if [ -n \"$port\" ]; then",
                "    ok=1",
                "    request GET /alive '' || ok=0",
                "    request POST /execute_action " + ServerLaunch.shellQuote(run("echo class-data")) + " || ok=0",
                "    request POST /execute_action " + ServerLaunch.shellQuote(run("ls /")) + " || ok=0",
                "    request POST /execute_action " + ServerLaunch.shellQuote(action("write",
                        "\"path\": \"" + file + "\", \"content\": \"class-data\\n\", \"start\": 0, \"end\": -1"))
                        + " || ok=0",
                "    request POST /execute_action " + ServerLaunch.shellQuote(action("read",
                        "\"path\": \"" + file + "\", \"start\": 0, \"end\": -1")) + " || ok=0",
                "    request POST /list_files " + ServerLaunch.shellQuote("{\"path\": \"" + WORK + "/workspace\"}")
                        + " || ok=0",
                "    request GET /server_info '' || ok=0",
                "  fi",
                "  exec 3>&-", // the server exits on end of stdin, and the JVM writes the archive as it goes
                "  i=0; while kill -0 $pid 2>/dev/null && [ $i -lt " + READY_SECONDS * 10 + " ]; do sleep 0.1; "
                        + "i=$((i+1)); done",
                "  if kill -0 $pid 2>/dev/null; then kill -9 $pid; fallback 'the training server did not exit'; "
                        + "return; fi",
                "  wait $pid; status=$?",
                "  if [ -z \"$port\" ]; then fallback \"the training server did not start (exit $status): "
                        + "$(tail -n 3 \"$w/err\" | tr '\\n' ' ')\"; return; fi",
                "  if [ $ok != 1 ]; then fallback 'a training request failed'; return; fi",
                "  if [ $status != 0 ] || [ ! -s \"$w/archive.jsa\" ]; then fallback \"the training server exited "
                        + "with $status and no archive: $(tail -n 3 \"$w/err\" | tr '\\n' ' ')\"; return; fi",
                "  mv \"$w/archive.jsa\" \"$a\" && chmod 0644 \"$a\" && echo \"$m made $a ($(($(wc -c <\"$a\") / 1024)) "
                        + "KB)\"",
                "}",
                // one HTTP/1.1 exchange over bash's /dev/tcp; true on a 2xx status line
                "request() {",
                "  exec 4<>\"/dev/tcp/127.0.0.1/$port\" || return 1",
                "  printf '%s %s HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\nX-Session-API-Key: %s\\r\\n"
                        + "Content-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n%s' \"$1\" \"$2\" "
                        + ServerLaunch.shellQuote(KEY) + " \"${#3}\" \"$3\" >&4",
                "  IFS= read -r -t 60 head <&4",
                "  while IFS= read -r -t 60 line <&4; do :; done",
                "  exec 4<&-",
                "  case \"$head\" in 'HTTP/1.1 2'*) return 0;; *) echo \"$m $1 $2 answered: $head\"; return 1;; esac",
                "}",
                "train",
                "rm -rf \"$w\"",
                "exit 0");
    }

    private static String run(String command) {
        return action("run", "\"command\": \"" + command + "\", \"is_input\": false, \"thought\": \"\", "
                + "\"blocking\": true, \"hidden\": false");
    }

    private static String action(String name, String args) {
        return "{\"action\": {\"action\": \"" + name + "\", \"args\": {" + args + "}}, \"timeout\": 60}";
    }

    private static boolean isRoot(String user) {
        String name = user == null ? "" : user.strip();
        int colon = name.indexOf(':');
        if (colon >= 0) {
            name = name.substring(0, colon);
        }
        return name.isEmpty() || name.equals("root") || name.equals("0");
    }

    /** A Dockerfile exec-form array (JSON) of {@code words}. */
    static String jsonArray(List<String> words) {
        StringBuilder json = new StringBuilder("[");
        for (String word : words) {
            if (json.length() > 1) {
                json.append(", ");
            }
            json.append('"');
            for (char c : word.toCharArray()) {
                switch (c) {
                    case '"' -> json.append("\\\"");
                    case '\\' -> json.append("\\\\");
                    case '\n' -> json.append("\\n");
                    case '\r' -> json.append("\\r");
                    case '\t' -> json.append("\\t");
                    default -> {
                        if (c < 0x20) {
                            json.append(String.format("\\u%04x", (int) c));
                        } else {
                            json.append(c);
                        }
                    }
                }
            }
            json.append('"');
        }
        return json.append(']').toString();
    }
}
