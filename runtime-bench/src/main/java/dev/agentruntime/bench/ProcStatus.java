package dev.agentruntime.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Memory figures of a process from {@code /proc/<pid>/status}, in kB as the kernel reports them. */
record ProcStatus(Map<String, Long> kilobytes) {

    /** Parses lines like {@code VmRSS:    55104 kB}; other lines are ignored. */
    static ProcStatus parse(String text) {
        Map<String, Long> values = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String rest = line.substring(colon + 1).trim();
            if (!rest.endsWith(" kB")) {
                continue;
            }
            try {
                values.put(line.substring(0, colon).trim(), Long.parseLong(rest.substring(0, rest.length() - 3).trim()));
            } catch (NumberFormatException ignored) {
                // not a memory line
            }
        }
        return new ProcStatus(Map.copyOf(values));
    }

    static ProcStatus ofPid(long pid) {
        try {
            return parse(Files.readString(Path.of("/proc", Long.toString(pid), "status")));
        } catch (IOException e) {
            throw new IllegalStateException("Cannot read /proc/" + pid + "/status: " + e.getMessage(), e);
        }
    }

    /** A value in MiB, NaN when missing. */
    double mib(String key) {
        Long kb = kilobytes.get(key);
        return kb == null ? Double.NaN : kb / 1024.0;
    }

    double rssMib() {
        return mib("VmRSS");
    }

    /** "anon 30.1, file 24.0, peak 58.2 MiB": what the RSS is made of. */
    String breakdown() {
        return "anon " + Report.number(mib("RssAnon")) + " + file " + Report.number(mib("RssFile")) + " MiB, peak "
                + Report.number(mib("VmHWM")) + " MiB";
    }
}
