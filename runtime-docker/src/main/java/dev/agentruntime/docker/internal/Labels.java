package dev.agentruntime.docker.internal;

import dev.agentruntime.spi.SessionLabels;
import java.util.Map;

/**
 * The label keys on every container, image and volume the Docker backend creates: the kit's
 * {@link SessionLabels} (session, owner, versions) plus what only Docker records (what an image was made from).
 * The reaper and housekeeping select by them, never by name alone.
 */
public final class Labels {

    public static final String PREFIX = SessionLabels.PREFIX;
    public static final String MANAGED_BY = PREFIX + SessionLabels.MANAGED_BY;
    public static final String MANAGED_BY_VALUE = SessionLabels.MANAGED_BY_VALUE;
    public static final String ROLE = PREFIX + SessionLabels.ROLE;
    public static final String SESSION_ID = PREFIX + SessionLabels.SESSION_ID;
    public static final String OWNER_HOST = PREFIX + SessionLabels.OWNER_HOST;
    public static final String OWNER_PID = PREFIX + SessionLabels.OWNER_PID;
    public static final String OWNER_STARTED = PREFIX + SessionLabels.OWNER_STARTED;
    public static final String OWNER_BOOT_ID = PREFIX + SessionLabels.OWNER_BOOT_ID;
    public static final String CREATED_AT = PREFIX + SessionLabels.CREATED_AT;
    public static final String VERSION = PREFIX + SessionLabels.VERSION;
    public static final String KEEP_ALIVE = PREFIX + SessionLabels.KEEP_ALIVE;
    public static final String BASE_IMAGE = PREFIX + "base-image";
    public static final String BASE_IMAGE_ID = PREFIX + "base-image-id";
    public static final String SERVER_SHA256 = PREFIX + "server-sha256";
    public static final String JAVA = PREFIX + "java";
    public static final String JRE_BUNDLED = PREFIX + "jre-bundled";
    public static final String PYTHON3 = PREFIX + "python3";
    /** On images built with the class-data training step: where the archive is (see {@link ClassDataTraining}). */
    public static final String CLASS_DATA = PREFIX + "class-data";

    public static final String ROLE_SANDBOX = SessionLabels.ROLE_SANDBOX;
    public static final String ROLE_IMAGE = "image";
    public static final String ROLE_PROBE = "probe";
    public static final String ROLE_VOLUME = "volume";

    private Labels() {
    }

    /** The library version, from the build. */
    public static String libraryVersion() {
        return SessionLabels.currentLibraryVersion();
    }

    /** managed-by, role, version, created-at and the owner's identity, for objects of no session. */
    public static Map<String, String> owned(String role) {
        return SessionLabels.ownedBy(role);
    }

    /** The label filter {@code managed-by=agent-runtime}. */
    public static Map<String, String> managedFilter() {
        return SessionLabels.managedSelector();
    }
}
