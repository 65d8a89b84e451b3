package dev.agentruntime;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/** Runs a cell of Python code in the sandbox's persistent interpreter (wire type {@code run_ipython}). */
public record IPythonRunCellAction(String code, String thought, boolean includeExtra, String kernelInitCode,
                                   Duration hardTimeout) implements Action {

    public IPythonRunCellAction {
        Objects.requireNonNull(code, "code");
        thought = thought == null ? "" : thought;
        kernelInitCode = kernelInitCode == null ? "" : kernelInitCode;
    }

    public static IPythonRunCellAction of(String code) {
        return new IPythonRunCellAction(code, "", true, "", null);
    }

    public IPythonRunCellAction withTimeout(Duration timeout) {
        return new IPythonRunCellAction(code, thought, includeExtra, kernelInitCode, timeout);
    }

    @Override
    public String type() {
        return "run_ipython";
    }

    @Override
    public Optional<Duration> timeout() {
        return Optional.ofNullable(hardTimeout);
    }

    @Override
    public String message() {
        return "Running Python code interactively: " + code;
    }
}
