package dev.agentruntime.docker;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaMethod;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import com.tngtech.archunit.core.domain.JavaClasses;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** docker-java stays an implementation detail, except the two escape hatches on DockerRuntimeConfig. */
class DockerApiArchitectureTest {

    private final JavaClasses classes = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.agentruntime.docker");

    private static boolean dockerJava(JavaClass type) {
        return type.getPackageName().startsWith("com.github.dockerjava");
    }

    @Test
    void publicSignaturesOutsideTheEscapeHatchesDoNotMentionDockerJava() {
        methods().that().arePublic()
                .and().areDeclaredInClassesThat().resideInAPackage("dev.agentruntime.docker")
                .and().areDeclaredInClassesThat().arePublic()
                .and().doNotHaveName("dockerClient").and().doNotHaveName("createCustomizer")
                .should(new ArchCondition<JavaMethod>("not mention docker-java types") {
                    @Override
                    public void check(JavaMethod method, ConditionEvents events) {
                        boolean leaks = Stream.concat(Stream.of(method.getRawReturnType()),
                                method.getRawParameterTypes().stream()).anyMatch(DockerApiArchitectureTest::dockerJava)
                                || method.getReturnType().getAllInvolvedRawTypes().stream()
                                .anyMatch(DockerApiArchitectureTest::dockerJava);
                        if (leaks) {
                            events.add(SimpleConditionEvent.violated(method, method.getFullName()
                                    + " exposes a docker-java type"));
                        }
                    }
                })
                .check(classes);
    }

    @Test
    void theApiPackageDoesNotDependOnTheZerodepTransport() {
        noClasses().that().resideInAPackage("dev.agentruntime.docker")
                .should().dependOnClassesThat().resideInAPackage("com.github.dockerjava.zerodep..")
                .check(classes);
    }
}
