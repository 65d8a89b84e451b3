package dev.agentruntime;

import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.internal.WireFormatException;

/**
 * Converts actions and observations to and from the OpenHands wire JSON, for frameworks that log, store or relay
 * them. Decoding ignores unknown fields and accepts OpenHands' legacy keys.
 */
public final class WireFormat {

    private WireFormat() {
    }

    public static String toJson(Action action) {
        return WireCodec.toJson(WireCodec.encodeAction(action));
    }

    public static String toJson(Observation observation) {
        return WireCodec.toJson(WireCodec.encodeObservation(observation));
    }

    /** @throws IllegalArgumentException naming the problem when the JSON is not a valid action */
    public static Action actionFromJson(String json) {
        return WireCodec.decodeAction(WireCodec.parse(json));
    }

    /** @throws IllegalArgumentException naming the problem when the JSON is not a valid observation */
    public static Observation observationFromJson(String json) {
        try {
            return WireCodec.decodeObservation(WireCodec.parse(json));
        } catch (WireFormatException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }
}
