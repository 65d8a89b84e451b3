package dev.agentruntime.e2b;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMethod;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** OkHttp and Jackson stay implementation details of the E2B backend; no vendor SDK is used. */
class E2BApiArchitectureTest {

    /** Only this module's classes (importing the package from the whole class path takes many seconds). */
    private final JavaClasses classes = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importLocations(java.util.Set.of(com.tngtech.archunit.core.importer.Location.of(
                    E2BRuntime.class.getProtectionDomain().getCodeSource().getLocation())));

    private static boolean hidden(JavaClass type) {
        String p = type.getPackageName();
        return p.startsWith("okhttp3") || p.startsWith("okio") || p.startsWith("com.fasterxml.jackson");
    }

    @Test
    void publicSignaturesOfTheApiPackageMentionNeitherOkHttpNorJackson() {
        methods().that().arePublic()
                .and().areDeclaredInClassesThat().resideInAPackage("dev.agentruntime.e2b")
                .and().areDeclaredInClassesThat().arePublic()
                .should(new ArchCondition<JavaMethod>("not mention OkHttp or Jackson types") {
                    @Override
                    public void check(JavaMethod method, ConditionEvents events) {
                        boolean leaks = Stream.concat(Stream.of(method.getRawReturnType()),
                                method.getRawParameterTypes().stream()).anyMatch(E2BApiArchitectureTest::hidden)
                                || method.getReturnType().getAllInvolvedRawTypes().stream()
                                .anyMatch(E2BApiArchitectureTest::hidden);
                        if (leaks) {
                            events.add(SimpleConditionEvent.violated(method, method.getFullName()
                                    + " exposes an OkHttp or Jackson type"));
                        }
                    }
                })
                .check(classes);
    }

    @Test
    void noVendorSdkIsOnTheClassPath() {
        noClasses().that().resideInAPackage("dev.agentruntime.e2b..")
                .should().dependOnClassesThat().resideInAPackage("dev.e2b..")
                .check(classes);
    }
}
