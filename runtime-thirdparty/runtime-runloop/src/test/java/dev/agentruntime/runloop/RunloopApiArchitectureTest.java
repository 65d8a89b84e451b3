package dev.agentruntime.runloop;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;

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

/** OkHttp and Jackson stay in {@code dev.agentruntime.runloop.internal}. */
class RunloopApiArchitectureTest {

    private final JavaClasses classes = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.agentruntime.runloop");

    private static boolean library(JavaClass type) {
        return type.getPackageName().startsWith("okhttp3") || type.getPackageName().startsWith("com.fasterxml");
    }

    @Test
    void publicSignaturesDoNotMentionOkHttpOrJackson() {
        methods().that().arePublic()
                .and().areDeclaredInClassesThat().resideInAPackage("dev.agentruntime.runloop")
                .and().areDeclaredInClassesThat().arePublic()
                .should(new ArchCondition<JavaMethod>("not mention OkHttp or Jackson types") {
                    @Override
                    public void check(JavaMethod method, ConditionEvents events) {
                        boolean leaks = Stream.concat(Stream.of(method.getRawReturnType()),
                                method.getRawParameterTypes().stream()).anyMatch(RunloopApiArchitectureTest::library)
                                || method.getReturnType().getAllInvolvedRawTypes().stream()
                                .anyMatch(RunloopApiArchitectureTest::library);
                        if (leaks) {
                            events.add(SimpleConditionEvent.violated(method, method.getFullName()
                                    + " exposes a library type"));
                        }
                    }
                })
                .check(classes);
    }
}
