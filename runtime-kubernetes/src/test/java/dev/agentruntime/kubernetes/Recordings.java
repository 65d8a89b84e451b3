package dev.agentruntime.kubernetes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.stream.StreamSupport;

/**
 * The recordings of a real v1.32 API server and kubelet ({@code src/test/resources/kubernetes-real/}, copied verbatim
 * from {@code shared/reference/kubernetes-real/}; SUMMARY.md there describes them).
 */
public final class Recordings {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Recordings() {
    }

    /** One scenario file, e.g. {@code scenario("scenario-8-api-errors")}. */
    public static JsonNode scenario(String baseName) {
        String resource = "/kubernetes-real/" + baseName + ".json";
        try (InputStream in = Recordings.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("recording " + resource + " is missing from the test class path");
            }
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read recording " + resource, e);
        }
    }

    /** A scenario-8 API-error case by its {@code case} text. */
    public static JsonNode apiErrorCase(String caseName) {
        return StreamSupport.stream(scenario("scenario-8-api-errors").path("cases").spliterator(), false)
                .filter(c -> c.path("case").asText().equals(caseName))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no scenario-8 case named '" + caseName + "'"));
    }

    public static ObjectMapper json() {
        return JSON;
    }
}
