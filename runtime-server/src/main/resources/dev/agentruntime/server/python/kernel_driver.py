"""The Python side of dev.agentruntime.server.python.PythonKernel: one persistent interpreter, cells run one at a time.

Started as `python3 -u kernel_driver.py <capture-file>`. Frames are single JSON lines on private copies of the
original stdin/stdout (non-inheritable descriptors), so nothing a cell prints can reach them:

  in:  {"op": "run", "code": "...", "cwd": "/path" | null}    {"op": "interrupt"}
  out: {"op": "ready", "python": "..."}
       {"op": "result", "output": "...", "images": [...] | null, "error": bool, "cwd": "...", "python": "..."}

fd 0 becomes /dev/null (input() raises EOFError); fds 1 and 2 both point at <capture-file> opened O_APPEND, so
print(), C extensions and child processes land in one ordered stream that is truncated before each cell.
User code runs in the main thread; a reader thread forwards run requests and answers "interrupt" by sending
SIGINT to the main thread only, which raises KeyboardInterrupt there even inside time.sleep() or a blocking read.
When the server closes our stdin, the interpreter exits.
"""
import ast
import base64
import builtins
import io
import json
import linecache
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import traceback
import types

MAX_OUTPUT_BYTES = 1 << 20
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
OVERWRITTEN = re.compile(r"[^\n]*\r")  # a line rewritten after "\r", like progress bars

_requests = queue.Queue()
_running = False  # True only while user code runs: a late SIGINT must never hit the driver itself


def _on_sigint(signum, frame):
    if _running:
        raise KeyboardInterrupt


def _read_requests(frames_in, main_thread_id):
    for line in frames_in:
        try:
            request = json.loads(line)
        except ValueError:
            continue
        if request.get("op") == "interrupt":
            if _running:
                signal.pthread_kill(main_thread_id, signal.SIGINT)
        else:
            _requests.put(request)
    os._exit(0)  # the server closed our stdin: it has gone away or closed the kernel


def _shell(command):
    """`!command` lines: run through /bin/sh, output into the cell's stream; an interrupt kills the command."""
    sys.stdout.flush()
    sys.stderr.flush()
    child = subprocess.Popen(command, shell=True, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        child.wait()
    except BaseException:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        raise


def _display(*objects):
    for obj in objects:
        print(repr(obj))


def _translate_escapes(code):
    """IPython syntax in a cell that is not valid Python: `!cmd` lines become calls, magics are refused."""
    lines = []
    for line in code.splitlines():
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith("!"):
            lines.append(f"{indent}__kernel_shell__({stripped[1:]!r})")
        elif stripped.startswith("%"):
            magic = stripped.split()[0]
            raise UsageError(
                f"IPython magics such as {magic} are not supported: this kernel runs plain Python. "
                "Use `!command` lines or the bash tool instead (e.g. `!pip install <package>`).")
        else:
            lines.append(line)
    return "\n".join(lines)


class UsageError(Exception):
    pass


class Kernel:
    def __init__(self, capture_fd, capture_path):
        self.capture_fd = capture_fd
        self.capture_path = capture_path
        self.count = 0
        self.loop = None
        module = types.ModuleType("__main__")
        module.__dict__.update({"__builtins__": builtins, "__kernel_shell__": _shell, "display": _display})
        sys.modules["__main__"] = module  # classes defined in cells pickle like in IPython
        self.namespace = module.__dict__

    def run(self, request):
        global _running
        self.count += 1
        filename = f"<ipython-input-{self.count}>"
        code = request["code"]
        os.ftruncate(self.capture_fd, 0)
        if request.get("cwd"):
            try:
                os.chdir(request["cwd"])
            except OSError:
                pass  # the shell's directory is gone: stay put, the reply names where we are
        error = False
        try:
            body, last = self.compile(code, filename)
        except (SyntaxError, UsageError) as e:
            error = True
            sys.stderr.write("".join(traceback.format_exception_only(type(e), e)))
        else:
            try:
                try:  # an interrupt can only arrive inside this block, so the handler below always sees it
                    _running = True
                    self.execute(body)
                    if last is not None:
                        value = self.execute(last)
                        if value is not None and not code.rstrip().endswith(";"):
                            self.namespace["_"] = value
                            print(repr(value))
                finally:
                    _running = False
            except BaseException as e:  # SystemExit and KeyboardInterrupt too: the kernel lives on
                error = True
                self.print_traceback(e)
        images = self.collect_figures()
        return {"op": "result", "output": self.read_output(), "images": images, "error": error,
                "cwd": _cwd(request.get("cwd")), "python": sys.executable}

    def compile(self, code, filename):
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        try:
            return self.split(ast.parse(code, filename), filename)
        except SyntaxError as not_python:
            try:
                return self.split(ast.parse(_translate_escapes(code), filename), filename)
            except SyntaxError:
                raise not_python from None

    @staticmethod
    def split(tree, filename):
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = compile(ast.Expression(tree.body.pop().value), filename, "eval", flags=flags)
        return compile(tree, filename, "exec", flags=flags), last

    def execute(self, code_object):
        result = eval(code_object, self.namespace)
        if code_object.co_flags & 0x80:  # CO_COROUTINE: the cell used top-level await
            import asyncio
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
            result = self.loop.run_until_complete(result)
        return result

    @staticmethod
    def print_traceback(exception):
        tb = exception.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next  # hide the driver's own frames
        sys.stdout.flush()
        sys.stderr.write("".join(traceback.format_exception(type(exception), exception, tb)))
        sys.stderr.flush()

    def collect_figures(self):
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is None:
            return None
        urls = []
        try:
            for number in pyplot.get_fignums():
                png = io.BytesIO()
                pyplot.figure(number).savefig(png, format="png")
                urls.append("data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii"))
            pyplot.close("all")
        except Exception as e:
            print(f"[Could not render matplotlib figures: {type(e).__name__}: {e}]", file=sys.stderr)
        return urls or None

    def read_output(self):
        sys.stdout.flush()
        sys.stderr.flush()
        size = os.fstat(self.capture_fd).st_size
        with open(self.capture_path, "rb") as f:
            if size <= MAX_OUTPUT_BYTES:
                data = f.read(size)
            else:
                half = MAX_OUTPUT_BYTES // 2
                head = f.read(half)
                f.seek(size - half)
                omitted = f"\n[... {size - 2 * half} bytes of output omitted ...]\n".encode()
                data = head + omitted + f.read(half)
        text = ANSI_ESCAPE.sub("", data.decode("utf-8", errors="replace"))
        return OVERWRITTEN.sub("", text.replace("\r\n", "\n"))  # keep what a terminal shows after "\r"


def _cwd(fallback):
    try:
        return os.getcwd()
    except OSError:  # the directory was removed under us
        return fallback or ""


def main():
    capture_path = sys.argv[1]
    frames_in = os.fdopen(os.dup(0), "rb")
    frames_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    capture_fd = os.open(capture_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(capture_fd, 1)
    os.dup2(capture_fd, 2)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="backslashreplace")

    os.environ["MPLBACKEND"] = "Agg"  # headless: figures are collected as PNGs after each cell
    import warnings
    warnings.filterwarnings("ignore", message=".*non-GUI backend.*")
    warnings.filterwarnings("ignore", message=".*is non-interactive, and thus cannot be shown.*")
    sys.path[0] = ""  # like IPython: import from the current directory, not from the driver's
    sys.argv = [""]

    kernel = Kernel(capture_fd, capture_path)
    signal.signal(signal.SIGINT, _on_sigint)
    threading.Thread(target=_read_requests, args=(frames_in, threading.get_ident()),
                     name="kernel-requests", daemon=True).start()

    def send(frame):
        frames_out.write(json.dumps(frame) + "\n")
        frames_out.flush()

    send({"op": "ready", "python": sys.executable})
    while True:
        send(kernel.run(_requests.get()))


if __name__ == "__main__":
    main()
