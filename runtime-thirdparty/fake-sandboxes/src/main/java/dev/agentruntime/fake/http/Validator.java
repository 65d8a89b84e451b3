package dev.agentruntime.fake.http;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Strict checks of request bodies, failing with the vendor's error shape and status (400 unless the vendor uses
 * another, e.g. 422), so every fake rejects bad input the same careful way.
 *
 * <pre>{@code
 * Validator v = new Validator(E2B_ERRORS, 400);
 * JsonNode body = v.object(exchange.json());
 * String template = v.requireString(body, "templateID");
 * int timeout = v.optionalInt(body, "timeout", 1, 86_400).orElse(15);
 * }</pre>
 */
public final class Validator {

    private final ErrorShape shape;
    private final int status;

    public Validator(ErrorShape shape, int status) {
        this.shape = shape;
        this.status = status;
    }

    /** A failure with this validator's status and shape. */
    public HttpError error(String message) {
        return HttpError.of(shape, status, message);
    }

    /** The body must be a JSON object. */
    public JsonNode object(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw error("request body must be a JSON object");
        }
        return body;
    }

    public String requireString(JsonNode body, String field) {
        return optionalString(body, field).orElseThrow(() -> error("'" + field + "' is required"));
    }

    public Optional<String> optionalString(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return Optional.empty();
        }
        if (!value.isTextual()) {
            throw error("'" + field + "' must be a string");
        }
        return Optional.of(value.asText());
    }

    public int requireInt(JsonNode body, String field, int min, int max) {
        return optionalInt(body, field, min, max).orElseThrow(() -> error("'" + field + "' is required"));
    }

    public OptionalInt optionalInt(JsonNode body, String field, int min, int max) {
        OptionalLong value = optionalLong(body, field, min, max);
        return value.isPresent() ? OptionalInt.of((int) value.getAsLong()) : OptionalInt.empty();
    }

    /** An integer, also accepted as a decimal string (proto3 JSON writes int64 as strings). */
    public OptionalLong optionalLong(JsonNode body, String field, long min, long max) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return OptionalLong.empty();
        }
        long number;
        if (value.isIntegralNumber() && value.canConvertToLong()) {
            number = value.asLong();
        } else if (value.isTextual() && value.asText().matches("-?\\d{1,19}")) {
            number = Long.parseLong(value.asText());
        } else {
            throw error("'" + field + "' must be an integer");
        }
        if (number < min || number > max) {
            throw error("'" + field + "' must be between " + min + " and " + max + ", was " + number);
        }
        return OptionalLong.of(number);
    }

    public Optional<Boolean> optionalBoolean(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return Optional.empty();
        }
        if (!value.isBoolean()) {
            throw error("'" + field + "' must be a boolean");
        }
        return Optional.of(value.asBoolean());
    }

    /** An object of string values (env vars, metadata, labels). */
    public Map<String, String> optionalStringMap(JsonNode body, String field) {
        JsonNode value = body.get(field);
        Map<String, String> map = new LinkedHashMap<>();
        if (value == null || value.isNull()) {
            return map;
        }
        if (!value.isObject()) {
            throw error("'" + field + "' must be an object of strings");
        }
        value.fields().forEachRemaining(e -> {
            if (!e.getValue().isTextual()) {
                throw error("'" + field + "." + e.getKey() + "' must be a string");
            }
            map.put(e.getKey(), e.getValue().asText());
        });
        return map;
    }

    public List<String> optionalStringList(JsonNode body, String field) {
        JsonNode value = body.get(field);
        List<String> list = new ArrayList<>();
        if (value == null || value.isNull()) {
            return list;
        }
        if (!value.isArray()) {
            throw error("'" + field + "' must be an array of strings");
        }
        for (JsonNode item : value) {
            if (!item.isTextual()) {
                throw error("'" + field + "' must be an array of strings");
            }
            list.add(item.asText());
        }
        return list;
    }

    /** One of the allowed values. */
    public <T> T oneOf(String field, String value, Map<String, T> allowed) {
        T found = allowed.get(value);
        if (found == null) {
            throw error("'" + field + "' must be one of " + allowed.keySet() + ", was '" + value + "'");
        }
        return found;
    }
}
