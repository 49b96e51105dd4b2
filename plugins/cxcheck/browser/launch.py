"""Starting and ending the browser's processes, so that none outlives the run.

chromedriver starts in a new session (its own process group) and Chromium with every helper
process it forks stays in that group: one SIGKILL to the group ends them all. Every process of
the run's browser also carries the run's home in its environment ($CXCHECK_BROWSER, inherited
by all it starts): so the crash handlers Chromium starts in sessions of their own, and a
chromedriver whose start the deadline cut off before its pid was known, are found and ended
too, until none is left. Chromium's HOME, XDG directories and TMPDIR are in the run's home: it
writes nothing outside it, and downloads are refused besides. The run becomes a child subreaper,
so the helpers orphaned by that kill are reaped here, not left as zombies under a PID 1 that
never waits. If the run itself is SIGKILLed, the kernel kills chromedriver (PR_SET_PDEATHSIG)
and the next run sweeps the orphaned Chromium: its home names the run that owned it.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from cxcheck.runtime import ConfigError, DeadlineExceeded, SourceError, processes

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
CHROMEDRIVER = ("chromedriver",)
INSTALL = "apt-get install chromium chromium-driver"
PROFILE_PREFIX = "cxcheck-browser-"
PROFILE = re.compile(re.escape(PROFILE_PREFIX) + r"(\d+)-")
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
# A Unix socket's path is at most 107 bytes; Chromium's is TMPDIR/org.chromium.Chromium.XXXXXX/
# SingletonSocket (46 more).
SCRATCH_MAX = 107 - 46
SHORT_TMP = "/tmp"
READY_POLL = 0.02       # seconds between looks at chromedriver's port while it starts
MARK = b"CXCHECK_BROWSER"
END_WAIT = 2.0          # seconds an end without a deadline of its own waits for the browser to be gone
KILL_POLL = 0.005       # seconds between looks for what is left of a killed browser


def find(names, env: str, what: str) -> str:
    """The binary named by $env, else the first of `names` on PATH."""
    chosen = os.environ.get(env)
    if chosen:
        if not (os.path.isfile(chosen) and os.access(chosen, os.X_OK)):
            raise ConfigError(f"${env}={chosen}: not an executable file")
        return chosen
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise ConfigError(f"{what} not found (looked for {', '.join(names)} on PATH and ${env}): {INSTALL}")


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _in_child():
    """In chromedriver before exec: its own session; killed when the run that started it dies;
    the kernel's first choice, with all it starts, if the machine runs out of memory."""
    os.setsid()
    libc = _libc()
    if libc is not None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        with open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")
    except OSError:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Driver:
    """A chromedriver process in its own process group, with a profile directory for Chromium."""

    def __init__(self, deadline):
        self.deadline = deadline
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.home = ""
        self.scratch = ""       # Chromium's TMPDIR when the home's path is too long for it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def profile(self) -> str:
        return os.path.join(self.home, "profile")

    def start(self, chromedriver: str):
        for tmp in dict.fromkeys((tempfile.gettempdir(), SHORT_TMP)):
            sweep(tmp)
        libc = _libc()
        if libc is not None:
            libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
        self.home = tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-")
        processes.own(self, self.end)
        self.port = free_port()
        # Chromium's own temp dirs (org.chromium.Chromium.*, which a group kill leaves) go in the
        # run's home too: removed with it, never piling up in the system's temp dir. Unless that
        # path is too long for the Unix socket Chromium makes below it (then Chromium exits): then
        # a short one in /tmp, named as a home so that the sweep finds it too.
        env = dict(os.environ, HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, "config"),
                   XDG_CACHE_HOME=os.path.join(self.home, "cache"), CXCHECK_BROWSER=self.home)
        scratch = os.path.join(self.home, "t")
        if len(scratch) <= SCRATCH_MAX:
            os.mkdir(scratch, 0o700)
        else:
            scratch = self.scratch = tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-", dir=SHORT_TMP)
        env["TMPDIR"] = scratch
        with open(os.path.join(self.home, "chromedriver.log"), "wb") as log, processes.starting():
            self.process = subprocess.Popen(
                [chromedriver, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_in_child, close_fds=True, env=env)
        self._wait_ready()

    def _wait_ready(self):
        while True:
            if self.process.poll() is not None:
                raise SourceError(f"chromedriver exited with code {self.process.returncode}: {self.last_words()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                pass
            if self.deadline.remaining <= READY_POLL:
                raise DeadlineExceeded()
            time.sleep(READY_POLL)

    def last_words(self) -> str:
        """chromedriver's last log line: why it did not start."""
        try:
            with open(os.path.join(self.home, "chromedriver.log"), "rb") as log:
                lines = log.read()[-4096:].decode("utf-8", "replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1] if lines else "no log"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def members(self) -> list[int]:
        return processes.group_members(self.process.pid) if self.process is not None else []

    def end(self, until: float | None = None):
        """Kill every process of the browser, reap them, remove the home; by the monotonic time
        `until` (what is still dying then, and the home, are left to the next run's sweep).
        Safe to call twice. Raises nothing but the deadline's alarm, and only once the work it
        interrupted is done: registered until then, so the hard timeout's end_all() finds it."""
        until = time.monotonic() + END_WAIT if until is None else until
        try:
            self._end(until)
        except DeadlineExceeded:
            self._end(until)
            raise
        finally:
            processes.disown(self)

    def _end(self, until: float):
        if not self.home:
            return
        if self.process is not None:
            processes.end_group(self.process.pid)
        if kill_marked([self.home], until):
            reap()
            for path in (self.home, self.scratch):
                if path:
                    shutil.rmtree(path, ignore_errors=True)


def kill_marked(homes, until: float) -> bool:
    """SIGKILL the processes carrying one of `homes` (and their groups), again until none is
    alive or `until` comes. Whether none is."""
    own_group = os.getpgrp()
    while True:
        found = processes.marked(MARK, [home.encode() for home in homes])
        for pid, _ in found:
            try:
                group = os.getpgid(pid)
            except OSError:
                continue
            if group != own_group:
                processes.end_group(group)
            _kill(pid)
        if not found:
            return True
        if time.monotonic() >= until:
            return False
        time.sleep(KILL_POLL)


def reap():
    """Collect the exit status of the browser's processes that ended as this (subreaper) run's
    children; none is waited for."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def sweep(tmp: str | None = None):
    """End the browsers of runs that died without cleaning up (SIGKILL, OOM), remove their
    homes. A home whose run is still alive is left alone."""
    tmp = tmp or tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(tmp) if n.startswith(PROFILE_PREFIX)]
    except OSError:
        return
    stale = []
    for name in names:
        match = PROFILE.match(name)
        if match and not _alive(int(match.group(1))):
            stale.append(os.path.join(tmp, name))
    if stale and kill_marked(stale, time.monotonic() + END_WAIT):
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)


def _kill(pid: int):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
