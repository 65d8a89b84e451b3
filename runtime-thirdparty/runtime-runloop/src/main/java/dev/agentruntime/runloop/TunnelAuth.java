package dev.agentruntime.runloop;

/** How the devbox's tunnel admits requests ({@code tunnel.auth_mode}). */
public enum TunnelAuth {
    /** Anyone with the URL reaches the port (our server still demands its session key). */
    OPEN,
    /** Requests must carry {@code X-Runloop-Tunnel-Authorization: Bearer <auth_token>} (the default). */
    AUTHENTICATED
}
