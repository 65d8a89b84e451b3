package dev.agentruntime.kubernetes.sim;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.http.MockResponse;
import java.util.List;

/**
 * The API server's {@code Status} error bodies, shaped as a v1.32 API server sends them (scenario 8 of the
 * recordings): {@code {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":..,"reason":..,
 * "details":{..},"code":N}} with {@code Content-Type: application/json}.
 */
final class ApiStatus {

    /** One field error: its cause reason (FieldValueInvalid, ...), field path and message without the field. */
    record Cause(String reason, String field, String message) {

        static Cause invalid(String field, Object value, String detail) {
            return new Cause("FieldValueInvalid", field,
                    "Invalid value: " + dev.agentruntime.kubernetes.internal.KubernetesNames.goValue(value) + ": "
                            + detail);
        }

        static Cause required(String field) {
            return new Cause("FieldValueRequired", field, "Required value");
        }

        static Cause required(String field, String detail) {
            return new Cause("FieldValueRequired", field, "Required value: " + detail);
        }

        static Cause forbidden(String field, String detail) {
            return new Cause("FieldValueForbidden", field, "Forbidden: " + detail);
        }

        static Cause notSupported(String field, Object value, List<String> supported) {
            StringBuilder s = new StringBuilder();
            for (String v : supported) {
                s.append(s.length() == 0 ? "" : ", ").append('"').append(v).append('"');
            }
            return new Cause("FieldValueNotSupported", field, "Unsupported value: "
                    + dev.agentruntime.kubernetes.internal.KubernetesNames.goValue(value) + ": supported values: " + s);
        }

        static Cause duplicate(String field, Object value) {
            return new Cause("FieldValueDuplicate", field, "Duplicate value: "
                    + dev.agentruntime.kubernetes.internal.KubernetesNames.goValue(value));
        }

        static Cause notFound(String field, Object value) {
            return new Cause("FieldValueNotFound", field, "Not found: "
                    + dev.agentruntime.kubernetes.internal.KubernetesNames.goValue(value));
        }

        String text() {
            return field + ": " + message;
        }
    }

    private ApiStatus() {
    }

    static MockResponse response(int code, ObjectNode body) {
        return new MockResponse().setResponseCode(code).setHeader("Content-Type", "application/json")
                .setBody(body.toString());
    }

    static ObjectNode body(int code, String reason, String message, ObjectNode details) {
        ObjectNode status = Serialization.jsonMapper().createObjectNode();
        status.put("kind", "Status");
        status.put("apiVersion", "v1");
        status.putObject("metadata");
        status.put("status", "Failure");
        status.put("message", message);
        if (reason != null) {
            status.put("reason", reason);
        }
        if (details != null) {
            status.set("details", details);
        }
        status.put("code", code);
        return status;
    }

    static MockResponse failure(int code, String reason, String message, ObjectNode details) {
        return response(code, body(code, reason, message, details));
    }

    static ObjectNode details(String name, String kind) {
        ObjectNode details = Serialization.jsonMapper().createObjectNode();
        if (name != null) {
            details.put("name", name);
        }
        details.put("kind", kind);
        return details;
    }

    /** 422: {@code <Kind> "<name>" is invalid: <cause>} (one cause) or {@code ... is invalid: [<c1>, <c2>]}. */
    static MockResponse invalid(String kind, String name, List<Cause> causes) {
        StringBuilder message = new StringBuilder(kind).append(" \"").append(name).append("\" is invalid: ");
        if (causes.size() == 1) {
            message.append(causes.get(0).text());
        } else {
            message.append('[');
            for (int i = 0; i < causes.size(); i++) {
                message.append(i == 0 ? "" : ", ").append(causes.get(i).text());
            }
            message.append(']');
        }
        ObjectNode details = details(name, kind);
        ArrayNode array = details.putArray("causes");
        for (Cause cause : causes) {
            ObjectNode c = array.addObject();
            c.put("reason", cause.reason());
            c.put("message", cause.message());
            c.put("field", cause.field());
        }
        return failure(422, "Invalid", message.toString(), details);
    }

    static MockResponse notFound(String resource, String name) {
        return failure(404, "NotFound", resource + " \"" + name + "\" not found", details(name, resource));
    }

    static MockResponse alreadyExists(String resource, String name) {
        return failure(409, "AlreadyExists", resource + " \"" + name + "\" already exists", details(name, resource));
    }

    static MockResponse conflict(String resource, String name) {
        return failure(409, "Conflict", "Operation cannot be fulfilled on " + resource + " \"" + name
                + "\": the object has been modified; please apply your changes to the latest version and try again",
                details(name, resource));
    }

    static MockResponse badRequest(String message) {
        return failure(400, "BadRequest", message, null);
    }

    static MockResponse success() {
        ObjectNode status = Serialization.jsonMapper().createObjectNode();
        status.put("kind", "Status");
        status.put("apiVersion", "v1");
        status.putObject("metadata");
        status.put("status", "Success");
        status.put("code", 201);
        return response(201, status);
    }
}
