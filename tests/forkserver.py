"""Plugin runs forked from a loaded interpreter, each one the process `python -m MODULE ARGS` would be.

A fresh interpreter pays ~0.3 s to start and import a plugin before it does anything; the tests
run a thousand plugins. The fork server is one interpreter started as an engine starts a plugin
(a clean environment, LANG=C.UTF-8, PYTHONPATH=plugins, standard streams on pipes) that imports
the plugins and the libraries they import lazily (worker.registry.preload, as `cxcheck worker`
does), then only forks: each run is a child of that untouched interpreter, never of the test
process, so nothing a test did (monkeypatches, registered secrets, log handlers, threads of
fixture servers, pytest's own hooks) can reach it, and nothing one run does reaches the next.
The child takes what a process of its own would get (argv, environment, working directory,
umask, rlimits, standard streams on pipes) and runs the module as `python -m` does
(runpy._run_module_as_main), then leaves as the interpreter does (non-daemon threads joined,
atexit handlers, streams flushed, the exit code of SystemExit, SIGINT re-raised).

What a fork cannot be is the start of an interpreter: runs whose environment changes how one
starts (PYTHON*, LANG, LC_*) are left to real processes by the caller (conftest.run_plugin).
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import threading
import time

MAX_MESSAGE = 1 << 20
# The environment variables an interpreter reads once, at its start: a run that sets them needs one.
STARTUP_VARIABLES = ("PYTHON", "LANG", "LC_")


# ---------------------------------------------------------------------------------------------
# The server: runs in its own interpreter (started by ForkServer.start)


def serve(control_fd: int):
    """Preload, say ready, then fork one child per job until the test process goes away."""
    import gc

    control = socket.socket(fileno=control_fd)
    from cxcheck.worker.registry import preload

    missing = preload()
    for name in ("cxcheck.cli", "selenium.webdriver"):      # the umbrella command, the browser
        try:
            __import__(name)
        except Exception as exc:                             # a run that needs it fails as a process would
            missing.append(f"{name} ({type(exc).__name__}: {exc})")
    gc.collect()
    gc.freeze()             # the children never scan (and so never copy) what the imports made
    control.send(json.dumps({"ready": os.getpid(), "missing": missing}).encode())
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ, None)
    running = {}            # pidfd -> (pid, job channel)
    while True:
        for key, _ in selector.select():
            if key.data is None:
                message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 4)
                if not message:
                    for pid, _channel in running.values():
                        _kill(pid)
                    return
                _start(json.loads(message), fds, selector, running)
            else:
                pid, channel = running.pop(key.fd)
                selector.unregister(key.fd)
                os.close(key.fd)
                _, status, usage = os.wait4(pid, 0)
                _send(channel, {"code": os.waitstatus_to_exitcode(status), "cpu": usage.ru_utime + usage.ru_stime})
                channel.close()


def _start(job: dict, fds: list[int], selector, running: dict):
    channel = socket.socket(fileno=fds[0])
    try:
        pid = os.fork()
    except OSError as exc:
        for fd in fds[1:]:
            os.close(fd)
        _send(channel, {"error": f"fork: {exc}"})
        channel.close()
        return
    if pid == 0:
        _child(job, fds[1:])                # never returns
    for fd in fds[1:]:
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    running[pidfd] = (pid, channel)
    selector.register(pidfd, selectors.EVENT_READ, pid)
    _send(channel, {"pid": pid})


def _send(channel: socket.socket, message: dict):
    try:
        channel.send(json.dumps(message).encode())
    except OSError:                         # the test gave up on this run (its timeout)
        pass


def _kill(pid: int):
    try:
        os.kill(pid, 9)
    except OSError:
        pass


def _child(job: dict, fds: list[int]):
    """The run's own process: the job's streams on 0, 1 and 2, nothing else open, its
    environment, directory, umask and limits, then the module as `python -m` runs it."""
    import resource

    code = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        _standard_streams()
        os.environ.clear()
        os.environ.update(job["env"])
        time.tzset()
        os.chdir(job["cwd"])
        os.umask(job["umask"])
        for name, limits in job["rlimits"].items():
            which = getattr(resource, name)
            if resource.getrlimit(which) != tuple(limits):
                resource.setrlimit(which, tuple(limits))
        sys.path[0] = os.getcwd()           # what -m puts first
        sys.argv = ["-m", *job["args"]]
        sys.orig_argv = [sys.executable, "-m", job["module"], *job["args"]]
        code = _run_as_main(job["module"])
    except BaseException:                   # the set-up failed: say so where the test reads stderr
        import traceback

        os.write(2, traceback.format_exc().encode("utf-8", "replace"))
    finally:
        os._exit(code)


def _standard_streams():
    """sys.stdin, stdout and stderr made again on the new 0, 1 and 2, as the interpreter makes
    them at its start (create_stdio): a text stream caches what its file was (seekable or not:
    /dev/null is, a pipe is not), so the server's, made on pipes, would not do for /dev/null."""
    import io

    made = []
    for fd, old in enumerate((sys.__stdin__, sys.__stdout__, sys.__stderr__)):
        buffer = open(fd, "rb" if fd == 0 else "wb", -1, closefd=False)
        buffer.raw.name = old.buffer.raw.name
        stream = io.TextIOWrapper(buffer, old.encoding, old.errors, "\n", old.line_buffering, old.write_through)
        stream.mode = old.mode
        made.append(stream)
    sys.stdin, sys.stdout, sys.stderr = sys.__stdin__, sys.__stdout__, sys.__stderr__ = made


def _run_as_main(module: str) -> int:
    """The module as `python -m` runs it, and the interpreter's way out (Py_RunMain, Py_FinalizeEx)."""
    import atexit
    import runpy
    import signal

    from cxcheck.worker.child import _exit_code  # SystemExit's code as the interpreter takes it

    code = 0
    try:
        _forget(module)
        runpy._run_module_as_main(module, alter_argv=True)
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except KeyboardInterrupt as exc:
        _print_uncaught(exc)
        code = -signal.SIGINT
    except BaseException as exc:
        _print_uncaught(exc)
        code = 1
    threading._shutdown()                   # non-daemon threads are waited for
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            code = 120                      # what the interpreter exits with when it cannot flush
    if code == -signal.SIGINT:              # an uncaught Ctrl-C ends the process by the signal
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return code


def _forget(module: str):
    """The module -m runs was imported by the preload; a process has not imported it (runpy warns
    when it has): out of sys.modules and of its package."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):       # runpy says what is wrong, as it does in a process
        return
    if spec is None:
        return
    name = f"{module}.__main__" if spec.submodule_search_locations is not None else module
    if sys.modules.pop(name, None) is not None:
        package, _, leaf = name.rpartition(".")
        if package in sys.modules and hasattr(sys.modules[package], leaf):
            delattr(sys.modules[package], leaf)


def _print_uncaught(exc: BaseException):
    """The traceback the interpreter prints, from runpy's frame down (this module's left out)."""
    exc.__traceback__ = exc.__traceback__.tb_next
    sys.excepthook(type(exc), exc, exc.__traceback__)


# ---------------------------------------------------------------------------------------------
# The client: in the test process


class ForkServer:
    """The test process's handle on the server: start it once, then `run()` a module in a fork."""

    def __init__(self, env: dict, plugins_dir: str):
        self.env, self.plugins_dir = env, plugins_dir
        self.proc: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.lock = threading.Lock()
        self.chatter = bytearray()          # what the server itself wrote (nothing, unless it broke)
        self.missing: list[str] = []

    def start(self, timeout: float = 120):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        code = (f"import importlib.util as u; s = u.spec_from_file_location('forkserver', {__file__!r}); "
                f"m = u.module_from_spec(s); s.loader.exec_module(m); m.serve({theirs.fileno()})")
        self.proc = subprocess.Popen([sys.executable, "-c", code], env=self.env, pass_fds=[theirs.fileno()],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     cwd=self.plugins_dir)
        theirs.close()
        self.proc.stdin.close()         # its stdin a pipe, as a run's is: the streams the children keep
        threading.Thread(target=self._drain, daemon=True).start()
        ours.settimeout(timeout)
        try:
            ready = ours.recv(MAX_MESSAGE)
        except OSError:
            ready = b""
        if not ready:
            self.stop()
            raise RuntimeError(f"the fork server did not start: {self.chatter.decode(errors='replace')}")
        ours.settimeout(None)
        self.control = ours
        self.missing = json.loads(ready)["missing"]

    def _drain(self):
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
            self.chatter += chunk

    def stop(self):
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def run(self, module: str, args: list[str], env: dict, stdin: bytes | None, timeout: float,
            cwd: str | None = None) -> tuple[int, bytes, bytes, float]:
        """(exit code, stdout, stderr, CPU seconds) of `python -m module *args`;
        subprocess.TimeoutExpired after killing it, as subprocess.run does."""
        import resource

        job = {"module": module, "args": list(args), "env": env, "cwd": os.path.abspath(cwd or "."), "umask": _umask(),
               "rlimits": {name: resource.getrlimit(getattr(resource, name))
                           for name in dir(resource) if name.startswith("RLIMIT_")}}
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if stdin is None:
            stdin_r, stdin_w = os.open(os.devnull, os.O_RDONLY), None
        else:
            stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            with self.lock:
                socket.send_fds(self.control, [json.dumps(job).encode()], [theirs.fileno(), stdin_r, out_w, err_w])
        finally:
            for fd in (theirs.fileno(), stdin_r, out_w, err_w):
                os.close(fd)
            theirs.detach()
        with ours:
            return _collect(ours, stdin_w, stdin or b"", out_r, err_r, timeout, [module, *args])


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _collect(channel, stdin_w, data: bytes, out_r: int, err_r: int, timeout: float, command) -> tuple:
    """Feed stdin, read both streams to their end and the exit code from the channel, within timeout."""
    deadline = time.monotonic() + timeout
    output = {out_r: bytearray(), err_r: bytearray()}
    selector = selectors.DefaultSelector()
    for fd in output:
        selector.register(fd, selectors.EVENT_READ)
    selector.register(channel, selectors.EVENT_READ)
    if stdin_w is not None:
        if data:
            os.set_blocking(stdin_w, False)
            selector.register(stdin_w, selectors.EVENT_WRITE)
        else:
            os.close(stdin_w)
    pid, code, cpu, sent = None, None, 0.0, 0
    try:
        while len(selector.get_map()) > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                if pid is not None:
                    _kill(pid)
                _wait_code(channel, 10)
                raise subprocess.TimeoutExpired(command, timeout, bytes(output[out_r]), bytes(output[err_r]))
            for key, _ in selector.select(left):
                if key.fd == stdin_w:
                    try:
                        sent += os.write(stdin_w, data[sent:sent + 65536])
                    except BrokenPipeError:     # the plugin stopped reading: as communicate() does
                        sent = len(data)
                    if sent >= len(data):
                        selector.unregister(stdin_w)
                        os.close(stdin_w)
                        stdin_w = None
                elif key.fileobj is channel:
                    message = channel.recv(MAX_MESSAGE)
                    if not message:
                        selector.unregister(channel)
                        continue
                    answer = json.loads(message)
                    if "error" in answer:
                        raise OSError(answer["error"])
                    pid = answer.get("pid", pid)
                    code, cpu = answer.get("code", code), answer.get("cpu", cpu)
                else:
                    chunk = os.read(key.fd, 65536)
                    if chunk:
                        output[key.fd] += chunk
                    else:
                        selector.unregister(key.fd)
    finally:
        selector.close()
        for fd in (out_r, err_r, stdin_w):
            if fd is not None:
                os.close(fd)
    if code is None:
        raise RuntimeError(f"the fork server went away during {command}")
    return code, bytes(output[out_r]), bytes(output[err_r]), cpu


def _wait_code(channel, seconds: float):
    channel.settimeout(seconds)
    try:
        while channel.recv(MAX_MESSAGE):
            pass
    except OSError:
        pass
