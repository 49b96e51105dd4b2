"""Children that run several jobs one after another (--jobs-per-child N, N > 1).

A fresh fork per job pays, on top of the fork, for every page the run writes being copied from
the parent (CPython writes reference counts into every object it touches) and for the cold
caches of code run for the first time in that process: more than the check itself costs. A
runner pays that once for N jobs. Between two jobs it puts back what a plugin run changes: the
environment, sys.argv and the standard streams, the registered secrets, the log handlers, the
alarm, the working directory. A plugin that leaves the process (its deadline's hard exit, a
crash) ends the runner; its job is answered from its exit status, as a child's."""

from __future__ import annotations

import json
import logging
import os
import resource
import signal
import socket
import traceback

from cxcheck.worker.child import Child, detach, flush_stdio, run_main
from cxcheck.worker.registry import plugin_for

MAX_MESSAGE = 1 << 20


class Runner:
    """The parent's handle on a runner: its pid, its control socket, how many jobs it ran."""

    __slots__ = ("pid", "sock", "jobs", "child")

    def __init__(self, pid: int, sock: socket.socket):
        self.pid, self.sock, self.jobs, self.child = pid, sock, 0, None

    def submit(self, argv: list[str], env: dict[str, str]) -> Child:
        """Hand a job over with the write ends of its two pipes; OSError if the runner is gone."""
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            message = json.dumps({"argv": argv, "env": env}).encode()
            if len(message) > MAX_MESSAGE:
                raise OSError(f"job of {len(message)} bytes, more than a runner takes")
            socket.send_fds(self.sock, [message], [out_w, err_w])
        except BaseException:
            for fd in (out_r, err_r):
                os.close(fd)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        for fd in (out_r, err_r):
            os.set_blocking(fd, False)
        self.child = Child(self.pid, out_r, err_r)
        return self.child

    def done(self) -> tuple[int, float] | None:
        """(exit code, CPU seconds) of the job just finished; None if the runner is gone."""
        try:
            message = self.sock.recv(4096)
        except OSError:
            message = b""
        if not message:
            return None
        answer = json.loads(message)
        self.jobs += 1
        return answer["code"], answer["cpu"]

    def close(self):
        if self.sock.fileno() >= 0:
            self.sock.close()           # the runner reads the end of file and exits


def start(plugins: dict) -> Runner:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    flush_stdio()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            ours.close()
            code = _serve(theirs, plugins)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    theirs.close()
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    return Runner(pid, ours)


def _serve(sock: socket.socket, plugins: dict) -> int:
    null_w = os.open(os.devnull, os.O_WRONLY)
    detach(null_w, null_w, keep=sock.fileno())
    null_w = os.open(os.devnull, os.O_WRONLY)
    home, environ = os.getcwd(), dict(os.environ)
    from cxcheck.runtime import masker

    logger = logging.getLogger("cxcheck")
    handlers, level = list(logger.handlers), logger.level
    while True:
        message, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 2)
        if not message:
            return 0
        job = json.loads(message)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in fds:
            os.close(fd)
        os.environ.clear()
        os.environ.update(environ)
        os.environ.update(job["env"])
        argv = job["argv"]
        before = resource.getrusage(resource.RUSAGE_SELF)
        plugin = plugin_for(argv[0], plugins)
        code = run_main(plugin.main, argv) if plugin else 127
        after = resource.getrusage(resource.RUSAGE_SELF)
        # What the run changed goes back to how the runner started.
        masker.clear()
        logger.handlers[:] = handlers
        logger.setLevel(level)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        os.chdir(home)
        os.dup2(null_w, 1)              # the job's pipes close: the parent reads their end
        os.dup2(null_w, 2)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        sock.send(json.dumps({"code": code, "cpu": cpu}).encode())


class Pool:
    """The runners: by pid while alive, the idle ones waiting for a job. `on_done(pid, code,
    cpu)` is told of each finished job; a runner that ran its N jobs is let go (it exits)."""

    def __init__(self, plugins: dict, jobs_per_child: int, watch, unwatch, on_done):
        self.plugins, self.jobs_per_child = plugins, jobs_per_child
        self.watch, self.unwatch, self.on_done = watch, unwatch, on_done
        self.alive: dict[int, Runner] = {}
        self.idle: list[Runner] = []

    def run(self, argv: list[str], env: dict[str, str]) -> Child:
        """The job on an idle runner, or a new one."""
        while self.idle:
            runner = self.idle.pop()
            try:
                return runner.submit(argv, env)
            except OSError:
                self._let_go(runner)
        runner = start(self.plugins)
        self.alive[runner.pid] = runner
        self.watch(runner.sock, lambda: self._readable(runner))
        try:
            return runner.submit(argv, env)
        except OSError:
            self._let_go(runner)
            raise

    def _readable(self, runner: Runner):
        answer = runner.done()
        if answer is None:              # it died: its job, if any, is answered when it is reaped
            return self._let_go(runner)
        if runner.jobs >= self.jobs_per_child:
            self._let_go(runner)
        else:
            self.idle.append(runner)
        self.on_done(runner.pid, *answer)
        return None

    def _let_go(self, runner: Runner):
        if runner in self.idle:
            self.idle.remove(runner)
        self.unwatch(runner.sock)
        runner.close()

    def reaped(self, pid: int) -> bool:
        runner = self.alive.pop(pid, None)
        if runner is not None:
            self._let_go(runner)
        return runner is not None

    def pids(self) -> list[int]:
        return list(self.alive)
