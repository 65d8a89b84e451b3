package dev.agentruntime.gateway.internal;

import dev.agentruntime.Secret;
import dev.agentruntime.gateway.GatewayConfig;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * What lets the gateway keep no state of its own: runtime ids and per-session keys are HMAC-SHA256 of the gateway
 * secret, so every replica derives the same ones and checks them without storing them (the session key is never
 * written to a label). Also finds the tenant of a presented API key, in constant time per key.
 */
public final class Signer {

    /** Runtime ids: {@code rt-} and 24 hex digits (valid session ids, container names and label values). */
    public static final String RUNTIME_ID_PATTERN = "rt-[0-9a-f]{24}";

    private static final java.util.regex.Pattern RUNTIME_ID = java.util.regex.Pattern.compile(RUNTIME_ID_PATTERN);

    private final SecretKeySpec key;
    private final List<GatewayConfig.ApiKey> keys;
    /** One initialised MAC per thread: every proxied request checks a session key. */
    private final ThreadLocal<Mac> macs = ThreadLocal.withInitial(this::newMac);

    public Signer(GatewayConfig config) {
        this.key = new SecretKeySpec(config.secret().reveal().getBytes(StandardCharsets.UTF_8), "HmacSHA256");
        this.keys = config.keys();
    }

    /** The runtime id of a tenant's session: the same on every replica, unguessable without the secret. */
    public String runtimeId(String tenant, String sessionId) {
        return "rt-" + hmac("runtime-id\n" + tenant + "\n" + sessionId).substring(0, 24);
    }

    /** The {@code X-Session-API-Key} of a runtime. */
    public Secret sessionKey(String runtimeId) {
        return Secret.of(hmac("session-key\n" + runtimeId));
    }

    public boolean sessionKeyMatches(String runtimeId, String presented) {
        return presented != null && MessageDigest.isEqual(sessionKey(runtimeId).reveal()
                .getBytes(StandardCharsets.UTF_8), presented.getBytes(StandardCharsets.UTF_8));
    }

    /** The API key {@code presented} is, if any (every key is compared, so timing says nothing of which matched). */
    public Optional<GatewayConfig.ApiKey> tenant(String presented) {
        if (presented == null || presented.isEmpty()) {
            return Optional.empty();
        }
        byte[] given = presented.getBytes(StandardCharsets.UTF_8);
        GatewayConfig.ApiKey found = null;
        for (GatewayConfig.ApiKey candidate : keys) {
            if (MessageDigest.isEqual(candidate.key().reveal().getBytes(StandardCharsets.UTF_8), given)) {
                found = candidate;
            }
        }
        return Optional.ofNullable(found);
    }

    /** Whether {@code id} has the shape of a runtime id. */
    public static boolean isRuntimeId(String id) {
        return id != null && RUNTIME_ID.matcher(id).matches();
    }

    private String hmac(String text) {
        return HexFormat.of().formatHex(macs.get().doFinal(text.getBytes(StandardCharsets.UTF_8)));
    }

    private Mac newMac() {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
        }
    }
}
