package dev.agentruntime.fake;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMethod;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The sandbox API speaks only JDK and our own types; the HTTP kit exposes Jetty's Handler API and Jackson trees (that is
 * what the fakes are built from) but never docker-java.
 */
class FakeApiArchitectureTest {

    private final JavaClasses classes = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.agentruntime.fake");

    private static ArchCondition<JavaMethod> notExposing(String what, Predicate<JavaClass> forbidden) {
        return new ArchCondition<>("not expose " + what + " types") {
            @Override
            public void check(JavaMethod method, ConditionEvents events) {
                boolean leaks = Stream.concat(method.getReturnType().getAllInvolvedRawTypes().stream(),
                        method.getRawParameterTypes().stream()).anyMatch(forbidden);
                if (leaks) {
                    events.add(SimpleConditionEvent.violated(method, method.getFullName() + " exposes " + what));
                }
            }
        };
    }

    @Test
    void theSandboxApiMentionsNoLibraryTypes() {
        methods().that().arePublic().and().areDeclaredInClassesThat().resideInAPackage("dev.agentruntime.fake")
                .and().areDeclaredInClassesThat().arePublic()
                .should(notExposing("docker-java, Jetty or Jackson", type -> type.getPackageName().startsWith(
                        "com.github.dockerjava") || type.getPackageName().startsWith("org.eclipse.jetty")
                        || type.getPackageName().startsWith("com.fasterxml")))
                .check(classes);
    }

    @Test
    void theHttpKitMentionsNoDockerJava() {
        methods().that().arePublic().and().areDeclaredInClassesThat().resideInAPackage("dev.agentruntime.fake.http")
                .should(notExposing("docker-java", type -> type.getPackageName().startsWith("com.github.dockerjava")))
                .check(classes);
    }
}
