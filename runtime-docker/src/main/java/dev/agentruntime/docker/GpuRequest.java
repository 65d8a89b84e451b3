package dev.agentruntime.docker;

import dev.agentruntime.InvalidConfigException;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * GPUs handed to a sandbox through Docker device requests (what {@code docker run --gpus} does; needs the NVIDIA
 * container toolkit on the daemon's host).
 *
 * <pre>{@code
 * GpuRequest.all();                  // --gpus all
 * GpuRequest.devices("0", "2");      // --gpus '"device=0,2"'
 * }</pre>
 *
 * @param deviceIds the device ids or UUIDs; empty means all GPUs
 */
public record GpuRequest(List<String> deviceIds) {

    public GpuRequest {
        deviceIds = List.copyOf(Objects.requireNonNull(deviceIds, "deviceIds"));
        for (String id : deviceIds) {
            if (id.isBlank()) {
                throw new InvalidConfigException("GPU device ids must not be blank: " + deviceIds);
            }
        }
    }

    /** Every GPU of the host. */
    public static GpuRequest all() {
        return new GpuRequest(List.of());
    }

    /** Only the listed GPUs (ids like {@code 0} or UUIDs like {@code GPU-3a23c669-...}). */
    public static GpuRequest devices(String... ids) {
        if (ids.length == 0) {
            throw new InvalidConfigException("GpuRequest.devices needs at least one device id; use GpuRequest.all()"
                    + " for every GPU");
        }
        return new GpuRequest(Arrays.asList(ids));
    }

    /** True when every GPU is requested. */
    public boolean allDevices() {
        return deviceIds.isEmpty();
    }

    /** Parses {@code all} or a comma-separated list of device ids (the {@code gpus} option). */
    public static GpuRequest parse(String value) {
        String trimmed = value.trim();
        if (trimmed.equalsIgnoreCase("all")) {
            return all();
        }
        String[] ids = Arrays.stream(trimmed.split(",")).map(String::trim).toArray(String[]::new);
        if (trimmed.isEmpty() || Arrays.stream(ids).anyMatch(String::isEmpty)) {
            throw new InvalidConfigException("gpus must be 'all' or a comma-separated list of device ids, was '"
                    + value + "'");
        }
        return devices(ids);
    }

    @Override
    public String toString() {
        return allDevices() ? "all" : String.join(",", deviceIds);
    }
}
