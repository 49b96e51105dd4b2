"""Warm children that run checks one after another: the worker's default.

A fresh fork per check pays, on top of the fork, for every page the run writes being copied
from the parent (CPython writes reference counts into every object it touches) and for the cold
caches of code run for the first time in that process: more than the check itself costs. A
runner pays that once for many checks (--jobs-per-child, 1000). Between two checks it puts
back what a check changes in a process (isolation.py); a check that leaves what cannot be put
back (a descriptor, a thread, a child process), or that leaves the process (its deadline's hard
exit, a crash), ends the runner, and its job is answered from the exit status, as a child's.
Idle runners are reused most recent first (their caches are warm) and let go after IDLE_LIMIT.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import traceback

from cxcheck.worker.child import Child, detach, flush_stdio, run_main
from cxcheck.worker.registry import plugin_for

MAX_MESSAGE = 1 << 20
IDLE_LIMIT = 120.0          # seconds a runner may wait for a job before it is let go
AUDIT = "CXCHECK_WORKER_AUDIT"


class Runner:
    """The parent's handle on a runner: its pid, its control socket, how many jobs it ran."""

    __slots__ = ("pid", "sock", "jobs", "child", "idle_since")

    def __init__(self, pid: int, sock: socket.socket):
        self.pid, self.sock, self.jobs, self.child, self.idle_since = pid, sock, 0, None, 0.0

    def submit(self, argv: list[str], env: dict[str, str]) -> Child:
        """Hand a job over with the write ends of its two pipes; OSError if the runner is gone."""
        message = json.dumps({"argv": argv, "env": env}).encode("utf-8", "surrogateescape")
        if len(message) > MAX_MESSAGE:
            raise OSError(f"job of {len(message)} bytes, more than a runner takes")
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
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

    def done(self) -> dict | None:
        """What the runner says of the job just finished: code, cpu, left (what it could not put
        back); None if the runner is gone."""
        try:
            message = self.sock.recv(65536)
        except OSError:
            message = b""
        if not message:
            return None
        self.jobs += 1
        return json.loads(message)

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
    from cxcheck.worker.isolation import Baseline, changed_state, module_state

    null_w = os.open(os.devnull, os.O_WRONLY)
    detach(null_w, null_w, keep=sock.fileno())
    null_w = os.open(os.devnull, os.O_WRONLY)
    baseline = Baseline()
    audit = module_state() if os.environ.get(AUDIT) else None
    while True:
        message, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 2)
        if not message:
            return 0
        job = json.loads(message.decode("utf-8", "surrogateescape"))
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in fds:
            os.close(fd)
        baseline.apply_env(job["env"])
        argv = job["argv"]
        before = os.times()
        plugin = plugin_for(argv[0], plugins)
        code = run_main(plugin.main, argv) if plugin else 127
        after = os.times()
        os.dup2(null_w, 1)              # the job's pipes close: the parent reads their end
        os.dup2(null_w, 2)
        left = baseline.restore()
        if audit is not None:
            left += [f"module state {name}" for name in changed_state(audit, module_state())][:5]
        cpu = after.user - before.user + after.system - before.system
        sock.send(json.dumps({"code": code, "cpu": cpu, "left": left}).encode())
        if left:
            return 0


class Pool:
    """The runners: by pid while alive, the idle ones waiting for a job (the most recent last).
    `on_done(pid, code, cpu)` is told of each finished job; `log` of a runner let go early."""

    def __init__(self, plugins: dict, jobs_per_child: int, watch, unwatch, on_done, log=None):
        self.plugins, self.jobs_per_child = plugins, jobs_per_child
        self.watch, self.unwatch, self.on_done, self.log = watch, unwatch, on_done, log
        self.alive: dict[int, Runner] = {}
        self.idle: list[Runner] = []

    def run(self, argv: list[str], env: dict[str, str]) -> Child:
        """The job on the runner idle most recently, or a new one."""
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
        if answer["left"]:
            if self.log is not None:
                self.log(f"runner {runner.pid} let go after a check left {', '.join(answer['left'])}")
            self._let_go(runner)
        elif runner.jobs >= self.jobs_per_child:
            self._let_go(runner)
        else:
            runner.idle_since = time.monotonic()
            self.idle.append(runner)
        self.on_done(runner.pid, answer["code"], answer["cpu"])
        return None

    def expire(self):
        """Let go of the runners idle for longer than IDLE_LIMIT (the oldest are first)."""
        limit = time.monotonic() - IDLE_LIMIT
        while self.idle and self.idle[0].idle_since <= limit:
            self._let_go(self.idle[0])

    def next_expiry(self) -> float | None:
        return self.idle[0].idle_since + IDLE_LIMIT if self.idle else None

    def _let_go(self, runner: Runner, reaped: bool = False):
        """The runner ends, and whatever a check left in its process group with it (unless it
        was reaped already: then its pid, the group's id, may have been reused)."""
        if runner in self.idle:
            self.idle.remove(runner)
        self.unwatch(runner.sock)
        runner.close()
        if not reaped:
            try:
                os.killpg(runner.pid, signal.SIGKILL)
            except OSError:
                pass

    def let_go_idle(self):
        for runner in list(self.idle):
            self._let_go(runner)

    def reaped(self, pid: int) -> bool:
        runner = self.alive.pop(pid, None)
        if runner is not None:
            self._let_go(runner, reaped=True)
        return runner is not None

    def pids(self) -> list[int]:
        return list(self.alive)
