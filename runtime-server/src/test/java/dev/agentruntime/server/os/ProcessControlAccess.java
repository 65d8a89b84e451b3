package dev.agentruntime.server.os;

/** Lets tests outside the package ask what {@link ProcessControl} knows. */
public final class ProcessControlAccess {

    private ProcessControlAccess() {
    }

    public static boolean isRoot() {
        return ProcessControl.isRoot();
    }
}
