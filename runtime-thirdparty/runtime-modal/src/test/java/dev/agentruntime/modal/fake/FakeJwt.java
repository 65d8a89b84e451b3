package dev.agentruntime.modal.fake;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** HS256 JWTs with a subject and an {@code exp}, as the fake hands out and checks them. */
final class FakeJwt {

    private static final Pattern SUB = Pattern.compile("\"sub\"\\s*:\\s*\"([^\"]*)\"");
    private static final Pattern EXP = Pattern.compile("\"exp\"\\s*:\\s*(\\d+)");
    private static final Pattern ISSUED = Pattern.compile("\"iat_ms\"\\s*:\\s*(\\d+)");
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private final byte[] key = new byte[32];

    FakeJwt() {
        new SecureRandom().nextBytes(key);
    }

    String issue(String subject, Instant expiry) {
        String header = B64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
        String payload = B64.encodeToString(("{\"sub\":\"" + subject + "\",\"exp\":" + expiry.getEpochSecond()
                + ",\"iat_ms\":" + System.currentTimeMillis() + ",\"jti\":\"" + System.nanoTime() + "\"}").getBytes(StandardCharsets.UTF_8));
        return header + "." + payload + "." + sign(header + "." + payload);
    }

    /** A valid token's claims, or empty (bad signature, malformed). Expiry is checked by the caller. */
    Optional<Claims> verify(String token) {
        String[] parts = token.split("\\.");
        if (parts.length != 3 || !MessageDigest.isEqual(sign(parts[0] + "." + parts[1])
                .getBytes(StandardCharsets.US_ASCII), parts[2].getBytes(StandardCharsets.US_ASCII))) {
            return Optional.empty();
        }
        String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
        Matcher sub = SUB.matcher(payload);
        Matcher exp = EXP.matcher(payload);
        Matcher issued = ISSUED.matcher(payload);
        if (!sub.find() || !exp.find() || !issued.find()) {
            return Optional.empty();
        }
        return Optional.of(new Claims(sub.group(1), Instant.ofEpochSecond(Long.parseLong(exp.group(1))),
                Instant.ofEpochMilli(Long.parseLong(issued.group(1)))));
    }

    record Claims(String subject, Instant expiry, Instant issuedAt) {
    }

    private String sign(String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return B64.encodeToString(mac.doFinal(data.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
