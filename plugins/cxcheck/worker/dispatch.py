"""Jobs from the core to children and back: a bounded number of children at a time, the rest
queued; every job answered once, by its deadline (the job's timeout, counted from its arrival:
the core never times a worker's job out itself), or handed over to the next worker."""

from __future__ import annotations

import collections
import os
import signal
import time

from cxcheck.runtime import STATE_NAMES
from cxcheck.worker import child as children
from cxcheck.worker import runner as runners
from cxcheck.worker.core import ConnectionLost
from cxcheck.worker.protocol import ETIME, CommandError, Job, encode_result, split_command
from cxcheck.worker.registry import plugin_for


class Task:
    """A job, where it came from and how far it got."""

    __slots__ = ("conn", "generation", "job", "plugin", "arrived", "deadline", "child", "answered", "split")

    def __init__(self, conn, job: Job, plugin, deadline: float | None = None):
        self.conn, self.generation, self.job, self.plugin = conn, conn.generation, job, plugin
        self.arrived = time.monotonic()
        self.deadline = self.arrived + job.timeout if deadline is None else deadline
        self.child = None
        self.answered = False           # answered, or handed over: nothing more is sent for it
        self.split = None               # (argv, needs_shell), or the CommandError

    def command(self) -> tuple[list[str], bool]:
        """The job's argv and whether it needs /bin/sh; CommandError if it cannot be split."""
        if self.split is None:
            try:
                self.split = split_command(self.job.command)
            except CommandError as exc:
                self.split = exc
        if isinstance(self.split, CommandError):
            raise self.split
        return self.split


class Dispatcher:
    def __init__(self, plugins: dict, max_children: int, log, watch, unwatch, jobs_per_child: int = 1):
        self.plugins = plugins
        self.max_children = max_children
        self.log = log
        self.watch, self.unwatch = watch, unwatch      # the event loop's fd registration
        self.queue: collections.deque[Task] = collections.deque()
        self.running: dict[int, Task] = {}             # pid -> task (answered or not: reaped later)
        self.held: list[Task] = []                     # read while stopping, for the next worker
        self.holding = False
        self.finished = 0
        self.pool = (runners.Pool(plugins, jobs_per_child, watch, unwatch, self._ran, log.debug)
                     if jobs_per_child > 1 else None)

    @property
    def busy(self) -> bool:
        return bool(self.queue) or any(not t.answered for t in self.running.values())

    def in_flight(self, conn) -> int:
        """Jobs of `conn`'s current connection not answered yet (held ones included)."""
        tasks = [*self.queue, *self.running.values(), *self.held]
        return sum(1 for t in tasks if t.conn is conn and t.generation == conn.generation and not t.answered)

    def submit(self, conn, job: Job, key_plugin: str, deadline: float | None = None):
        task = Task(conn, job, self.plugins.get(key_plugin), deadline)
        if self.holding:
            self.held.append(task)
            return
        self.queue.append(task)
        self.start_queued()

    def start_queued(self):
        while self.queue and len(self.running) < self.max_children and not self._waits(self.queue[0]):
            self._start(self.queue.popleft())

    def _waits(self, task: Task) -> bool:
        """Whether a check for a warm child waits a little longer for one to be free (see runner.Pool)."""
        if self.pool is None:
            return False
        try:
            shell = task.command()[1]
        except CommandError:
            return False
        return not shell and self.pool.wait_for_idle(task.arrived)

    def _start(self, task: Task):
        job = task.job
        label = task.plugin.label if task.plugin else "cxcheck worker"
        try:
            argv, needs_shell = task.command()
        except CommandError as exc:
            return self._unknown(task, f"{label} UNKNOWN - cxcheck worker cannot run this command: {exc}")
        plugin = plugin_for(argv[0], self.plugins)
        if plugin is None:              # the core routes by these names only: not expected
            return self._unknown(task, f"{label} UNKNOWN - cxcheck worker has no plugin named "
                                       f"{os.path.basename(argv[0])!r}")
        task.plugin = plugin
        try:
            if self.pool is not None and not needs_shell:
                task.child = self.pool.run(argv, job.env)
            else:
                task.child = children.spawn(plugin.main, argv, job.env, job.command if needs_shell else None)
        except OSError as exc:
            return self._unknown(task, f"{plugin.label} UNKNOWN - cxcheck worker cannot start a check: "
                                       f"{exc.strerror or exc}")
        if needs_shell:
            self.log.debug(f"job {job.job_id}: shell syntax in the command, run through /bin/sh")
        self.running[task.child.pid] = task
        for fd in list(task.child.fds):
            self.watch(fd, lambda fd=fd, task=task: self._readable(task, fd))

    def _readable(self, task: Task, fd: int):
        if not task.child.read(fd):
            self.unwatch(fd)

    def reaped(self, pid: int, status: int, usage):
        """A child ended (os.wait4 said so): answer its job unless a timeout already did. A
        runner's usage covers all its jobs: the CPU of the one it died in is not known."""
        runner = self.pool.reaped(pid) if self.pool is not None else None
        self._finish(pid, status, None if runner else usage.ru_utime + usage.ru_stime)
        if runner is not None:
            runner.release()

    def _ran(self, pid: int, code: int, cpu: float):
        """A runner finished a job: its exit code, its CPU."""
        self._finish(pid, code << 8, cpu)

    def _finish(self, pid: int, status: int, cpu: float | None):
        task = self.running.pop(pid, None)
        if task is None:
            return
        child = task.child
        for fd in list(child.fds):
            self.unwatch(fd)
        child.drain()
        stop = time.time()
        if task.answered:
            return
        self._answer(task, status, child.start, stop, bytes(child.output[1]), bytes(child.output[2]))
        self._log_job(task, status, stop - child.start, cpu)
        self.start_queued()

    def expire(self):
        """Answer every job past its deadline: a queued one never runs, a running one is killed
        (its process group) and reaped later. Let go of runners idle too long."""
        now = time.monotonic()
        for task in [t for t in self.queue if t.deadline <= now]:
            self.queue.remove(task)
            wall = time.time()
            self._answer(task, 0, wall, wall, b"", b"", error_code=ETIME)
            self.log.info(f"job {task.job.job_id} ({self._name(task)}) timed out after {task.job.timeout} s "
                          f"waiting for a free child (--max-children {self.max_children})")
        for task in [t for t in self.running.values() if not t.answered and t.deadline <= now]:
            self._kill(task)
            child = task.child
            child.drain()
            self._answer(task, signal.SIGKILL, child.start, time.time(), bytes(child.output[1]),
                         bytes(child.output[2]), error_code=ETIME)
            self.log.info(f"job {task.job.job_id} ({self._name(task)}) timed out after {task.job.timeout} s: "
                          "killed")
        if self.pool is not None:
            self.pool.expire()
        self.start_queued()

    def next_deadline(self) -> float | None:
        deadlines = [t.deadline for t in self.queue] + [t.deadline for t in self.running.values() if not t.answered]
        if self.pool is not None and self.pool.next_expiry() is not None:
            deadlines.append(self.pool.next_expiry())
        if self.pool is not None and self.queue and len(self.running) < self.max_children:
            deadlines.append(self.pool.grow_at(self.queue[0].arrived))
        return min(deadlines) if deadlines else None

    def hand_over(self) -> list[Task]:
        """Every job not answered yet, taken from here for the next worker: the held, the queued
        and the running ones (killed: the next worker runs them anew). Nothing is sent for them."""
        tasks = [*self.held, *self.queue, *(t for t in self.running.values() if not t.answered)]
        self.held, self.queue = [], collections.deque()
        for task in tasks:
            task.answered = True
            if task.child is not None:
                self._kill(task)
        return tasks

    def kill_all(self):
        if self.pool is not None:
            self.pool.let_go_idle()
        for pid in [*self.running, *(self.pool.pids() if self.pool else [])]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    @staticmethod
    def _kill(task: Task):
        try:
            os.killpg(task.child.pid, signal.SIGKILL)
        except OSError:
            pass

    def _unknown(self, task: Task, line: str):
        wall = time.time()
        self._answer(task, 3 << 8, wall, wall, (line + "\n").encode("utf-8", "surrogateescape"), b"")
        self.log.info(f"job {task.job.job_id}: {line}")
        return None

    def _answer(self, task: Task, status: int, start: float, stop: float, outstd: bytes, outerr: bytes,
                error_code: int | None = None):
        task.answered = True
        self.finished += 1
        conn = task.conn
        if conn.generation != task.generation or not conn.registered or conn.closing:
            self.log.debug(f"job {task.job.job_id}: the connection it came on is gone, result dropped")
            return
        try:
            conn.send(encode_result(task.job, status, start, stop, outstd, outerr, error_code))
        except ConnectionLost as exc:
            self.log.debug(f"job {task.job.job_id}: result not sent: {exc}")

    def _log_job(self, task: Task, status: int, wall: float, cpu: float | None):
        if not self.log.verbosity:
            return
        if os.WIFEXITED(status):
            code = os.WEXITSTATUS(status)
            how = STATE_NAMES.get(code, f"exit {code}")
        else:
            how = f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"status {status}"
        first = bytes(task.child.output[1]).split(b"\n", 1)[0].decode("utf-8", "replace")[:300]
        cpu_text = f", CPU {cpu * 1000:.1f} ms" if cpu is not None else ""
        self.log.job(f"job {task.job.job_id} {self._name(task)}: {how} in {wall * 1000:.0f} ms{cpu_text}: {first}",
                     core=task.conn)

    @staticmethod
    def _name(task: Task) -> str:
        return task.plugin.name if task.plugin else "?"
