package dev.agentruntime.gateway.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SessionsTest {

    @Test
    void imagesRoundTripThroughLabelValuesAndThoseThatCannotAreNotRecorded() {
        for (String image : List.of("debian:bookworm", "agent-runtime-test/debian:bookworm",
                "registry.example.com:5000/team_a/py_img:3.12-slim", "repo/x@sha256:0123abcd", "a_b__c", "x_s")) {
            String label = Sessions.label(image);
            assertThat(label).as(image).matches("[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?");
            assertThat(Sessions.unlabel(label)).isEqualTo(image);
        }
        assertThat(Sessions.label("r/" + "x".repeat(70))).as("too long for a label").isNull();
    }

    @Test
    void backendStatesMapOntoOpenHandsStatuses() {
        for (String[] c : new String[][] {{"running", "running"}, {"paused", "paused"}, {"exited", "stopped"},
                {"dead", "stopped"}, {"created", "starting"}, {"Pending", "starting"}, {"restarting", "starting"},
                {"Failed", "stopped"}}) {
            assertThat(new Sessions.Session("rt-1", "t", "s", c[0], Optional.empty(), Optional.empty(), "x").status())
                    .as(c[0]).isEqualTo(c[1]);
        }
    }
}
