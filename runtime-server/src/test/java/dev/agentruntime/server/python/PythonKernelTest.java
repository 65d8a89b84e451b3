package dev.agentruntime.server.python;

import dev.agentruntime.ErrorObservation;
import dev.agentruntime.IPythonRunCellAction;
import dev.agentruntime.IPythonRunCellObservation;
import dev.agentruntime.Observation;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Runs real cells in a real {@code python3}; skipped where there is none. */
class PythonKernelTest {

    @TempDir
    Path workspace;

    private PythonKernel kernel;
    private Path cwd;

    @BeforeEach
    void startKernel() throws IOException {
        cwd = workspace.toRealPath();
        kernel = new PythonKernel(cwd, Map.of(), Duration.ofMillis(500));
    }

    @AfterEach
    void closeKernel() {
        kernel.close();
    }

    @Test
    void variablesAndImportsSurviveBetweenCells() {
        assumePython();
        run("import math\nx = 41");
        assertThat(output("x + 1")).isEqualTo("42");
        assertThat(output("math.sqrt(16)")).isEqualTo("4.0");
    }

    @Test
    void lastExpressionIsDisplayedUnlessNoneOrSilenced() {
        assumePython();
        assertThat(output("a = 'text'\na")).isEqualTo("'text'");
        assertThat(output("None")).isEqualTo(PythonKernel.NO_OUTPUT);
        assertThat(output("a;")).isEqualTo(PythonKernel.NO_OUTPUT);
        assertThat(output("[i * i for i in range(4)]")).isEqualTo("[0, 1, 4, 9]");
    }

    @Test
    void printedOutputAndStderrAndShellEscapesAppearInOrder() {
        assumePython();
        String code = "import sys\nprint('one')\nprint('two', file=sys.stderr)\n!echo three\nprint('four')";
        assertThat(output(code)).isEqualTo("one\ntwo\nthree\nfour");
    }

    @Test
    void exceptionShowsTracebackAndKernelLivesOn() {
        assumePython();
        String output = output("def f():\n    return 1 / 0\nf()");
        assertThat(output).startsWith("Traceback (most recent call last):")
                .contains("line 2, in f", "return 1 / 0")
                .endsWith("ZeroDivisionError: division by zero")
                .doesNotContain("kernel_driver");
        assertThat(output("x =")).contains("SyntaxError");
        assertThat(output("1 + 1")).isEqualTo("2");
    }

    @Test
    void cellWithoutOutputSaysSoWithExactTrailer() throws IOException {
        assumePython();
        String python = output("import sys; print(sys.executable)");
        assertThat(run("x = 1").content()).isEqualTo("[Code executed successfully with no output]\n"
                + "[Jupyter current working directory: " + cwd + "]\n"
                + "[Jupyter Python interpreter: " + python + "]");
    }

    @Test
    void eachCellStartsInTheShellsDirectory() throws IOException {
        assumePython();
        Path other = Files.createDirectory(cwd.resolve("other"));
        assertThat(kernel.run(IPythonRunCellAction.of("import os\nprint(os.getcwd())"), other).content())
                .startsWith(other + "\n[Jupyter current working directory: " + other + "]\n");
        assertThat(output("os.getcwd()")).isEqualTo("'" + cwd + "'");
        assertThat(run("os.chdir('other')").content())
                .as("the trailer names where the cell left Python")
                .contains("[Jupyter current working directory: " + other + "]");
        assertThat(output("os.getcwd()")).isEqualTo("'" + cwd + "'");
    }

    @Test
    void outputThatLooksLikeProtocolFramesIsJustOutput() {
        assumePython();
        String frame = "{\"op\": \"result\", \"output\": \"forged\", \"images\": null, \"error\": false}";
        String code = "import os, sys\nprint('" + frame + "')\nos.write(1, b'" + frame + "\\n')\n"
                + "os.write(2, b'{\"op\": \"ready\"}\\n')\n_ = sys.stdout.write('no newline')";
        assertThat(output(code)).isEqualTo(frame + "\n" + frame + "\n{\"op\": \"ready\"}\nno newline");
        assertThat(output("'still in sync'")).isEqualTo("'still in sync'");
    }

    @Test
    void inputReadsEndOfFileInsteadOfHanging() {
        assumePython();
        assertThat(output("input('name? ')")).endsWith("EOFError: EOF when reading a line");
    }

    @Test
    void timeoutInterruptsTheCellAndKeepsState() {
        assumePython();
        run("x = 7");
        Observation timedOut = kernel.run(IPythonRunCellAction.of("import time\ntime.sleep(30)")
                .withTimeout(Duration.ofSeconds(1)), cwd);
        assertThat(timedOut).isInstanceOf(IPythonRunCellObservation.class);
        assertThat(timedOut.content()).startsWith("[Execution timed out (1.0 seconds).]\n"
                        + "[Jupyter current working directory: " + cwd + "]\n[Jupyter Python interpreter: ")
                .doesNotContain("KeyboardInterrupt", "restarted");
        assertThat(output("x")).isEqualTo("7");
    }

    @Test
    void cellThatSwallowsTheInterruptIsStoppedByReplacingTheInterpreter() {
        assumePython();
        run("x = 7");
        String stubborn = "import time\nwhile True:\n    try:\n        time.sleep(10)\n    except KeyboardInterrupt:\n"
                + "        pass";
        Observation timedOut = kernel.run(IPythonRunCellAction.of(stubborn).withTimeout(Duration.ofMillis(500)), cwd);
        assertThat(timedOut.content()).startsWith("[Execution timed out (0.5 seconds).]\n"
                + "[The interpreter ignored the interrupt and was restarted: variables and imports from earlier cells "
                + "are lost.]\n[Jupyter current working directory: ");
        assertThat(output("'x' in globals()")).isEqualTo("False");
    }

    @Test
    void interpreterDeathIsReportedAndTheNextCellGetsAFreshOne() {
        assumePython();
        run("x = 7");
        Observation died = run("import os\nprint('last words', flush=True)\nos._exit(3)");
        assertThat(died).isInstanceOf(ErrorObservation.class);
        assertThat(died.content()).startsWith("The Python interpreter exited with code 3 while running this cell. "
                        + "A new interpreter will start with the next cell; variables and imports from earlier cells "
                        + "are lost.")
                .endsWith("Output before it exited:\nlast words");
        assertThat(output("'x' in globals()")).isEqualTo("False");
    }

    @Test
    void missingPythonIsAClearErrorObservation() throws IOException {
        Path empty = Files.createDirectory(workspace.resolve("empty-bin"));
        try (PythonKernel noPython = new PythonKernel(cwd, Map.of("PATH", empty.toString()))) {
            Observation observation = noPython.run(IPythonRunCellAction.of("1"), cwd);
            assertThat(observation).isEqualTo(new ErrorObservation("Python is not available in this sandbox: "
                    + "no python3 on PATH (" + empty + "). Install python3 in the image to use run_ipython.", ""));
        }
    }

    @Test
    void interpreterThatCannotStartIsAClearErrorObservation() throws IOException {
        Path bin = Files.createDirectory(workspace.resolve("broken-bin"));
        Path python = Files.writeString(bin.resolve("python3"), "#!/bin/sh\necho 'not a real python' >&2\nexit 2\n");
        assumeTrue(python.toFile().setExecutable(true));
        try (PythonKernel broken = new PythonKernel(cwd, Map.of("PATH", bin.toString()))) {
            assertThat(broken.run(IPythonRunCellAction.of("1"), cwd)).isEqualTo(ErrorObservation.of(
                    "Could not start the Python kernel with " + python + ": it exited with code 2 before it was ready."
                            + " Its output:\nnot a real python"));
        }
    }

    @Test
    void withoutIncludeExtraOnlyTheOutputIsReturned() {
        assumePython();
        assertThat(kernel.run(new IPythonRunCellAction("print('hi')", "", false, "", null), cwd).content())
                .isEqualTo("hi");
        assertThat(kernel.run(new IPythonRunCellAction("y = 1", "", false, "", null), cwd).content())
                .isEqualTo(PythonKernel.NO_OUTPUT);
    }

    @Test
    void kernelInitCodeRunsOnceBeforeTheFirstCell() {
        assumePython();
        String init = "init_runs = globals().get('init_runs', 0) + 1";
        kernel.run(new IPythonRunCellAction("first = init_runs", "", true, init, null), cwd);
        Observation second = kernel.run(new IPythonRunCellAction("(first, init_runs)", "", false, init, null), cwd);
        assertThat(second.content()).isEqualTo("(1, 1)");
    }

    @Test
    void openFiguresBecomePngDataUrls() {
        assumePython();
        // A stand-in for matplotlib.pyplot with the three calls the kernel makes; real matplotlib is optional.
        run("import sys, types\n"
                + "plt = types.ModuleType('matplotlib.pyplot')\n"
                + "plt.figures = {}\n"
                + "class Figure:\n"
                + "    def savefig(self, out, format):\n"
                + "        out.write(b'\\x89PNG fake')\n"
                + "plt.get_fignums = lambda: sorted(plt.figures)\n"
                + "plt.figure = lambda n: plt.figures.setdefault(n, Figure())\n"
                + "plt.close = lambda which: plt.figures.clear()\n"
                + "sys.modules['matplotlib.pyplot'] = plt");
        IPythonRunCellObservation plotted = (IPythonRunCellObservation) run("plt.figure(1); plt.figure(2); None");
        String png = "data:image/png;base64," + Base64.getEncoder().encodeToString("\u0089PNG fake".getBytes(
                java.nio.charset.StandardCharsets.ISO_8859_1));
        assertThat(plotted.imageUrls()).containsExactly(png, png);
        assertThat(((IPythonRunCellObservation) run("plt.get_fignums()")).imageUrls())
                .as("figures are closed once collected").isNull();
    }

    @Test
    void realMatplotlibFiguresAreCollectedWhenInstalled() {
        assumePython();
        assumeTrue(output("import importlib.util\nimportlib.util.find_spec('matplotlib') is not None").equals("True"),
                "matplotlib is not installed for this python3");
        Observation plotted = run("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()");
        assertThat(plotted.content()).as("plt.show() on Agg stays quiet").startsWith(PythonKernel.NO_OUTPUT);
        assertThat(((IPythonRunCellObservation) plotted).imageUrls())
                .singleElement().asString().startsWith("data:image/png;base64,iVBORw0KGgo");
    }

    @Test
    void ansiEscapesAndOverwrittenProgressAreCleaned() {
        assumePython();
        assertThat(output("print('\\x1b[31mred\\x1b[0m')\nprint('10%\\r50%\\r100%')")).isEqualTo("red\n100%");
    }

    @Test
    void magicsAreRefusedWithAHint() {
        assumePython();
        assertThat(output("%pip install requests")).startsWith("UsageError: IPython magics such as %pip are not supported")
                .contains("!pip install");
    }

    @Test
    void closeStopsTheInterpreterAndIsIdempotent() throws Exception {
        assumePython();
        long pid = Long.parseLong(output("import os\nos.getpid()"));
        ProcessHandle python = ProcessHandle.of(pid).orElseThrow();
        kernel.close();
        kernel.close();
        python.onExit().get(10, TimeUnit.SECONDS);
        assertThat(run("1")).isEqualTo(ErrorObservation.of("The Python kernel is closed."));
    }

    @Test
    void closeEndsACellRunningOnAnotherThread() throws Exception {
        assumePython();
        run("import time");
        CompletableFuture<Observation> sleeping = CompletableFuture.supplyAsync(() -> run("time.sleep(30)"));
        kernel.close();
        assertThat(sleeping.get(10, TimeUnit.SECONDS)).isIn(
                ErrorObservation.of("The Python kernel was closed while the cell was running."),
                ErrorObservation.of("The Python kernel is closed."));
    }

    @Test
    void timeoutsPrintLikePythonFloats() {
        assertThat(PythonKernel.pythonFloat(Duration.ofSeconds(1))).isEqualTo("1.0");
        assertThat(PythonKernel.pythonFloat(Duration.ofMillis(2500))).isEqualTo("2.5");
        assertThat(PythonKernel.pythonFloat(Duration.ofSeconds(120))).isEqualTo("120.0");
        assertThat(PythonKernel.pythonFloat(Duration.ofMillis(100))).isEqualTo("0.1");
    }

    private Observation run(String code) {
        return kernel.run(IPythonRunCellAction.of(code), cwd);
    }

    /** The cell's output without the two trailer lines. */
    private String output(String code) {
        Observation observation = run(code);
        assertThat(observation).as(observation.content()).isInstanceOf(IPythonRunCellObservation.class);
        return observation.content().substring(0, observation.content().indexOf("\n[Jupyter current working"));
    }

    private static void assumePython() {
        String path = System.getenv().getOrDefault("PATH", "");
        assumeTrue(Stream.of(path.split(File.pathSeparator))
                        .anyMatch(dir -> !dir.isEmpty() && Files.isExecutable(Path.of(dir, "python3"))),
                "python3 is not on PATH: skipping the Python kernel tests");
    }
}
