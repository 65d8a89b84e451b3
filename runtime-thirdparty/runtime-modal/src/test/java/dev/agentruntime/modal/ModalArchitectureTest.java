package dev.agentruntime.modal;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaMethod;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** grpc-java and protobuf stay in {@code dev.agentruntime.modal.internal}: no public signature mentions them. */
class ModalArchitectureTest {

    private static JavaClasses classes;

    /** Only our classes: referenced library classes stay stubs (their package is all the rules look at). */
    @org.junit.jupiter.api.BeforeAll
    static void importOurClasses() {
        com.tngtech.archunit.ArchConfiguration config = com.tngtech.archunit.ArchConfiguration.get();
        boolean before = config.resolveMissingDependenciesFromClassPath();
        config.setResolveMissingDependenciesFromClassPath(false);
        try {
            classes = importer();
        } finally {
            config.setResolveMissingDependenciesFromClassPath(before);
        }
    }

    private static JavaClasses importer() {
        return new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            // the generated messages are many and all internal; references to them are still seen by package
            .withImportOption(location -> !location.contains("/modal/internal/proto/"))
            .importPackages("dev.agentruntime.modal");
    }

    private static boolean grpcOrProtobuf(JavaClass type) {
        return type.getPackageName().startsWith("io.grpc") || type.getPackageName().startsWith("com.google.protobuf")
                || type.getPackageName().startsWith("dev.agentruntime.modal.internal.proto");
    }

    @Test
    void publicSignaturesDoNotMentionGrpcOrProtobufTypes() {
        methods().that().arePublic()
                .and().areDeclaredInClassesThat().resideInAPackage("dev.agentruntime.modal")
                .and().areDeclaredInClassesThat().arePublic()
                .should(new ArchCondition<JavaMethod>("not mention grpc or protobuf types") {
                    @Override
                    public void check(JavaMethod method, ConditionEvents events) {
                        boolean leaks = Stream.concat(method.getReturnType().getAllInvolvedRawTypes().stream(),
                                method.getParameterTypes().stream().flatMap(t -> t.getAllInvolvedRawTypes().stream()))
                                .anyMatch(ModalArchitectureTest::grpcOrProtobuf);
                        if (leaks) {
                            events.add(SimpleConditionEvent.violated(method, method.getFullName()
                                    + " exposes a grpc or protobuf type"));
                        }
                    }
                })
                .check(classes);
    }

    @Test
    void onlyTheInternalPackageTalksGrpc() {
        noClasses().that().resideInAPackage("dev.agentruntime.modal")
                .should().dependOnClassesThat().resideInAnyPackage("io.grpc..", "com.google.protobuf..")
                .check(classes);
    }
}
