package dev.agentruntime;

import java.util.List;

/** No {@link RuntimeProvider} on the class path serves the requested type; the message lists those that do. */
public class UnknownRuntimeTypeException extends InvalidConfigException {

    private final List<String> availableTypes;

    public UnknownRuntimeTypeException(String requested, List<String> availableTypes) {
        super("No runtime backend of type '" + requested + "' is on the class path. Available types: "
                + (availableTypes.isEmpty() ? "(none)" : String.join(", ", availableTypes))
                + ". Add the backend's module (e.g. dev.agentruntime:runtime-" + requested
                + ") as a dependency or pick one of the available types.");
        this.availableTypes = List.copyOf(availableTypes);
    }

    public List<String> availableTypes() {
        return availableTypes;
    }
}
