package dev.agentruntime.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.internal.WireCodec;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Process statistics for {@code /server_info}, read from /proc like OpenHands' psutil-based version. */
final class SystemStats {

    private SystemStats() {
    }

    static ObjectNode collect() {
        ObjectNode resources = WireCodec.MAPPER.createObjectNode();
        resources.put("cpu_percent", 0.0);
        ObjectNode memory = resources.putObject("memory");
        long rss = procStatusKb("VmRSS") * 1024;
        long vms = procStatusKb("VmSize") * 1024;
        long total = meminfoKb("MemTotal") * 1024;
        memory.put("rss", rss);
        memory.put("vms", vms);
        memory.put("percent", total > 0 ? Math.round(rss * 1000.0 / total) / 10.0 : 0.0);
        File root = new File("/");
        ObjectNode disk = resources.putObject("disk");
        long diskTotal = root.getTotalSpace();
        long free = root.getUsableSpace();
        disk.put("total", diskTotal);
        disk.put("used", diskTotal - root.getFreeSpace());
        disk.put("free", free);
        disk.put("percent", diskTotal > 0 ? Math.round((diskTotal - root.getFreeSpace()) * 1000.0 / diskTotal) / 10.0 : 0.0);
        ObjectNode io = resources.putObject("io");
        io.put("read_bytes", procIo("read_bytes"));
        io.put("write_bytes", procIo("write_bytes"));
        return resources;
    }

    private static long procStatusKb(String key) {
        return fieldKb(Path.of("/proc/self/status"), key);
    }

    private static long meminfoKb(String key) {
        return fieldKb(Path.of("/proc/meminfo"), key);
    }

    private static long fieldKb(Path file, String key) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(key + ":")) {
                    return Long.parseLong(line.substring(key.length() + 1).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux or not readable: report 0
        }
        return 0;
    }

    private static long procIo(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
                if (line.startsWith(key + ":")) {
                    return Long.parseLong(line.substring(key.length() + 1).trim());
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not readable in some containers
        }
        return 0;
    }
}
