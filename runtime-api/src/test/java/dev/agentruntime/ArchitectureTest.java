package dev.agentruntime;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.properties.HasName.Predicates.name;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Keeps the public API free of implementation libraries (STYLE: "Public signatures never mention okhttp, Jackson,
 * docker-java or fabric8 types") and the exception hierarchy under one root.
 */
class ArchitectureTest {

    private static final String[] IMPLEMENTATION_PACKAGES = {
            "okhttp3", "okio", "com.fasterxml.jackson", "com.github.dockerjava", "io.fabric8"};

    private static JavaClasses main;

    @BeforeAll
    static void importMainClasses() {
        main = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.agentruntime");
    }

    private static boolean isImplementationType(JavaClass type) {
        String name = type.getName();
        for (String pkg : IMPLEMENTATION_PACKAGES) {
            if (name.startsWith(pkg + ".")) {
                return true;
            }
        }
        return false;
    }

    private static boolean visible(Set<JavaModifier> modifiers) {
        return modifiers.contains(JavaModifier.PUBLIC) || modifiers.contains(JavaModifier.PROTECTED);
    }

    /** Every public or protected member, supertype and thrown type of the class, with generics unfolded. */
    private static final ArchCondition<JavaClass> NOT_EXPOSE_IMPLEMENTATION_TYPES =
            new ArchCondition<>("not mention okhttp, okio, Jackson, docker-java or fabric8 types in public signatures") {
                @Override
                public void check(JavaClass owner, ConditionEvents events) {
                    List<String> leaks = new ArrayList<>();
                    owner.getRawSuperclass().filter(ArchitectureTest::isImplementationType)
                            .ifPresent(s -> leaks.add("extends " + s.getName()));
                    owner.getRawInterfaces().stream().filter(ArchitectureTest::isImplementationType)
                            .forEach(i -> leaks.add("implements " + i.getName()));
                    for (JavaCodeUnit unit : owner.getCodeUnits()) {
                        if (!visible(unit.getModifiers()) || unit.getName().equals("<clinit>")) {
                            continue;
                        }
                        List<JavaType> types = new ArrayList<>(unit.getParameterTypes());
                        types.add(unit.getReturnType());
                        types.addAll(unit.getExceptionTypes());
                        for (JavaType type : types) {
                            type.getAllInvolvedRawTypes().stream().filter(ArchitectureTest::isImplementationType)
                                    .forEach(t -> leaks.add(unit.getFullName() + " uses " + t.getName()));
                        }
                    }
                    for (JavaField field : owner.getFields()) {
                        if (visible(field.getModifiers())) {
                            field.getType().getAllInvolvedRawTypes().stream()
                                    .filter(ArchitectureTest::isImplementationType)
                                    .forEach(t -> leaks.add(field.getFullName() + " has type " + t.getName()));
                        }
                    }
                    leaks.forEach(leak -> events.add(SimpleConditionEvent.violated(owner, leak)));
                }
            };

    @Test
    void publicApiDoesNotExposeOkHttpOrJacksonTypes() {
        classes().that().resideInAPackage("dev.agentruntime..")
                .and().resideOutsideOfPackage("..internal..")
                .and().arePublic()
                .should(NOT_EXPOSE_IMPLEMENTATION_TYPES)
                .check(main);
    }

    @Test
    void theRuleSeesALeakWhenThereIsOne() {
        // The internal codec exposes Jackson on purpose; the condition must flag it, or the rule above proves nothing.
        JavaClasses internal = new ClassFileImporter().importClasses(dev.agentruntime.internal.WireCodec.class);
        List<String> violations = new ArrayList<>();
        try {
            classes().should(NOT_EXPOSE_IMPLEMENTATION_TYPES).check(internal);
        } catch (AssertionError e) {
            violations.add(e.getMessage());
        }
        assertThat(violations).singleElement().asString().contains("com.fasterxml.jackson.databind.JsonNode");
    }

    @Test
    void exceptionsInTheApiShareOneRoot() {
        classes().that().resideInAPackage("dev.agentruntime")
                .and().haveSimpleNameEndingWith("Exception")
                .should().beAssignableTo(AgentRuntimeException.class)
                .check(main);
    }

    @Test
    void libraryCodeLogsThroughSlf4jApiOnly() {
        noClasses().that().resideInAPackage("dev.agentruntime..")
                .should().dependOnClassesThat().resideInAnyPackage("org.slf4j.simple..", "org.slf4j.impl..",
                        "ch.qos.logback..", "org.apache.logging.log4j.core..", "java.util.logging..")
                .check(main);
    }

    /** Users' types reach the SPI only at the discovery boundary: the provider interface and the config marker. */
    @Test
    void apiTypesDoNotDependOnTheSpiOrInternals() {
        noClasses().that().resideInAPackage("dev.agentruntime")
                .and().doNotHaveSimpleName("WireFormat") // the public facade over the internal codec
                .should().dependOnClassesThat(resideInAnyPackage("dev.agentruntime.spi..", "dev.agentruntime.internal..")
                        .and(not(name("dev.agentruntime.spi.RuntimeProvider")))
                        .and(not(name("dev.agentruntime.spi.BackendConfig"))))
                .check(main);
    }

    /**
     * {@code dev.agentruntime.Runtime} shadows {@code java.lang.Runtime} wherever our package is wildcard-imported.
     * Bytecode cannot show imports, so this checks the module's sources.
     */
    @Test
    void sourcesNeverWildcardImportOurPackage() throws IOException {
        Pattern wildcard = Pattern.compile("^\\s*import\\s+dev\\.agentruntime\\.\\*\\s*;", Pattern.MULTILINE);
        List<Path> offenders = new ArrayList<>();
        int scanned = 0;
        for (String root : List.of("src/main/java", "src/test/java")) {
            Path dir = Path.of(root);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                    scanned++;
                    if (wildcard.matcher(Files.readString(file)).find()) {
                        offenders.add(file);
                    }
                }
            }
        }
        assertThat(scanned).as("Java sources found under the module directory").isGreaterThan(10);
        assertThat(offenders).as("files wildcard-importing dev.agentruntime.* (shadows java.lang.Runtime)").isEmpty();
    }
}
