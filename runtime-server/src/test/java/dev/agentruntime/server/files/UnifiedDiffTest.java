package dev.agentruntime.server.files;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.internal.WireCodec;
import java.io.IOException;
import java.io.InputStream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;

class UnifiedDiffTest {

    private static final String P = "/w/f.py";

    @Test
    void identicalTextsGiveAnEmptyDiff() {
        assertThat(UnifiedDiff.of("", "", P)).isEmpty();
        assertThat(UnifiedDiff.of("x\ny\n", "x\ny\n", P)).isEmpty();
    }

    @Test
    void everyChangeIsItsOwnZeroContextHunk() {
        assertThat(UnifiedDiff.of("a\nb\nc\n", "a\nc\nd\n", P))
                .isEqualTo("--- /w/f.py\n+++ /w/f.py\n@@ -2 +1,0 @@\n-b\n@@ -3,0 +3 @@\n+d");
    }

    @Test
    void creatingAFileDiffsAgainstOneEmptyLine() {
        assertThat(UnifiedDiff.of("", "hello\nworld", P))
                .isEqualTo("--- /w/f.py\n+++ /w/f.py\n@@ -1 +1,2 @@\n-\n+hello\n+world");
    }

    @Test
    void outputLinesAreRightStripped() {
        assertThat(UnifiedDiff.of("keep  \nold   \n", "keep  \nnew\t\n", P))
                .isEqualTo("--- /w/f.py\n+++ /w/f.py\n@@ -2 +2 @@\n-old\n+new");
    }

    /** Expected outputs generated with CPython's difflib (see the resource), including inputs over 200 lines. */
    @Test
    void agreesWithPythonDifflibOnRandomEdits() throws IOException {
        JsonNode cases;
        try (InputStream in = getClass().getResourceAsStream("/files/difflib-cases.json")) {
            cases = WireCodec.MAPPER.readTree(in);
        }
        assertThat(cases.size()).isGreaterThan(100);
        SoftAssertions soft = new SoftAssertions();
        for (JsonNode c : cases) {
            soft.assertThat(UnifiedDiff.of(c.get("a").asText(), c.get("b").asText(), "f"))
                    .as("case %s", c.get("a").asText().length())
                    .isEqualTo(c.get("d").asText());
        }
        soft.assertAll();
    }

    @Test
    void hugeInputsFallBackToOneHunkAroundTheChange() {
        String a = "same\n".repeat(UnifiedDiff.MAX_EXACT_LINES) + "old\n";
        String b = "same\n".repeat(UnifiedDiff.MAX_EXACT_LINES) + "new\n";

        int line = UnifiedDiff.MAX_EXACT_LINES + 1;
        assertThat(UnifiedDiff.of(a, b, P)).isEqualTo("--- /w/f.py\n+++ /w/f.py\n@@ -" + line + " +" + line
                + " @@\n-old\n+new");
    }
}
