package dev.agentruntime.kubernetes.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.kubernetes.internal.KubernetesNames;
import dev.agentruntime.kubernetes.sim.ApiStatus.Cause;
import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

/**
 * The API server's validation and defaulting that fabric8's CRUD mock does not do, for the kinds the backend writes:
 * the subset of {@code ValidatePodCreate}/{@code ValidatePodUpdate}/{@code ValidateService} and of the defaulting and
 * admission plugins (ServiceAccount, DefaultTolerationSeconds) whose effects the recordings show, with the recorded
 * wording.
 */
final class ApiRules {

    static final String SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";
    static final List<String> RESTART_POLICIES = List.of("Always", "OnFailure", "Never");
    static final List<String> PULL_POLICIES = List.of("Always", "IfNotPresent", "Never");
    private static final String FORBIDDEN_POD_UPDATE = "pod updates may not change fields other than "
            + "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
            + "`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
            + "(allow it to be set to 1 if it was previously negative)";
    private static final String NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789";

    private ApiRules() {
    }

    // ------------------------------------------------------------------------------------------- metadata ---

    static List<Cause> validateMetadata(JsonNode metadata, Function<String, List<String>> nameRule) {
        List<Cause> causes = new ArrayList<>();
        String name = metadata.path("name").asText("");
        String generateName = metadata.path("generateName").asText("");
        if (name.isEmpty() && generateName.isEmpty()) {
            causes.add(Cause.required("metadata.name", "name or generateName is required"));
        } else if (!name.isEmpty()) {
            for (String detail : nameRule.apply(name)) {
                causes.add(Cause.invalid("metadata.name", name, detail));
            }
        }
        Iterator<Map.Entry<String, JsonNode>> labels = metadata.path("labels").fields();
        while (labels.hasNext()) {
            Map.Entry<String, JsonNode> label = labels.next();
            for (String detail : KubernetesNames.qualifiedNameErrors(label.getKey())) {
                causes.add(Cause.invalid("metadata.labels", label.getKey(), detail));
            }
            String value = label.getValue().asText("");
            for (String detail : KubernetesNames.labelValueErrors(value)) {
                causes.add(Cause.invalid("metadata.labels", value, detail));
            }
        }
        long annotationBytes = 0;
        Iterator<Map.Entry<String, JsonNode>> annotations = metadata.path("annotations").fields();
        while (annotations.hasNext()) {
            Map.Entry<String, JsonNode> annotation = annotations.next();
            for (String detail : KubernetesNames.qualifiedNameErrors(annotation.getKey().toLowerCase())) {
                causes.add(Cause.invalid("metadata.annotations", annotation.getKey(), detail));
            }
            annotationBytes += annotation.getKey().length() + annotation.getValue().asText("").length();
        }
        if (annotationBytes > KubernetesNames.TOTAL_ANNOTATION_SIZE_LIMIT_BYTES) {
            causes.add(new Cause("FieldValueTooLong", "metadata.annotations",
                    "Too long: may not be more than " + KubernetesNames.TOTAL_ANNOTATION_SIZE_LIMIT_BYTES + " bytes"));
        }
        return causes;
    }

    /** {@code generateName} + five random characters, as the API server names such objects. */
    static String generatedName(String prefix) {
        StringBuilder name = new StringBuilder(prefix);
        for (int i = 0; i < 5; i++) {
            name.append(NAME_CHARS.charAt(ThreadLocalRandom.current().nextInt(NAME_CHARS.length())));
        }
        return name.toString();
    }

    // ------------------------------------------------------------------------------------------------ pods ---

    static List<Cause> validatePod(ObjectNode pod) {
        List<Cause> causes = validateMetadata(pod.path("metadata"), KubernetesNames::dns1123SubdomainErrors);
        JsonNode spec = pod.path("spec");
        Set<String> volumes = new HashSet<>();
        int v = 0;
        for (JsonNode volume : spec.path("volumes")) {
            String field = "spec.volumes[" + v++ + "].name";
            String name = volume.path("name").asText("");
            if (name.isEmpty()) {
                causes.add(Cause.required(field));
            } else {
                KubernetesNames.dns1123LabelErrors(name).forEach(d -> causes.add(Cause.invalid(field, name, d)));
                if (!volumes.add(name)) {
                    causes.add(Cause.duplicate(field, name));
                }
            }
        }
        Set<String> containerNames = new HashSet<>();
        validateContainers(spec.path("initContainers"), "spec.initContainers", volumes, containerNames, causes);
        if (!spec.path("containers").isArray() || spec.path("containers").isEmpty()) {
            causes.add(Cause.required("spec.containers"));
        } else {
            validateContainers(spec.path("containers"), "spec.containers", volumes, containerNames, causes);
        }
        String restartPolicy = spec.path("restartPolicy").asText("Always");
        if (!RESTART_POLICIES.contains(restartPolicy)) {
            causes.add(Cause.notSupported("spec.restartPolicy", restartPolicy, RESTART_POLICIES));
        }
        if (spec.has("activeDeadlineSeconds") && !spec.path("activeDeadlineSeconds").isNull()) {
            long deadline = spec.path("activeDeadlineSeconds").asLong();
            if (deadline < 1 || deadline > Integer.MAX_VALUE) {
                causes.add(Cause.invalid("spec.activeDeadlineSeconds", deadline,
                        "must be between 1 and 2147483647, inclusive"));
            }
        }
        validateSecurityContext(spec.path("securityContext"), "spec.securityContext", causes);
        return causes;
    }

    private static void validateContainers(JsonNode containers, String path, Set<String> volumes,
                                           Set<String> names, List<Cause> causes) {
        int i = 0;
        for (JsonNode container : containers) {
            String at = path + "[" + i++ + "]";
            String name = container.path("name").asText("");
            if (name.isEmpty()) {
                causes.add(Cause.required(at + ".name"));
            } else {
                KubernetesNames.dns1123LabelErrors(name).forEach(d -> causes.add(Cause.invalid(at + ".name", name, d)));
                if (!names.add(name)) {
                    causes.add(Cause.duplicate(at + ".name", name));
                }
            }
            if (container.path("image").asText("").isBlank()) {
                causes.add(Cause.required(at + ".image"));
            }
            String pullPolicy = container.path("imagePullPolicy").asText("");
            if (!pullPolicy.isEmpty() && !PULL_POLICIES.contains(pullPolicy)) {
                causes.add(Cause.notSupported(at + ".imagePullPolicy", pullPolicy, PULL_POLICIES));
            }
            int p = 0;
            for (JsonNode port : container.path("ports")) {
                String portAt = at + ".ports[" + p++ + "]";
                if (port.has("name")) {
                    String portName = port.path("name").asText();
                    KubernetesNames.portNameErrors(portName)
                            .forEach(d -> causes.add(Cause.invalid(portAt + ".name", portName, d)));
                }
                int number = port.path("containerPort").asInt(0);
                if (number < 1 || number > 65535) {
                    causes.add(number == 0 ? Cause.required(portAt + ".containerPort")
                            : Cause.invalid(portAt + ".containerPort", number, "must be between 1 and 65535, inclusive"));
                }
            }
            JsonNode requests = container.path("resources").path("requests");
            JsonNode limits = container.path("resources").path("limits");
            for (String resource : List.of("cpu", "memory")) {
                if (requests.has(resource) && limits.has(resource)
                        && amount(requests.path(resource).asText()).compareTo(amount(limits.path(resource).asText())) > 0) {
                    causes.add(Cause.invalid(at + ".resources.requests", requests.path(resource).asText(),
                            "must be less than or equal to " + resource + " limit of " + limits.path(resource).asText()));
                }
            }
            int m = 0;
            for (JsonNode mount : container.path("volumeMounts")) {
                String mountName = mount.path("name").asText("");
                if (!volumes.contains(mountName)) {
                    causes.add(Cause.notFound(at + ".volumeMounts[" + m + "].name", mountName));
                }
                m++;
            }
            validateSecurityContext(container.path("securityContext"), at + ".securityContext", causes);
        }
    }

    private static void validateSecurityContext(JsonNode securityContext, String at, List<Cause> causes) {
        for (String id : List.of("runAsUser", "runAsGroup")) {
            if (securityContext.has(id)) {
                long value = securityContext.path(id).asLong();
                if (value < 0 || value > Integer.MAX_VALUE) {
                    causes.add(Cause.invalid(at + "." + id, value, "must be between 0 and 2147483647, inclusive"));
                }
            }
        }
    }

    static BigDecimal amount(String quantity) {
        return Quantity.getAmountInBytes(new Quantity(quantity));
    }

    /** Defaults a v1.32 API server (with the ServiceAccount and DefaultTolerationSeconds admission) fills in. */
    static void defaultPod(ObjectNode pod) {
        ObjectNode spec = (ObjectNode) pod.path("spec");
        putIfAbsent(spec, "restartPolicy", "Always");
        if (!spec.has("terminationGracePeriodSeconds")) {
            spec.put("terminationGracePeriodSeconds", 30);
        }
        putIfAbsent(spec, "dnsPolicy", "ClusterFirst");
        putIfAbsent(spec, "serviceAccountName", spec.path("serviceAccount").asText("default"));
        putIfAbsent(spec, "serviceAccount", spec.path("serviceAccountName").asText());
        if (!spec.has("securityContext")) {
            spec.putObject("securityContext");
        }
        putIfAbsent(spec, "schedulerName", "default-scheduler");
        ArrayNode tolerations = spec.has("tolerations") ? (ArrayNode) spec.get("tolerations") : spec.putArray("tolerations");
        for (String key : List.of("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")) {
            boolean present = false;
            for (JsonNode t : tolerations) {
                present |= key.equals(t.path("key").asText()) && "NoExecute".equals(t.path("effect").asText());
            }
            if (!present) {
                ObjectNode t = tolerations.addObject();
                t.put("key", key).put("operator", "Exists").put("effect", "NoExecute").put("tolerationSeconds", 300);
            }
        }
        if (!spec.has("priority")) {
            spec.put("priority", 0);
        }
        if (!spec.has("enableServiceLinks")) {
            spec.put("enableServiceLinks", true);
        }
        putIfAbsent(spec, "preemptionPolicy", "PreemptLowerPriority");
        ArrayNode volumes = spec.has("volumes") ? (ArrayNode) spec.get("volumes") : spec.putArray("volumes");
        for (JsonNode volume : volumes) {
            for (String kind : List.of("configMap", "secret")) {
                if (volume.has(kind) && !volume.path(kind).has("defaultMode")) {
                    ((ObjectNode) volume.get(kind)).put("defaultMode", 420);
                }
            }
        }
        String tokenVolume = null;
        if (spec.path("automountServiceAccountToken").asBoolean(true)) {
            tokenVolume = "kube-api-access-" + generatedName("");
            ObjectNode volume = volumes.insertObject(0);
            volume.put("name", tokenVolume);
            ObjectNode projected = volume.putObject("projected");
            ArrayNode sources = projected.putArray("sources");
            sources.addObject().putObject("serviceAccountToken").put("expirationSeconds", 3607).put("path", "token");
            ObjectNode ca = sources.addObject().putObject("configMap");
            ca.put("name", "kube-root-ca.crt");
            ca.putArray("items").addObject().put("key", "ca.crt").put("path", "ca.crt");
            ObjectNode ns = sources.addObject().putObject("downwardAPI").putArray("items").addObject();
            ns.put("path", "namespace");
            ns.putObject("fieldRef").put("apiVersion", "v1").put("fieldPath", "metadata.namespace");
            projected.put("defaultMode", 420);
        }
        for (String list : List.of("initContainers", "containers")) {
            for (JsonNode c : spec.path(list)) {
                defaultContainer((ObjectNode) c, tokenVolume);
            }
        }
        ObjectNode status = pod.putObject("status");
        status.put("phase", "Pending");
        status.put("qosClass", qosClass(spec));
    }

    private static void defaultContainer(ObjectNode container, String tokenVolume) {
        ObjectNode resources = container.has("resources") ? (ObjectNode) container.get("resources")
                : container.putObject("resources");
        JsonNode limits = resources.path("limits");
        if (limits.isObject() && !limits.isEmpty()) {
            ObjectNode requests = resources.has("requests") ? (ObjectNode) resources.get("requests")
                    : resources.putObject("requests");
            limits.fields().forEachRemaining(l -> {
                if (!requests.has(l.getKey())) {
                    requests.set(l.getKey(), l.getValue());
                }
            });
        }
        for (JsonNode port : container.path("ports")) {
            putIfAbsent((ObjectNode) port, "protocol", "TCP");
        }
        for (String probe : List.of("readinessProbe", "livenessProbe", "startupProbe")) {
            if (container.has(probe)) {
                ObjectNode p = (ObjectNode) container.get(probe);
                if (p.has("httpGet")) {
                    putIfAbsent((ObjectNode) p.get("httpGet"), "scheme", "HTTP");
                }
                for (String[] d : new String[][] {{"timeoutSeconds", "1"}, {"periodSeconds", "10"},
                        {"successThreshold", "1"}, {"failureThreshold", "3"}}) {
                    if (!p.has(d[0])) {
                        p.put(d[0], Integer.parseInt(d[1]));
                    }
                }
            }
        }
        if (tokenVolume != null) {
            ArrayNode mounts = container.has("volumeMounts") ? (ArrayNode) container.get("volumeMounts")
                    : container.putArray("volumeMounts");
            boolean mounted = false;
            for (JsonNode m : mounts) {
                mounted |= SERVICE_ACCOUNT_MOUNT.equals(m.path("mountPath").asText());
            }
            if (!mounted) {
                mounts.addObject().put("name", tokenVolume).put("readOnly", true).put("mountPath", SERVICE_ACCOUNT_MOUNT);
            }
        }
        putIfAbsent(container, "terminationMessagePath", "/dev/termination-log");
        putIfAbsent(container, "terminationMessagePolicy", "File");
        putIfAbsent(container, "imagePullPolicy", defaultPullPolicy(container.path("image").asText()));
    }

    /** {@code Always} for {@code :latest} or an untagged image, else {@code IfNotPresent}. */
    static String defaultPullPolicy(String image) {
        if (image.contains("@")) {
            return "IfNotPresent";
        }
        int slash = image.lastIndexOf('/');
        int colon = image.lastIndexOf(':');
        if (colon <= slash) {
            return "Always";
        }
        return image.substring(colon + 1).equals("latest") ? "Always" : "IfNotPresent";
    }

    static String qosClass(JsonNode spec) {
        boolean any = false;
        boolean guaranteed = true;
        for (String list : List.of("initContainers", "containers")) {
            for (JsonNode c : spec.path(list)) {
                JsonNode requests = c.path("resources").path("requests");
                JsonNode limits = c.path("resources").path("limits");
                any |= !requests.isEmpty() || !limits.isEmpty();
                for (String r : List.of("cpu", "memory")) {
                    if (!limits.has(r) || !requests.has(r)
                            || amount(limits.path(r).asText()).compareTo(amount(requests.path(r).asText())) != 0) {
                        guaranteed = false;
                    }
                }
            }
        }
        return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
    }

    /**
     * The 422 causes of a pod update that changes more than a pod allows. {@code updated} keeps its own status and
     * metadata; only the spec is compared.
     */
    static List<Cause> validatePodUpdate(JsonNode current, JsonNode updated) {
        List<Cause> causes = new ArrayList<>();
        JsonNode oldSpec = current.path("spec");
        ObjectNode masked = updated.path("spec").deepCopy();
        for (String list : List.of("containers", "initContainers")) {
            JsonNode oldList = oldSpec.path(list);
            JsonNode newList = masked.path(list);
            if (oldList.size() == newList.size()) {
                for (int i = 0; i < newList.size(); i++) {
                    if (oldList.get(i).has("image")) {
                        ((ObjectNode) newList.get(i)).set("image", oldList.get(i).get("image"));
                    }
                }
            }
        }
        JsonNode oldDeadline = oldSpec.path("activeDeadlineSeconds");
        JsonNode newDeadline = masked.path("activeDeadlineSeconds");
        if (!newDeadline.isMissingNode() && !newDeadline.isNull()) {
            long value = newDeadline.asLong();
            if (value < 1 || value > Integer.MAX_VALUE) {
                causes.add(Cause.invalid("spec.activeDeadlineSeconds", value, "must be between 1 and 2147483647, inclusive"));
            } else if (!oldDeadline.isMissingNode() && !oldDeadline.isNull() && value > oldDeadline.asLong()) {
                causes.add(Cause.invalid("spec.activeDeadlineSeconds", value, "must be less than or equal to previous value"));
            }
            if (oldDeadline.isMissingNode() || oldDeadline.isNull()) {
                masked.remove("activeDeadlineSeconds");
            } else {
                masked.set("activeDeadlineSeconds", oldDeadline);
            }
        }
        if (isSuperset(masked.path("tolerations"), oldSpec.path("tolerations"))) {
            if (oldSpec.has("tolerations")) {
                masked.set("tolerations", oldSpec.get("tolerations"));
            } else {
                masked.remove("tolerations");
            }
        }
        if (oldSpec.path("terminationGracePeriodSeconds").asLong(0) < 0
                && masked.path("terminationGracePeriodSeconds").asLong(0) == 1) {
            masked.set("terminationGracePeriodSeconds", oldSpec.get("terminationGracePeriodSeconds"));
        }
        if (!causes.isEmpty()) {
            return causes;
        }
        if (!masked.equals(oldSpec)) {
            causes.add(Cause.forbidden("spec", FORBIDDEN_POD_UPDATE + "\n" + specDiff(oldSpec, masked)));
        }
        return causes;
    }

    private static boolean isSuperset(JsonNode larger, JsonNode smaller) {
        if (!smaller.isMissingNode() && !smaller.isArray()) {
            return false;
        }
        List<JsonNode> pool = new ArrayList<>();
        larger.forEach(pool::add);
        for (JsonNode t : smaller) {
            if (!pool.remove(t)) {
                return false;
            }
        }
        return true;
    }

    /** A plain field diff in place of the Go struct diff the real server appends (see the README). */
    private static String specDiff(JsonNode oldSpec, JsonNode newSpec) {
        StringBuilder diff = new StringBuilder("  core.PodSpec{\n");
        Set<String> fields = new java.util.TreeSet<>();
        oldSpec.fieldNames().forEachRemaining(fields::add);
        newSpec.fieldNames().forEachRemaining(fields::add);
        for (String field : fields) {
            JsonNode a = oldSpec.path(field);
            JsonNode b = newSpec.path(field);
            if (!a.equals(b)) {
                diff.append("- \t").append(field).append(": ").append(a.isMissingNode() ? "nil" : a).append(",\n");
                diff.append("+ \t").append(field).append(": ").append(b.isMissingNode() ? "nil" : b).append(",\n");
            }
        }
        return diff.append("  }\n").toString();
    }

    // -------------------------------------------------------------------------------------------- services ---

    static List<Cause> validateService(ObjectNode service) {
        List<Cause> causes = validateMetadata(service.path("metadata"), KubernetesNames::dns1035LabelErrors);
        JsonNode spec = service.path("spec");
        String type = spec.path("type").asText("ClusterIP");
        if (!type.equals("ExternalName") && spec.path("ports").isEmpty() && !"None".equals(spec.path("clusterIP").asText())) {
            causes.add(Cause.required("spec.ports"));
        }
        Set<String> names = new HashSet<>();
        int i = 0;
        for (JsonNode port : spec.path("ports")) {
            String at = "spec.ports[" + i++ + "]";
            if (port.has("name")) {
                String name = port.path("name").asText();
                KubernetesNames.dns1123LabelErrors(name).forEach(d -> causes.add(Cause.invalid(at + ".name", name, d)));
                if (!names.add(name)) {
                    causes.add(Cause.duplicate(at + ".name", name));
                }
            } else if (spec.path("ports").size() > 1) {
                causes.add(Cause.required(at + ".name"));
            }
            int number = port.path("port").asInt(0);
            if (number < 1 || number > 65535) {
                causes.add(Cause.invalid(at + ".port", number, "must be between 1 and 65535, inclusive"));
            }
        }
        return causes;
    }

    static void defaultService(ObjectNode service, String clusterIp) {
        ObjectNode spec = service.has("spec") ? (ObjectNode) service.get("spec") : service.putObject("spec");
        for (JsonNode port : spec.path("ports")) {
            ObjectNode p = (ObjectNode) port;
            putIfAbsent(p, "protocol", "TCP");
            if (!p.has("targetPort")) {
                p.set("targetPort", p.get("port"));
            }
        }
        putIfAbsent(spec, "type", "ClusterIP");
        if (!spec.has("clusterIP")) {
            spec.put("clusterIP", clusterIp);
        }
        if (!spec.has("clusterIPs")) {
            spec.putArray("clusterIPs").add(spec.get("clusterIP").asText());
        }
        putIfAbsent(spec, "sessionAffinity", "None");
        if (!spec.has("ipFamilies")) {
            spec.putArray("ipFamilies").add("IPv4");
        }
        putIfAbsent(spec, "ipFamilyPolicy", "SingleStack");
        putIfAbsent(spec, "internalTrafficPolicy", "Cluster");
        service.putObject("status").putObject("loadBalancer");
    }

    private static void putIfAbsent(ObjectNode node, String field, String value) {
        if (!node.has(field) || node.get(field).isNull()) {
            node.put(field, value);
        }
    }
}
