package dev.agentruntime.gateway;

import dev.agentruntime.InvalidConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code java -jar runtime-gateway.jar [--config FILE]}: the file (or {@value GatewayConfig#ENV_CONFIG_FILE}) and
 * {@code AGENT_RUNTIME_GATEWAY_*} variables configure it (see {@link GatewayConfig}); it runs until stopped (SIGTERM
 * stops it cleanly; sessions stay on the backend for the next start or another replica).
 */
public final class GatewayMain {

    private GatewayMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        Optional<Path> file = Optional.ofNullable(System.getenv(GatewayConfig.ENV_CONFIG_FILE)).map(Path::of);
        for (int i = 0; i < args.length; i++) {
            if ((args[i].equals("--config") || args[i].equals("-c")) && i + 1 < args.length) {
                file = Optional.of(Path.of(args[++i]));
            } else if (args[i].equals("--help") || args[i].equals("-h")) {
                System.out.println("usage: java -jar runtime-gateway.jar [--config gateway.properties]\n"
                        + "  settings: see gateway.properties.example; any key can be set as an environment variable"
                        + " AGENT_RUNTIME_GATEWAY_<KEY> (e.g. AGENT_RUNTIME_GATEWAY_SECRET)");
                return;
            } else {
                System.err.println("unknown argument '" + args[i] + "' (try --help)");
                System.exit(2);
            }
        }
        if (file.isPresent() && !Files.isRegularFile(file.get())) {
            System.err.println("gateway config " + file.get() + " does not exist");
            System.exit(2);
        }
        GatewayConfig config;
        try {
            config = GatewayConfig.load(file, System.getenv());
        } catch (InvalidConfigException e) {
            System.err.println("invalid gateway config: " + e.getMessage());
            System.exit(2);
            return;
        }
        Gateway gateway = Gateway.start(config);
        Runtime.getRuntime().addShutdownHook(new Thread(gateway::close, "agent-runtime-gateway-shutdown"));
        System.out.println("agent-runtime-gateway listening on " + gateway.uri());
        gateway.join();
    }
}
