"""Warm children that run checks one after another: the worker's default.

A fresh fork per check pays, on top of the fork, for every page the run writes being copied
from the parent (CPython writes reference counts into every object it touches) and for the cold
caches of code run for the first time in that process: more than the check itself costs. A
runner pays that once for many checks (--jobs-per-child, 1000). Between two checks it puts
back what a check changes in a process (isolation.py); a check that leaves what cannot be put
back (a descriptor, a thread, a child process), or that leaves the process (its deadline's hard
exit, a crash), ends the runner, and its job is answered from the exit status, as a child's.
Idle runners are reused most recent first (their caches are warm) and let go after IDLE_LIMIT.
A check that finds every runner busy waits up to HOLD for one before another runner starts: a
few runners kept busy cost less per check than many taking turns (each starts cold), and a burst
of checks that each take long still gets a runner each within HOLD + GROWTH per runner.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import traceback

from cxcheck.worker.child import OUTPUT_CAP, detach, flush_stdio, run_main
from cxcheck.worker.registry import plugin_for

MAX_MESSAGE = 1 << 20
IDLE_LIMIT = 120.0          # seconds a runner may wait for a job before it is let go
HOLD = 0.25                 # seconds a check may wait for a warm runner before another one starts
GROWTH = 0.05               # seconds between two runners started for checks that waited
AUDIT = "CXCHECK_WORKER_AUDIT"


class Capture:
    """A job's output as a runner wrote it: the runner's stdout and stderr are two memory files
    the parent reads once the job is over (no pipes to make, pass and watch for each job)."""

    __slots__ = ("pid", "files", "fds", "output", "start", "started", "dropped")

    def __init__(self, pid: int, files: tuple[int, int]):
        self.pid, self.files, self.fds = pid, files, {}
        self.output = {1: bytearray(), 2: bytearray()}
        self.start, self.started = time.time(), time.monotonic()
        self.dropped = 0

    def drain(self):
        for stream, fd in zip((1, 2), self.files):
            try:
                size = os.fstat(fd).st_size
                self.output[stream][:] = os.pread(fd, min(size, OUTPUT_CAP), 0)
            except OSError:
                continue
            self.dropped += max(size - OUTPUT_CAP, 0)


class Runner:
    """The parent's handle on a runner: its pid, its control socket, its two output files, how
    many jobs it ran."""

    __slots__ = ("pid", "sock", "files", "jobs", "child", "idle_since")

    def __init__(self, pid: int, sock: socket.socket, files: tuple[int, int]):
        self.pid, self.sock, self.files = pid, sock, files
        self.jobs, self.child, self.idle_since = 0, None, 0.0

    def submit(self, argv: list[str], env: dict[str, str]) -> Capture:
        """Hand a job over; OSError if the runner is gone."""
        message = json.dumps({"argv": argv, "env": env}).encode()
        if len(message) > MAX_MESSAGE:
            raise OSError(f"job of {len(message)} bytes, more than a runner takes")
        self.sock.send(message)
        self.child = Capture(self.pid, self.files)
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

    def release(self):
        """Once its last job's output is read: the output files go."""
        for fd in self.files:
            try:
                os.close(fd)
            except OSError:
                pass
        self.files = (-1, -1)


def start(plugins: dict) -> Runner:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    files = (os.memfd_create("cxcheck-stdout"), os.memfd_create("cxcheck-stderr"))
    flush_stdio()
    try:
        pid = os.fork()
    except OSError:
        for fd in files:
            os.close(fd)
        ours.close()
        theirs.close()
        raise
    if pid == 0:
        code = 1
        try:
            ours.close()
            code = _serve(theirs, plugins, files)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    theirs.close()
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    return Runner(pid, ours, files)


def _serve(sock: socket.socket, plugins: dict, files: tuple[int, int]) -> int:
    from cxcheck.worker.isolation import Baseline, changed_state, module_state

    detach(*files, keep=sock.fileno())          # stdout and stderr: the two files, for good
    baseline = Baseline()
    audit = module_state() if os.environ.get(AUDIT) else None
    while True:
        message = sock.recv(MAX_MESSAGE)
        if not message:
            return 0
        job = json.loads(message)
        for fd in (1, 2):
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
        baseline.apply_env(job["env"])
        argv = job["argv"]
        before = time.process_time()
        plugin = plugin_for(argv[0], plugins)
        code = run_main(plugin.main, argv) if plugin else 127
        cpu = time.process_time() - before
        left = baseline.restore()
        if audit is not None:
            left += [f"module state {name}" for name in changed_state(audit, module_state())][:5]
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
        self.started_at = float("-inf")

    def run(self, argv: list[str], env: dict[str, str]) -> Capture:
        """The job on the runner idle most recently, or a new one."""
        while self.idle:
            runner = self.idle.pop()
            try:
                return runner.submit(argv, env)
            except OSError:
                self._let_go(runner)
        runner = start(self.plugins)
        self.started_at = time.monotonic()
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

    def grow_at(self, arrived: float) -> float:
        """When a check that came at `arrived` gets a new runner if none is free by then."""
        return max(arrived + HOLD, self.started_at + GROWTH)

    def wait_for_idle(self, arrived: float) -> bool:
        """Whether a check that came at `arrived` waits on for a busy runner to be free."""
        busy = len(self.alive) - len(self.idle)
        return not self.idle and busy > 0 and time.monotonic() < self.grow_at(arrived)

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

    def reaped(self, pid: int) -> Runner | None:
        """The runner of `pid`, gone (release() it once its job's output is read)."""
        runner = self.alive.pop(pid, None)
        if runner is not None:
            self._let_go(runner, reaped=True)
        return runner

    def pids(self) -> list[int]:
        return list(self.alive)
