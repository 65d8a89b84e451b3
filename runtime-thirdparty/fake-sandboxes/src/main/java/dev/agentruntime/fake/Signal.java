package dev.agentruntime.fake;

import java.util.Optional;

/** POSIX signals a fake can send to a process in a sandbox (Linux numbers). */
public enum Signal {
    HUP(1), INT(2), QUIT(3), KILL(9), USR1(10), USR2(12), PIPE(13), ALRM(14), TERM(15), CONT(18), STOP(19), TSTP(20),
    WINCH(28);

    private final int number;

    Signal(int number) {
        this.number = number;
    }

    public int number() {
        return number;
    }

    /** The signal with this Linux number, if it is one of ours. */
    public static Optional<Signal> of(int number) {
        for (Signal s : values()) {
            if (s.number == number) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }
}
