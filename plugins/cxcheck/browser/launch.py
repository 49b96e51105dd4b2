"""Starting the browser's processes, so that none outlives the run (browser.ending ends them).

chromedriver starts in a new session (its own process group) and Chromium with every helper
process it forks stays in that group; every one of them carries the run's home in its
environment ($CXCHECK_BROWSER), the crash handlers Chromium starts in sessions of their own too.
Chromium's HOME, XDG directories and TMPDIR are in the run's home, on a RAM file system when
there is one: it writes nothing outside it, and downloads are refused besides. The run becomes
a child subreaper, so the helpers orphaned by a kill are reaped here, not left as zombies under
a PID 1 that never waits. If the run itself is SIGKILLed, the kernel kills chromedriver
(PR_SET_PDEATHSIG) and the next run sweeps the orphaned Chromium.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from cxcheck.browser.ending import END_WAIT, MARK, PROFILE_PREFIX, kill_browser, reap, remove, sweep
from cxcheck.runtime import ConfigError, DeadlineExceeded, SourceError, atomic, processes

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
CHROMEDRIVER = ("chromedriver",)
INSTALL = "apt-get install chromium chromium-driver"
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
PR_CAPBSET_DROP, CAP_SYS_NICE = 24, 23
# A Unix socket's path is at most 107 bytes; Chromium's is TMPDIR/org.chromium.Chromium.XXXXXX/
# SingletonSocket (46 more).
SCRATCH_MAX = 107 - 46
SHORT_TMP = "/tmp"
# A RAM file system for the run's home, when $TMPDIR does not say where: removing a profile of
# some 200 files from a busy disk can take longer than the hard timeout leaves (0.4 s measured).
RAM_DIR, RAM_FREE = "/dev/shm", 1 << 30
READY_POLL = 0.02       # seconds between looks at chromedriver's port while it starts


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


def _in_child(run: int):
    """In chromedriver before exec: its own session; killed when the run that started it dies
    (and not started at all if it has died already); the kernel's first choice, with all it
    starts, if the machine runs out of memory."""
    os.setsid()
    libc = _libc()
    if libc is not None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        # Run as root, Chromium raises its own threads to nice -8: above the core and the run
        # itself, which then waits for CPU to end it at the deadline. Without CAP_SYS_NICE in
        # the bounding set, what it execs cannot (fails harmlessly where the run is not root).
        libc.prctl(PR_CAPBSET_DROP, CAP_SYS_NICE)
    if os.getppid() != run:
        os._exit(1)
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
        for tmp in dict.fromkeys((tempfile.gettempdir(), SHORT_TMP, RAM_DIR)):
            sweep(tmp)
        libc = _libc()
        if libc is not None:
            libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
        self.home = tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-", dir=home_base())
        processes.own(self, self.end)
        self.port = free_port()
        # Chromium's own temp dirs (org.chromium.Chromium.*, which a group kill leaves) go in the
        # run's home too: removed with it, never piling up in the system's temp dir. Unless that
        # path is too long for the Unix socket Chromium makes below it (then Chromium exits): then
        # a short one in /tmp, named as a home so that the sweep finds it too.
        env = dict(os.environ, HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, "config"),
                   XDG_CACHE_HOME=os.path.join(self.home, "cache"), **{MARK.decode(): self.home})
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
                preexec_fn=functools.partial(_in_child, os.getpid()), close_fds=True, env=env)
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
        `until`. What is still dying then, or not removed, stays registered: the run finishes it
        once its result is out, within its promise (processes.end_owned), else the next run's
        sweep does. Safe to call twice. Raises nothing but the deadline's alarm, and only once
        the end is done."""
        with atomic():
            if self._end(time.monotonic() + END_WAIT if until is None else until):
                processes.disown(self)

    def _end(self, until: float) -> bool:
        """Kill, remove the home at once (a killed process never runs again, it only has to be
        torn down), then wait for the ends and reap them, with what time is left; whether all
        of it is gone."""
        if not self.home:
            return True
        group = self.process.pid if self.process is not None else None
        for wait in (False, True):
            ended = kill_browser(group, self.home, until, wait)
            reap()
            removed = all([remove(path, until) for path in (self.home, self.scratch)
                           if path and os.path.lexists(path)])
        return ended and removed


def home_base() -> str:
    """Where the run's home goes: $TMPDIR when set, else a RAM file system with room to spare
    (not Docker's 64 MB /dev/shm), else the system's temp dir."""
    if os.environ.get("TMPDIR"):
        return tempfile.gettempdir()
    try:
        with open("/proc/self/mounts") as mounts:
            ram = any(line.split()[1:3] == [RAM_DIR, "tmpfs"] for line in mounts)
        room = os.statvfs(RAM_DIR)
        if ram and room.f_bavail * room.f_frsize >= RAM_FREE and os.access(RAM_DIR, os.W_OK | os.X_OK):
            return RAM_DIR
    except (OSError, IndexError):
        pass
    return tempfile.gettempdir()



