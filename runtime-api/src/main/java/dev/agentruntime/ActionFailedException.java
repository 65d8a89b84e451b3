package dev.agentruntime;

import java.util.Optional;

/**
 * The server refused an action: a malformed action (HTTP 4xx), or a typed convenience such as
 * {@link Runtime#run(CmdRunAction)} got an {@link ErrorObservation} where a command output was expected
 * (e.g. several commands in one action). Not transient: sending the same action again fails the same way.
 */
public class ActionFailedException extends AgentRuntimeException {

    private final transient Observation observation;
    private final int httpStatus;

    public ActionFailedException(String message, Observation observation) {
        super(message, false);
        this.observation = observation;
        this.httpStatus = 200;
    }

    public ActionFailedException(String message, int httpStatus) {
        super(message, false);
        this.observation = null;
        this.httpStatus = httpStatus;
    }

    /** The error observation the server answered with, if it answered with one. */
    public Optional<Observation> observation() {
        return Optional.ofNullable(observation);
    }

    /** The HTTP status of the refusal (200 when the refusal was an error observation). */
    public int httpStatus() {
        return httpStatus;
    }
}
