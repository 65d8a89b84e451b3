package dev.agentruntime.bench;

import dev.agentruntime.Runtime;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** copyTo / copyFrom throughput of one sandbox, in MiB/s per transfer. */
final class Transfers {

    private Transfers() {
    }

    static void measure(Bench bench, String prefix, String backend, Runtime sandbox, Path file) {
        int repeats = bench.options.copyRepeats();
        long bytes;
        try {
            bytes = Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        double mib = bytes / (1024.0 * 1024.0);
        List<Double> to = new ArrayList<>();
        List<Double> from = new ArrayList<>();
        bench.log("  copy %s MiB x %d (%s)", Report.number(mib), repeats, backend);
        for (int r = 0; r < repeats; r++) {
            String dest = "/tmp/agent-runtime-bench-copy-" + r;
            long start = System.nanoTime();
            sandbox.copyTo(file, dest, false);
            long uploaded = System.nanoTime();
            Path zip = sandbox.copyFrom(dest + "/" + file.getFileName());
            long downloaded = System.nanoTime();
            try {
                long got = Workloads.zippedFileSize(zip);
                if (got != bytes) {
                    throw new IllegalStateException("copyFrom returned " + got + " bytes, expected " + bytes);
                }
            } finally {
                try {
                    Files.deleteIfExists(zip);
                } catch (IOException ignored) {
                    // a temp file
                }
            }
            sandbox.run("rm -rf " + dest);
            to.add(mib / ((uploaded - start) / 1e9));
            from.add(mib / ((downloaded - uploaded) / 1e9));
        }
        String size = Report.number(mib) + " MiB random bytes";
        bench.add(prefix + ".copy.to", "copyTo " + size + " (" + backend + ")", "MiB/s", Stats.of(to),
                "host file -> sandbox /tmp, streamed multipart");
        bench.add(prefix + ".copy.from", "copyFrom " + size + " (" + backend + ")", "MiB/s", Stats.of(from),
                "sandbox -> host temp zip; bytes verified after timing");
    }
}
