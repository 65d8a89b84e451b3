package dev.agentruntime.daytona;

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

/** okhttp and Jackson stay implementation details of the Daytona backend; the fake stays in the tests. */
class DaytonaApiArchitectureTest {

    /** The module's own classes only (scanning the class path for the package would read every jar on it). */
    private final JavaClasses classes = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPath(java.nio.file.Path.of(DaytonaRuntime.class.getProtectionDomain().getCodeSource().getLocation()
                    .getPath()));

    private static boolean wire(JavaClass type) {
        return type.getPackageName().startsWith("okhttp3") || type.getPackageName().startsWith("com.fasterxml");
    }

    @Test
    void publicSignaturesDoNotMentionOkHttpOrJackson() {
        methods().that().arePublic()
                .and().areDeclaredInClassesThat().resideInAPackage("dev.agentruntime.daytona")
                .and().areDeclaredInClassesThat().arePublic()
                .should(new ArchCondition<JavaMethod>("not mention okhttp or Jackson types") {
                    @Override
                    public void check(JavaMethod method, ConditionEvents events) {
                        boolean leaks = Stream.concat(Stream.of(method.getRawReturnType()),
                                method.getRawParameterTypes().stream()).anyMatch(DaytonaApiArchitectureTest::wire)
                                || method.getReturnType().getAllInvolvedRawTypes().stream()
                                .anyMatch(DaytonaApiArchitectureTest::wire);
                        if (leaks) {
                            events.add(SimpleConditionEvent.violated(method, method.getFullName()
                                    + " exposes an okhttp or Jackson type"));
                        }
                    }
                })
                .check(classes);
    }

    @Test
    void mainCodeDoesNotDependOnTheFakeOrItsEngine() {
        noClasses().that().resideInAPackage("dev.agentruntime.daytona..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.agentruntime.fake..", "org.eclipse.jetty..")
                .check(classes);
    }
}
