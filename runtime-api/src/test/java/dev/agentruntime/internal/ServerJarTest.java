package dev.agentruntime.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.agentruntime.InvalidConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerJarTest {

    @TempDir
    Path tmp;

    private final String previous = System.getProperty(ServerJar.PROPERTY);

    @AfterEach
    void restoreProperty() {
        if (previous == null) {
            System.clearProperty(ServerJar.PROPERTY);
        } else {
            System.setProperty(ServerJar.PROPERTY, previous);
        }
    }

    @Test
    void theSystemPropertyWins() throws IOException {
        Path jar = Files.write(tmp.resolve("server.jar"), new byte[] {1, 2, 3});
        System.setProperty(ServerJar.PROPERTY, jar.toString());
        assertThat(ServerJar.locate()).isEqualTo(jar);
    }

    @Test
    void aConfiguredJarThatDoesNotExistIsReportedWithTheFix() {
        Path missing = tmp.resolve("nope.jar");
        System.setProperty(ServerJar.PROPERTY, missing.toString());
        assertThatThrownBy(ServerJar::locate)
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("does not exist: " + missing)
                .hasMessageContaining("-D" + ServerJar.PROPERTY)
                .hasMessageContaining("mvn -pl runtime-server package");
    }

    @Test
    void sha256FollowsAChangedFile() throws IOException {
        Path file = Files.writeString(tmp.resolve("jar"), "abc");
        assertThat(ServerJar.sha256(file)).startsWith("ba7816bf");
        Files.writeString(file, "abcd");
        Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(0));
        assertThat(ServerJar.sha256(file)).as("size and modification time changed: digested again")
                .isEqualTo("88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589");
    }

    @Test
    void sha256IsHexOfTheContent() throws IOException {
        Path file = Files.writeString(tmp.resolve("abc"), "abc");
        assertThat(ServerJar.sha256(file))
                .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
