package dev.agentruntime.kubernetes.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.agentruntime.kubernetes.Recordings;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Each expectation is the cause a real v1.32 API server returned (scenario 8 of the recordings), so a drift in
 * wording or in which rule applies fails here.
 */
class KubernetesNamesTest {

    /** The recorded causes of one case, each as {@code <field>: <message>}. */
    private static List<String> recordedCauses(String caseName) {
        JsonNode body = Recordings.apiErrorCase(caseName).path("response_body");
        assertThat(body.path("code").asInt()).as("recorded status of '%s'", caseName).isEqualTo(422);
        List<String> causes = new ArrayList<>();
        for (JsonNode cause : body.path("details").path("causes")) {
            causes.add(cause.path("field").asText() + ": " + cause.path("message").asText());
        }
        return causes;
    }

    private static JsonNode recordedBody(String caseName) {
        return Recordings.apiErrorCase(caseName).path("request").path("body");
    }

    private static List<String> invalid(String field, String value, List<String> details) {
        List<String> out = new ArrayList<>();
        details.forEach(d -> out.add(KubernetesNames.invalid(field, value, d)));
        return out;
    }

    @Test
    void podNameWithUppercaseIsNotADns1123Subdomain() {
        String name = recordedBody("pod name with uppercase letters").path("metadata").path("name").asText();
        assertThat(invalid("metadata.name", name, KubernetesNames.dns1123SubdomainErrors(name)))
                .containsExactlyElementsOf(recordedCauses("pod name with uppercase letters"));
    }

    @Test
    void podNameOf254CharactersIsTooLongAnd253IsAccepted() {
        String tooLong = recordedBody("pod name 254 chars (limit 253)").path("metadata").path("name").asText();
        assertThat(tooLong).hasSize(254);
        assertThat(invalid("metadata.name", tooLong, KubernetesNames.dns1123SubdomainErrors(tooLong)))
                .containsExactlyElementsOf(recordedCauses("pod name 254 chars (limit 253)"));

        String accepted = recordedBody("pod name exactly 253 chars (accepted)").path("metadata").path("name").asText();
        assertThat(Recordings.apiErrorCase("pod name exactly 253 chars (accepted)").path("http_status").asInt())
                .isEqualTo(201);
        assertThat(KubernetesNames.dns1123SubdomainErrors(accepted)).isEmpty();
    }

    @Test
    void labelRulesMatchTheApiServer() {
        for (String caseName : List.of("label value 64 chars (limit 63)", "label key \"bad key!\"",
                "label key with uppercase DNS prefix \"Example.COM/agent\"", "label value \"has space\"")) {
            Map<String, String> labels = new LinkedHashMap<>();
            recordedBody(caseName).path("metadata").path("labels").fields()
                    .forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
            assertThat(KubernetesNames.labelErrors("metadata.labels", labels))
                    .as(caseName)
                    .containsExactlyElementsOf(recordedCauses(caseName));
        }
    }

    @Test
    void containerPortNamesAreIanaServiceNamesOfAtMost15Characters() {
        String caseName = "container port name 16 chars (IANA_SVC_NAME limit 15)";
        String name = recordedBody(caseName).path("spec").path("containers").path(0).path("ports").path(0)
                .path("name").asText();
        assertThat(invalid("spec.containers[0].ports[0].name", name, KubernetesNames.portNameErrors(name)))
                .containsExactlyElementsOf(recordedCauses(caseName));
        assertThat(KubernetesNames.portNameErrors("http")).isEmpty();
        assertThat(KubernetesNames.portNameErrors("8080")).containsExactly("must contain at least one letter (a-z)");
        assertThat(KubernetesNames.portNameErrors("a--b")).containsExactly("must not contain consecutive hyphens");
        assertThat(KubernetesNames.portNameErrors("-ab")).containsExactly("must not begin or end with a hyphen");
    }

    @Test
    void servicePortNamesAreDns1123LabelsSo16CharactersAreFine() {
        String accepted = recordedBody("Service port name 16 chars \"http-agent-12345\"").path("spec").path("ports")
                .path(0).path("name").asText();
        assertThat(KubernetesNames.dns1123LabelErrors(accepted)).isEmpty();
        for (String caseName : List.of("Service port name 64 chars", "Service port name with uppercase \"HTTP\"")) {
            String name = recordedBody(caseName).path("spec").path("ports").path(0).path("name").asText();
            assertThat(invalid("spec.ports[0].name", name, KubernetesNames.dns1123LabelErrors(name)))
                    .as(caseName)
                    .containsExactlyElementsOf(recordedCauses(caseName));
        }
    }

    @Test
    void serviceNamesAreDns1035Labels() {
        for (String caseName : List.of("Service name 64 chars (DNS-1035 label, limit 63)",
                "Service name starting with a digit \"1sandbox\"")) {
            String name = recordedBody(caseName).path("metadata").path("name").asText();
            assertThat(invalid("metadata.name", name, KubernetesNames.dns1035LabelErrors(name)))
                    .as(caseName)
                    .containsExactlyElementsOf(recordedCauses(caseName));
        }
    }

    @Test
    void qualifiedNamesReportEveryBrokenPart() {
        assertThat(KubernetesNames.qualifiedNameErrors("example.com/agent")).isEmpty();
        assertThat(KubernetesNames.qualifiedNameErrors("app.kubernetes.io/managed-by")).isEmpty();
        assertThat(KubernetesNames.qualifiedNameErrors("/agent")).containsExactly("prefix part must be non-empty");
        assertThat(KubernetesNames.qualifiedNameErrors("example.com/")).hasSize(2)
                .first().isEqualTo("name part must be non-empty");
        assertThat(KubernetesNames.qualifiedNameErrors("a/b/c")).singleElement().asString()
                .startsWith("a qualified name must consist of").endsWith("(e.g. 'example.com/MyName')");
        assertThat(KubernetesNames.qualifiedNameErrors("x".repeat(64)))
                .containsExactly("name part must be no more than 63 characters");
    }

    @Test
    void annotationsAreLimitedTo256KibInTotal() {
        assertThat(KubernetesNames.annotationErrors("metadata.annotations",
                Map.of("example.com/note", "x".repeat(1000)))).isEmpty();
        assertThat(KubernetesNames.annotationErrors("metadata.annotations",
                Map.of("a", "x".repeat(KubernetesNames.TOTAL_ANNOTATION_SIZE_LIMIT_BYTES))))
                .containsExactly("metadata.annotations: Too long: may not be more than 262144 bytes");
        assertThat(KubernetesNames.annotationErrors("metadata.annotations", Map.of("bad key!", "v")))
                .singleElement().asString().startsWith("metadata.annotations: Invalid value: \"bad key!\": name part");
    }

    @Test
    void freeTextBecomesAValidLabel() {
        assertThat(KubernetesNames.toDns1123Label("Session_42 of Alice!", 63, "x")).isEqualTo("session-42-of-alice");
        assertThat(KubernetesNames.toDns1123Label("---", 63, "sandbox")).isEqualTo("sandbox");
        String trimmed = KubernetesNames.toDns1123Label("a".repeat(10) + "-" + "b".repeat(60), 11, "x");
        assertThat(trimmed).isEqualTo("aaaaaaaaaa");
        assertThat(KubernetesNames.dns1123LabelErrors(trimmed)).isEmpty();
        assertThatThrownBy(() -> KubernetesNames.toDns1123Label("a", 64, "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("between 1 and 63");
    }

    @Test
    void goValuesAreQuotedLikeTheApiServerPrintsThem() {
        assertThat(KubernetesNames.invalid("spec.activeDeadlineSeconds", 0L, "must be between 1 and 2147483647, inclusive"))
                .isEqualTo("spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive");
        assertThat(KubernetesNames.goValue("a\"b")).isEqualTo("\"a\\\"b\"");
    }
}
