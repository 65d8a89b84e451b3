package dev.agentruntime.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PortRangeTest {

    @Test
    void openHandsConstants() {
        assertThat(PortRange.EXECUTION_SERVER).isEqualTo(new PortRange(30000, 39999));
        assertThat(PortRange.VSCODE).isEqualTo(new PortRange(40000, 49999));
        assertThat(PortRange.APP_1).isEqualTo(new PortRange(50000, 54999));
        assertThat(PortRange.APP_2).isEqualTo(new PortRange(55000, 59999));
        assertThat(PortRange.EXECUTION_SERVER.size()).isEqualTo(10000);
        assertThat(PortRange.APP_1.size()).isEqualTo(5000);
    }

    @Test
    void sizeAndContains() {
        PortRange range = new PortRange(100, 102);
        assertThat(range.size()).isEqualTo(3);
        assertThat(range.contains(99)).isFalse();
        assertThat(range.contains(100)).isTrue();
        assertThat(range.contains(102)).isTrue();
        assertThat(range.contains(103)).isFalse();
        assertThat(new PortRange(1, 65535).size()).isEqualTo(65535);
        assertThat(new PortRange(7, 7).size()).isEqualTo(1);
    }

    @Test
    void rejectsOutOfBoundsPorts() {
        assertThatThrownBy(() -> new PortRange(0, 10))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("first=0").hasMessageContaining("1..65535");
        assertThatThrownBy(() -> new PortRange(10, 65536))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("last=65536");
        assertThatThrownBy(() -> new PortRange(-5, -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("first=-5").hasMessageContaining("last=-1");
    }

    @Test
    void rejectsInvertedRange() {
        assertThatThrownBy(() -> new PortRange(50000, 40000))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("first=50000").hasMessageContaining("last=40000");
    }

    @Test
    void readableToString() {
        assertThat(new PortRange(30000, 39999)).hasToString("PortRange[30000-39999]");
    }
}
