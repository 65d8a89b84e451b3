package dev.agentruntime.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The results of one run: the machine it ran on, every metric, and the target checks — printed as a fixed-width
 * table, and written as Markdown and JSON.
 */
public final class Report {

    private final Map<String, String> machine;
    private final List<Metric> metrics;
    private final List<Target.Check> checks;

    public Report(Map<String, String> machine, List<Metric> metrics, List<Target> targets) {
        this.machine = new LinkedHashMap<>(machine);
        this.metrics = List.copyOf(metrics);
        Map<String, Metric> byId = new LinkedHashMap<>();
        metrics.forEach(m -> byId.put(m.id(), m));
        List<Target.Check> results = new ArrayList<>();
        for (Target target : targets) {
            results.add(target.check(byId));
        }
        this.checks = List.copyOf(results);
    }

    public List<Target.Check> checks() {
        return checks;
    }

    /** A number for humans: 3 significant digits below 100, integers above. */
    static String number(double value) {
        if (Double.isNaN(value)) {
            return "-";
        }
        double abs = Math.abs(value);
        if (abs >= 100 || value == Math.rint(value) && abs < 1e15) {
            return String.format(Locale.ROOT, "%.0f", value);
        }
        if (abs >= 10) {
            return String.format(Locale.ROOT, "%.1f", value);
        }
        if (abs >= 1) {
            return String.format(Locale.ROOT, "%.2f", value);
        }
        return String.format(Locale.ROOT, "%.3f", value);
    }

    private List<String[]> metricRows() {
        List<String[]> rows = new ArrayList<>();
        for (Metric m : metrics) {
            Stats s = m.stats();
            boolean single = s.count() == 1;
            rows.add(new String[] {m.id(), m.label(), m.unit(), Integer.toString(s.count()), number(s.p50()),
                    single ? "" : number(s.p90()), single ? "" : number(s.p99()), single ? "" : number(s.max()),
                    m.note()});
        }
        return rows;
    }

    private List<String[]> checkRows() {
        List<String[]> rows = new ArrayList<>();
        for (Target.Check c : checks) {
            Target t = c.target();
            rows.add(new String[] {c.verdict().toString(), t.metricId(), (t.atMost() ? "<= " : ">= ")
                    + number(t.limit()) + (c.unit().isEmpty() ? "" : " " + c.unit()), number(c.measured()),
                    c.ratioText(), t.description()});
        }
        return rows;
    }

    private static final String[] METRIC_HEADER = {"metric", "what", "unit", "n", "p50", "p90", "p99", "max", "note"};
    private static final String[] CHECK_HEADER = {"verdict", "metric", "target", "measured p50", "measured/target",
            "goal"};

    /** The fixed-width text table for the console. */
    public String toText() {
        StringBuilder out = new StringBuilder();
        out.append("machine: ");
        machine.forEach((k, v) -> out.append(k).append('=').append(v).append("  "));
        out.append("\n\n");
        table(out, METRIC_HEADER, metricRows(), 8, 60);
        out.append('\n');
        table(out, CHECK_HEADER, checkRows(), -1, 0);
        return out.toString();
    }

    /** Columns padded to their widest cell; column {@code wrapColumn} is cut at {@code wrapWidth} characters. */
    private static void table(StringBuilder out, String[] header, List<String[]> rows, int cutColumn, int cutWidth) {
        List<String[]> all = new ArrayList<>();
        all.add(header);
        for (String[] row : rows) {
            String[] copy = row.clone();
            if (cutColumn >= 0 && copy[cutColumn].length() > cutWidth) {
                copy[cutColumn] = copy[cutColumn].substring(0, cutWidth - 3) + "...";
            }
            all.add(copy);
        }
        int[] width = new int[header.length];
        for (String[] row : all) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        for (String[] row : all) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                boolean numeric = i > 0 && row[i].matches("-?[0-9.]+x?");
                String cell = numeric ? " ".repeat(width[i] - row[i].length()) + row[i]
                        : row[i] + " ".repeat(width[i] - row[i].length());
                line.append(cell).append(i + 1 < row.length ? "  " : "");
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
    }

    /** The Markdown version: machine, metrics table, target table. */
    public String toMarkdown() {
        StringBuilder out = new StringBuilder("## Machine\n\n");
        machine.forEach((k, v) -> out.append("- ").append(k).append(": ").append(v).append('\n'));
        out.append("\n## Results\n\n");
        markdownTable(out, METRIC_HEADER, metricRows());
        out.append("\n## Targets (issues 14 and 5)\n\n");
        markdownTable(out, CHECK_HEADER, checkRows());
        return out.toString();
    }

    private static void markdownTable(StringBuilder out, String[] header, List<String[]> rows) {
        out.append("| ").append(String.join(" | ", header)).append(" |\n|");
        for (int i = 0; i < header.length; i++) {
            out.append("---|");
        }
        out.append('\n');
        for (String[] row : rows) {
            out.append("| ");
            for (int i = 0; i < row.length; i++) {
                out.append(row[i].replace("|", "\\|").replace("\n", " "));
                out.append(i + 1 < row.length ? " | " : " |\n");
            }
        }
    }

    /** The JSON version: {@code {"machine": {...}, "metrics": [...], "targets": [...]}}, full precision. */
    public String toJson() {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        ObjectNode machineNode = root.putObject("machine");
        machine.forEach(machineNode::put);
        ArrayNode list = root.putArray("metrics");
        for (Metric m : metrics) {
            ObjectNode node = list.addObject();
            node.put("id", m.id()).put("label", m.label()).put("unit", m.unit());
            Stats s = m.stats();
            node.put("n", s.count()).put("min", s.min()).put("p50", s.p50()).put("p90", s.p90())
                    .put("p99", s.p99()).put("max", s.max()).put("mean", s.mean());
            node.put("note", m.note());
        }
        ArrayNode targets = root.putArray("targets");
        for (Target.Check c : checks) {
            ObjectNode node = targets.addObject();
            node.put("metric", c.target().metricId()).put("goal", c.target().description())
                    .put("bound", c.target().atMost() ? "at_most" : "at_least").put("limit", c.target().limit())
                    .put("verdict", c.verdict().toString());
            if (!Double.isNaN(c.measured())) {
                node.put("measured", c.measured());
            }
            if (!Double.isNaN(c.ratio())) {
                node.put("ratio", c.ratio());
            }
        }
        try {
            return mapper.writeValueAsString(root) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes {@code results.md} and {@code results.json} into {@code dir}. */
    public void write(Path dir) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("results.md"), "# agent-runtime benchmark\n\n" + toMarkdown());
            Files.writeString(dir.resolve("results.json"), toJson());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the results to " + dir, e);
        }
    }
}
